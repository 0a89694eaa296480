"""Operate the pipeline as users do: the Dagster UI in headless Chromium.

A real `dagster dev` (webserver + daemon) runs over a tiny ingested data directory; the
test opens an asset, clicks *Materialize…*, types a partition range, launches the
backfill and waits for the daemon to finish it. It then reads the DuckDB catalog and the
Dagster instance: a UI backfill must store exactly the partitions the user picked, no
more, no fewer, and the UI must show them materialized.

Screenshots go to `tmp_path` (and `COMPASS_TEST_ARTIFACTS` when set);
`COMPASS_UPDATE_DOCS=1` also refreshes `docs/asset_graph.png` and `docs/backfill.png`.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from ui_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HOME_DIR,
    PARTITIONS_START,
    REPO,
    copy_artifact,
    dagster_dev,
    partition_keys_of,
    refresh_keys,
    simulate_raw,
)

pytestmark = pytest.mark.browser

DOCS = REPO / "docs"
UI_TIMEOUT_MS = 30_000


def _ingest_through_dagster(raw: Path, data: Path, home: Path) -> None:
    """Ingest once with `ingest_job` on the server's instance, so the UI knows the raw and
    facts assets are materialized (as after `compass run`) and warns about nothing."""
    from assets_defs.definitions import INGEST_JOB, build_definitions
    from assets_defs.resources import CompassResource
    from compass_pipeline.cli import ensure_instance
    from compass_pipeline.config import Settings

    defs = build_definitions(Settings(partitions_start=date.fromisoformat(PARTITIONS_START)))
    ensure_instance(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = defs.resolve_job_def(INGEST_JOB).execute_in_process(
            instance=instance,
            resources={"compass": CompassResource(raw_dir=str(raw), data_dir=str(data))},
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        )
    assert result.success


def _require_chromium() -> None:
    """Fail, never skip: CI installs Debian's chromium and these tests must run there."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(apt-get install chromium); Playwright's own browsers are not used",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """`dagster dev` over a tiny data directory that holds the facts but no marts yet."""
    _require_chromium()  # before a minute of setup, not after
    root = tmp_path_factory.mktemp("ui")
    raw, data = simulate_raw(root / "raw"), root / "data"
    _ingest_through_dagster(raw, data, root / HOME_DIR)
    with dagster_dev(root, raw, data) as dev:
        # The community sign-up pop-up opens on localhost until it has been seen once.
        dev.graphql("mutation { setNuxSeen }")
        yield dev
    copy_artifact(dev.log_path)


@pytest.fixture(scope="module")
def browser():
    _require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def _screenshot(page: Page, tmp_path: Path, name: str, docs_name: str | None = None) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path))
    copy_artifact(path)
    if docs_name and os.environ.get("COMPASS_UPDATE_DOCS") == "1":
        shutil.copy2(path, DOCS / docs_name)
    return path


def _launch_range_backfill(
    page: Page, ui, tmp_path: Path, asset: str, keys: list[str], first_partition: str
) -> str:
    """Open the asset, *Materialize…*, type a range, *Launch backfill*; the backfill id."""
    page.goto(f"{ui.url}/assets/{asset}")
    page.get_by_role("button", name="Materialize…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(f"Launch runs to materialize {asset}")).to_be_visible()
    expect(dialog.get_by_text("Partition selection")).to_be_visible()
    # The dialog lists the last 90 days only (ARCHITECTURE.md); older ranges need all.
    if date.fromisoformat(first_partition[:10]) < date.today() - timedelta(days=89):
        dialog.get_by_role("button", name="Show all partitions").click()
    # Typing before the full list has loaded gives "Could not find partitions for range".
    expect(dialog.get_by_text(first_partition, exact=True)).to_be_visible()
    selection_input = dialog.get_by_role("textbox")
    selection_input.fill(f"[{keys[0]}...{keys[-1]}]")
    selection_input.press("Enter")
    expect(dialog.get_by_text(f"{len(keys)} partitions", exact=True)).to_be_visible()
    expect(dialog.get_by_text("Backfills all partitions in a single run.")).to_be_visible()
    _screenshot(page, tmp_path, f"materialize_dialog_{asset}.png")
    dialog.get_by_role("button", name="Launch backfill").click()
    expect(page.get_by_text(re.compile(r"Created backfill \w+"))).to_be_visible()
    href = page.get_by_role("link", name="View", exact=True).get_attribute("href")
    match = re.fullmatch(r"/runs/b/(\w+)", href or "")
    assert match, f"no backfill link in the toast: {href!r}"
    return match.group(1)


def _check_backfill(
    page: Page, ui, tmp_path: Path, backfill_id: str, asset: str, keys: list[str], docs_name
) -> None:
    """The daemon finished it, the UI says so, the catalog and the instance agree."""
    (state,) = ui.wait_for_backfills([backfill_id], timeout=300)
    assert state["status"] == "COMPLETED_SUCCESS", (state, ui.log_tail())
    assert state["partitionNames"] == keys
    # Single-run backfill policy: the whole range is one run.
    assert [run["status"] for run in state["runs"]] == ["SUCCESS"]

    page.goto(f"{ui.url}/runs/b/{backfill_id}")
    expect(page.get_by_text(f"{keys[0]}...{keys[-1]}")).to_be_visible()
    expect(page.get_by_text("100% completed")).to_be_visible()
    _screenshot(page, tmp_path, f"backfill_{asset}.png", docs_name)

    assert partition_keys_of(ui.data_dir, asset) == keys
    with ui.instance() as instance:
        assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(keys)


def test_a_range_of_live_list_refreshes_backfilled_from_the_ui_stores_exactly_those(
    ui, page, tmp_path
):
    keys = refresh_keys(2, 3)
    assert len(keys) == 6
    backfill_id = _launch_range_backfill(
        page, ui, tmp_path, "live_list_snapshot", keys, "2026-03-01T04:00"
    )
    _check_backfill(page, ui, tmp_path, backfill_id, "live_list_snapshot", keys, "backfill.png")


def test_a_range_of_stat_dates_backfilled_from_the_ui_stores_exactly_those(ui, page, tmp_path):
    keys = ["2026-03-02", "2026-03-03"]
    backfill_id = _launch_range_backfill(page, ui, tmp_path, "core_data_daily", keys, "2026-03-01")
    _check_backfill(page, ui, tmp_path, backfill_id, "core_data_daily", keys, None)


def test_the_asset_graph_shows_every_group(ui, page, tmp_path):
    page.goto(f"{ui.url}/asset-groups")
    for group in ("raw", "facts", "daily", "live_list", "live_dashboard", "reconciliation"):
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    expect(page.get_by_text("fetching statuses")).to_have_count(0)
    _screenshot(page, tmp_path, "asset_graph.png", "asset_graph.png")
