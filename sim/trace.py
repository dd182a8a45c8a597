"""The event log (``--trace``): one row per event of each visitor's journey.

Columns follow the vidigi convention (``entity_id, event_type, event, time``) plus ``site`` and
``replication``, so the log can drive replay animations. It is rebuilt from the visit records
after the run, so tracing costs the simulation nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model import ReplicationRecord
from sim.service import BALKED, OUTCOME_NAMES, RENEGED, SERVED_OUTCOMES, TURNED_AWAY

COLUMNS = ["entity_id", "event_type", "event", "time", "site", "replication"]


def event_log(rec: ReplicationRecord) -> pd.DataFrame:
    frames, offset = [], 0
    for s in rec.sites:
        v = s.visits
        n = len(v)
        ids = np.arange(offset, offset + n)
        offset += n
        arrive = v.arrive_min
        start = np.asarray(v.start_min)
        end = np.asarray(v.end_min)
        left = np.asarray(v.left_queue_min)
        outcome = np.asarray(v.outcome)
        served = np.isin(outcome, SERVED_OUTCOMES)
        queued = (outcome != BALKED) & ~(served & (start <= arrive))
        done = ~np.isnan(end)
        parts = [
            (ids, "arrival_departure", "arrival", arrive),
            (ids[outcome == BALKED], "arrival_departure", "balk", arrive[outcome == BALKED]),
            (ids[queued], "queue", "queue", arrive[queued]),
            (ids[outcome == RENEGED], "arrival_departure", "renege", left[outcome == RENEGED]),
            (
                ids[outcome == TURNED_AWAY],
                "arrival_departure",
                "turned_away",
                left[outcome == TURNED_AWAY],
            ),
            (ids[served], "resource_use", "service_start", start[served]),
            (ids[done], "resource_use_end", "service_end", end[done]),
        ]
        stockout = np.asarray(v.stockout, dtype=bool) & done
        parts.append((ids[stockout], "outcome", "stockout", end[stockout]))
        for code in np.unique(outcome[done]):
            m = done & (outcome == code)
            parts.append((ids[m], "outcome", OUTCOME_NAMES[code], end[m]))
        for pid, etype, event, time in parts:
            frames.append(
                pd.DataFrame(
                    {
                        "entity_id": pid,
                        "event_type": etype,
                        "event": event,
                        "time": time,
                        "site": s.name,
                        "replication": rec.replication,
                    }
                )
            )
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    log = pd.concat(frames, ignore_index=True)
    return log.sort_values(["time", "entity_id"], kind="stable", ignore_index=True)[COLUMNS]
