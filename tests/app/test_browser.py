"""The page served by `techbar app` and used in a real browser (headless Chromium through
Playwright, pointed at the system's Chromium): it loads, runs a what-if, shows results, and
answers a bad upload with a message naming the column."""

import os
import shutil

import pytest

from tests.app.server import start, stop

playwright = pytest.importorskip("playwright.sync_api")

RUN_TIMEOUT_MS = 600_000  # two runs of 2 replications; seconds when idle


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("CI"):
        pytest.fail("chromium is needed in CI (.ci/run installs it)")
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc, url = start(tmp_path_factory.mktemp("cache"), tmp_path_factory.mktemp("log") / "app.log")
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture
def page(server):
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("no chromium on this machine")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.set_default_timeout(RUN_TIMEOUT_MS)
        pg.goto(server)
        pg.get_by_role("heading", name="What-if").wait_for()
        yield pg
        browser.close()


def _set_number(pg, label: str, value: int) -> None:
    box = pg.get_by_role("spinbutton", name=label).first
    box.fill(str(value))
    box.press("Enter")


def test_a_what_if_runs_in_the_browser_and_shows_results(page, tmp_path):
    pg = page
    _set_number(pg, "Replications", 2)
    pg.get_by_text("Fresh Wharf — East Area (EA)").click()
    _set_number(pg, "Mon: engineers", 5)
    pg.get_by_text("sites.0.engineers").wait_for()  # the change is listed before running
    pg.get_by_role("button", name="Run").click()
    pg.get_by_role("heading", name="Results").wait_for()
    # the page draws the results piece by piece after their heading: wait for each, not a moment
    body = pg.locator("body")
    playwright.expect(body).to_contain_text("95 % CI", timeout=RUN_TIMEOUT_MS)
    # a fifth engineer on Mondays shortens Fresh Wharf's wait
    playwright.expect(body).to_contain_text("better", timeout=RUN_TIMEOUT_MS)
    assert "Fresh Wharf" in pg.inner_text("body")
    assert "Traceback" not in pg.inner_text("body")
    pg.screenshot(path=str(tmp_path / "whatif.png"))


def test_a_bad_upload_is_answered_with_the_column(page, tmp_path):
    pg = page
    pg.get_by_text("Scenario table", exact=True).click()
    pg.get_by_role("heading", name="Scenario table").wait_for()
    bad = tmp_path / "scenarios.csv"
    bad.write_text("name,sites.0.enginers\nmore,4\n", encoding="utf-8")
    pg.locator("input[type=file]").set_input_files(str(bad))
    pg.get_by_text("cannot be used").wait_for()
    body = pg.inner_text("body")
    assert "column 'sites.0.enginers'" in body
    assert "Traceback" not in body
