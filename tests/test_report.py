"""The seller's report: one self-contained HTML file with every check, its FAQ question in
Chinese and its numbers to the cent, that renders in headless Chromium with no console error.

The data directory is a small simulated marketplace run through the library's steps (what
`compass run` does through Dagster), with LIVE-list refreshes up to the first LIVEs' window
close, so the LIVE chart shows both modules' finals.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from recon_scenarios import build_data_dir

from compass_pipeline import catalog
from compass_pipeline.reconcile import CHECKS
from compass_pipeline.report import fmt_value, write_report
from compass_pipeline.simulate import simulate
from compass_pipeline.storage import DataDir

START = date(2026, 3, 1)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    simulate(root / "raw", start=START, days=2, seed=5, scale=60)
    build_data_dir(
        root / "raw",
        root / "data",
        START,
        START + timedelta(days=1),
        list_until=START + timedelta(days=32),
    )
    return root / "data"


@pytest.fixture(scope="module")
def report(data_dir, tmp_path_factory) -> str:
    path = write_report(data_dir, tmp_path_factory.mktemp("out") / "report.html")
    return path.read_text(encoding="utf-8")


def catalog_rows(data_dir: Path, sql: str, params: dict | None = None) -> list[tuple]:
    con = duckdb.connect(str(DataDir(data_dir).catalog_path), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def test_money_is_formatted_exactly_from_decimals():
    assert fmt_value(Decimal("1234567.05"), "money") == "1,234,567.05"
    assert fmt_value(Decimal("-0.10"), "money") == "\u22120.10"
    assert fmt_value(Decimal("12.00"), "count") == "12"
    assert fmt_value(Decimal("9007199254740993.01"), "money") == "9,007,199,254,740,993.01"


def test_the_report_is_one_self_contained_file(report):
    """Opens offline: no script, no external URL; every image is an embedded SVG."""
    assert "<script" not in report.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", report)
    images = re.findall(r'<img [^>]*src="([^"]+)"', report)
    assert len(images) == len(CHECKS) + 2  # a waterfall per check, the channels, one LIVE
    assert all(src.startswith("data:image/svg+xml;base64,") for src in images)


def test_every_check_is_explained_with_its_faq_question_in_chinese(report):
    for check in CHECKS:
        assert f'id="{check.id}"' in report
        assert html.escape(check.faq_question) in report, check.id
        assert html.escape(check.explanation) in report, check.id
    assert "Every row balances" in report
    assert "do not add up" not in report


def test_the_numbers_are_the_stored_values_to_the_cent(report, data_dir):
    """Each R01 row's A and B, and each day's core GMV, printed exactly as stored."""
    rows = catalog_rows(
        data_dir,
        "select a_value, b_value from reconciliation_daily where check_id = 'R01_gmv_vs_settled'",
    )
    assert rows
    for a_value, b_value in rows:
        assert f'<td class="num">{fmt_value(a_value, "money")}</td>' in report
        assert f'<td class="num">{fmt_value(b_value, "money")}</td>' in report
    for (gmv,) in catalog_rows(data_dir, "select gmv from core_data_daily"):
        assert f'<td class="num">{fmt_value(gmv, "money")}</td>' in report


def test_the_live_chart_picks_a_live_with_carts_paid_later(report, data_dir):
    picked = re.search(r"Picked automatically: LIVE <b>([^<]+)</b> of shop <b>([^<]+)</b>", report)
    assert picked
    live_id, shop_id = picked.groups()
    [(after_live, is_final)] = catalog_rows(
        data_dir,
        "select max(gmv_after_live), bool_or(is_final) from live_list_snapshot "
        "where live_id = $live and shop_id = $shop",
        {"live": live_id, "shop": shop_id},
    )
    assert after_live > 0 and is_final
    assert "gap between the finals" in report


def test_one_shop_and_a_date_range(data_dir, tmp_path):
    shops = [shop for (shop,) in catalog_rows(data_dir, "select shop_id from raw_shops")]
    shop, others = shops[0], shops[1:]
    text = write_report(data_dir, tmp_path / "one.html", shop=shop, start=START, end=START)
    page = text.read_text(encoding="utf-8")
    assert f"<td>{shop}</td>" in page
    assert all(f"<td>{other}</td>" not in page for other in others)
    assert f"<td>{START + timedelta(days=1)}</td>" not in page
    assert f"<td>{START}</td>" in page


def test_an_unknown_shop_or_a_reversed_range_is_refused(data_dir, tmp_path):
    with pytest.raises(ValueError, match="unknown shop"):
        write_report(data_dir, tmp_path / "x.html", shop="no_such_shop")
    with pytest.raises(ValueError, match="before"):
        write_report(data_dir, tmp_path / "x.html", start=START, end=START - timedelta(days=1))
    assert not (tmp_path / "x.html").exists()


def test_an_empty_catalog_still_renders(tmp_path):
    """Before anything is materialized every view exists, empty: the report says so."""
    store = DataDir(tmp_path / "empty")
    store.refresh_catalog(catalog.catalog_entries())
    page = write_report(store.root, tmp_path / "empty.html").read_text(encoding="utf-8")
    assert page.count("No rows in the selection") == len(CHECKS)
    assert "No LIVE in the selection" in page


@pytest.mark.browser
def test_the_report_renders_in_headless_chromium(data_dir, tmp_path):
    """Every image decodes, nothing is fetched from the network, no console error; the
    screenshot is kept (and copied to $COMPASS_TEST_ARTIFACTS when set)."""
    from playwright import sync_api

    assert CHROMIUM.exists(), "Debian's chromium is required: apt-get install chromium"
    path = write_report(data_dir, tmp_path / "report.html")
    shot = tmp_path / "report.png"
    errors: list[str] = []
    remote: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            def offline(route):
                if route.request.url.startswith(("file:", "data:")):
                    route.continue_()
                else:
                    remote.append(route.request.url)
                    route.abort()

            page.route("**/*", offline)
            page.goto(path.as_uri(), wait_until="load")
            decoded = page.evaluate(
                "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
            )
            title = page.title()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert errors == [] and remote == []
    assert decoded and all(decoded)
    assert title.startswith("Data Compass")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    artifacts = os.environ.get("COMPASS_TEST_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / "report.png")
        shutil.copy(path, Path(artifacts) / "report.html")
