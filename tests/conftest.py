from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "experiments" / "validation" / "mmc.toml"


@pytest.fixture
def mmc_path() -> Path:
    return MMC
