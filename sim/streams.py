"""Named random streams: one numpy Generator per (experiment seed, replication, stream name).

Streams are keyed by name, not by creation order, so adding a random process never shifts the
numbers another process sees, and a replication's numbers never depend on which worker ran it.
Scenarios compared at the same seed therefore see the same incidents (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable 32-bit number for a stream name."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "little")


class Streams:
    def __init__(self, seed: int, replication: int):
        self.seed = int(seed)
        self.replication = int(replication)

    def __call__(self, name: str) -> np.random.Generator:
        seq = np.random.SeedSequence(self.seed, spawn_key=(self.replication, stream_key(name)))
        return np.random.Generator(np.random.PCG64(seq))
