from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "experiments" / "validation" / "mmc.toml"


@pytest.fixture
def mmc_path() -> Path:
    return MMC


@pytest.fixture(autouse=True)
def _work_in_a_temporary_folder(tmp_path, monkeypatch):
    """Commands write under ./results by default, and the results store under the per-user
    cache: keep both out of the checkout and the user's cache."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TECHBAR_CACHE_DIR", str(tmp_path / "cache"))
