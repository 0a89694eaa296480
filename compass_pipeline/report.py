"""The seller's report: every FAQ discrepancy of the compass explained to the cent, in one
self-contained HTML file that opens offline.

``write_report`` reads the catalog (``compass.duckdb``) read-only and writes:

* per check R01–R13 (``reconcile.CHECKS``): what A and B are in plain English, the FAQ
  question it answers in Chinese, per-shop totals, a waterfall A → components → B of the
  row with the largest gap, and the rows (A, B, every component, residual);
* one LIVE's GMV across refreshes, picked automatically (carts paid after the LIVE, final
  refreshes of both modules if the data reaches them): the LIVE list's three refreshes a day
  against the dashboard's one, the freeze at window close and the gap between the two
  finals (R05, FAQ 直播模块 Q1, Q10);
* the daily GMV split by channel (LIVE, video, product card; FAQ 数据概览 Q1).

Charts are drawn with matplotlib and embedded as SVG data URIs: no script, no external URL.
Money is printed from the stored ``Decimal`` values, exactly; floats only place pixels.
Shops may have different currencies, so amounts are only ever added within one shop.
"""

from __future__ import annotations

import base64
import html
import io
import os
import textwrap
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from compass_pipeline.reconcile import (
    CHECKS,
    CHECKS_BY_ID,
    COUNT_UNIT,
    DAILY_ASSET,
    LIVE_ASSET,
    Check,
)
from compass_pipeline.storage import DataDir

TOP_ROWS = 10
MAX_LISTED_ROWS = 300
ZERO = Decimal("0.00")
CHANNELS = (
    ("gmv_live", "LIVE", "#1f5fa8"),
    ("gmv_video", "Video", "#d9822b"),
    ("gmv_product_card", "Product card", "#5b8c3a"),
)
A_COLOR, B_COLOR = "#1f3f6e", "#2a7f7a"
TAKEN_COLOR, ADDED_COLOR, RESIDUAL_COLOR = "#d9822b", "#5b8c3a", "#c0392b"
MINUS = "\u2212"


@dataclass(frozen=True)
class Selection:
    """What the report covers: one shop or all, and stat dates (or LIVE start dates)."""

    shop: str | None = None
    start: date | None = None
    end: date | None = None

    def params(self) -> dict[str, object]:
        return {"shop": self.shop, "start": self.start, "end": self.end}

    def describe(self) -> str:
        shops = f"shop {self.shop}" if self.shop else "every shop"
        if self.start and self.end:
            return f"{shops}, {self.start.isoformat()} to {self.end.isoformat()}"
        if self.start:
            return f"{shops}, from {self.start.isoformat()}"
        if self.end:
            return f"{shops}, until {self.end.isoformat()}"
        return f"{shops}, every date"


def write_report(
    data_dir: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    shop: str | None = None,
    start: date | str | None = None,
    end: date | str | None = None,
) -> Path:
    """Write the HTML report of the data directory's catalog to ``out_path`` (atomically).

    ``shop`` keeps one shop; ``start``/``end`` keep stat dates (and LIVEs by their start date
    in the shop's time zone) within the inclusive range. Returns the written path. Raises
    ``FileNotFoundError`` without a catalog and ``ValueError`` for an unknown shop or a range
    that ends before it starts.
    """
    store = DataDir(data_dir)
    if not store.catalog_path.exists():
        raise FileNotFoundError(f"{store.catalog_path} does not exist: run the pipeline first")
    selection = Selection(shop, _as_date(start), _as_date(end))
    if selection.start and selection.end and selection.end < selection.start:
        raise ValueError(f"end {selection.end} is before start {selection.start}")
    con = duckdb.connect(str(store.catalog_path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        report = _Report(con, selection)
        if shop is not None and report.currencies and shop not in report.currencies:
            raise ValueError(f"unknown shop {shop!r}; the shops are {sorted(report.currencies)}")
        page = report.render()
    finally:
        con.close()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


# Formatting: exact decimals at the edge ----------------------------------------------------
def fmt_value(value: Decimal | None, unit: str) -> str:
    """A stored value as shown: money to the cent, counts whole; a true minus sign."""
    if value is None:
        return ""
    text = f"{value:,.0f}" if unit == COUNT_UNIT else f"{value:,.2f}"
    return text.replace("-", MINUS)


def fmt_signed(value: Decimal, unit: str) -> str:
    return ("+" if value > 0 else "") + fmt_value(value, unit)


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _instant_text(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _words(name: str) -> str:
    return name.replace("_", " ")


# Charts ---------------------------------------------------------------------------------
def _figure(width: float, height: float, **margins: float):
    """A figure with fixed margins (a layout engine would cost a second draw per chart)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(**{"left": 0.08, "right": 0.98, "top": 0.9, "bottom": 0.12, **margins})
    return figure


def _svg_uri(figure) -> str:
    import matplotlib

    buffer = io.BytesIO()
    # a fixed salt and no date: the same data gives the same file
    with matplotlib.rc_context({"svg.hashsalt": "compass-report", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def waterfall_uri(check: Check, row: dict, title: str, currency: str) -> str:
    """A → each component taken away → B; a residual, if any, shows as a red step."""
    unit = check.unit
    components = [(c["name"], c["value"]) for c in row["components"]]
    steps = [(-value, name) for name, value in components]
    if row["residual"] != 0:
        steps.append((-row["residual"], "residual"))
    figure = _figure(8.6, 3.8, bottom=0.23, top=0.86)
    ax = figure.add_subplot()
    labels = ["A"]
    ax.bar(0, float(row["a_value"]), color=A_COLOR, width=0.6)
    _bar_text(ax, 0, row["a_value"], fmt_value(row["a_value"], unit))
    level = row["a_value"]
    for position, (change, name) in enumerate(steps, start=1):
        new_level = level + change
        color = (
            RESIDUAL_COLOR if name == "residual" else (ADDED_COLOR if change > 0 else TAKEN_COLOR)
        )
        ax.bar(
            position,
            float(abs(change)) if change else 0.0,
            bottom=float(min(level, new_level)),
            color=color,
            width=0.6,
        )
        _connector(ax, position, level)
        _bar_text(ax, position, max(level, new_level), fmt_signed(change, unit))
        labels.append(textwrap.fill(_words(name), 16))
        level = new_level
    last = len(steps) + 1
    _connector(ax, last, level)
    ax.bar(last, float(row["b_value"]), color=B_COLOR, width=0.6)
    _bar_text(ax, last, row["b_value"], fmt_value(row["b_value"], unit))
    labels.append("B")
    ax.axhline(0, color="#444444", linewidth=0.8)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylabel(currency if unit != COUNT_UNIT else "count")
    ax.set_title(title, fontsize=10, loc="left")
    ax.margins(y=0.22)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg_uri(figure)


def _connector(ax, position: int, level: Decimal) -> None:
    """The thin line from the previous bar's edge to this one, at the running level."""
    ax.plot([position - 0.7, position - 0.3], [float(level)] * 2, color="#888888", linewidth=0.8)


def _bar_text(ax, x: float, top: Decimal, text: str) -> None:
    y = max(float(top), 0.0)
    ax.annotate(
        text,
        (x, y),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=8,
    )


def live_chart_uri(live: dict, currency: str) -> str:
    """One LIVE's GMV at every refresh of the LIVE list and of the dashboard: its whole life,
    and the last day zoomed in, where the list refreshes three more times after the
    dashboard's last refresh and then freezes (FAQ 直播模块 Q10)."""
    import matplotlib.dates as mdates

    figure = _figure(10.4, 4.4, left=0.07, right=0.985, top=0.86, bottom=0.13, wspace=0.18)
    whole, last_day = figure.subplots(1, 2, width_ratios=[2.6, 1.4])
    zoom = (
        live["dashboard_close"] - timedelta(hours=14),
        live["window_close"] + timedelta(hours=10),
    )
    right = live["window_close"] + timedelta(days=2)
    for ax, (left_edge, right_edge) in (
        (whole, (live["started_at"] - timedelta(days=1), right)),
        (last_day, zoom),
    ):
        _live_lines(ax, live, right_edge)
        ax.set_xlim(left_edge, right_edge)
        ax.set_ylim(bottom=0)
        ax.spines[["top", "right"]].set_visible(False)
    whole.axvspan(
        live["started_at"], live["ended_at"], color="#999999", alpha=0.3, label="on the air"
    )
    whole.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    whole.set_ylabel(currency)
    whole.set_title(
        f"LIVE {live['live_id']}, shop {live['shop_id']}: GMV at each refresh",
        fontsize=10,
        loc="left",
    )
    whole.legend(fontsize=7, loc="lower right")
    last_day.xaxis.set_major_locator(mdates.HourLocator(byhour=[0, 12]))
    last_day.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M"))
    last_day.tick_params(axis="x", labelsize=7)
    last_day.set_title("the last day, zoomed in", fontsize=10, loc="left")
    for instant, text in (
        (live["dashboard_close"], "dashboard freezes"),
        (live["window_close"], "list freezes (window close)"),
    ):
        last_day.axvline(instant, color="#555555", linestyle="--", linewidth=0.9)
        last_day.annotate(
            text,
            (instant, 0.02),
            xycoords=("data", "axes fraction"),
            rotation=90,
            ha="right",
            va="bottom",
            fontsize=7,
            xytext=(-2, 0),
            textcoords="offset points",
        )
    list_final, dash_final = live["list_final"], live["dashboard_final"]
    if list_final is not None and dash_final is not None:
        gap = list_final["gmv"] - dash_final["gmv"]
        x = live["window_close"] + timedelta(hours=4)
        last_day.annotate(
            "",
            xy=(x, float(list_final["gmv"])),
            xytext=(x, float(dash_final["gmv"])),
            arrowprops={"arrowstyle": "<->", "color": RESIDUAL_COLOR},
        )
        middle = (float(list_final["gmv"]) + float(dash_final["gmv"])) / 2
        last_day.annotate(
            f"gap between\nthe finals\n{fmt_signed(gap, 'money')}",
            (x, middle),
            xytext=(-4, 0),
            textcoords="offset points",
            fontsize=7,
            color=RESIDUAL_COLOR,
            ha="right",
            va="center",
        )
    return _svg_uri(figure)


def _live_lines(ax, live: dict, right_edge: datetime) -> None:
    """The list's and the dashboard's GMV as steps (a value holds until the next refresh),
    each carried on, dotted, after its final refresh: frozen."""
    for points, final, color, label in (
        (live["list"], live["list_final"], A_COLOR, "LIVE list: local buyers, 3 refreshes a day"),
        (
            live["dashboard"],
            live["dashboard_final"],
            TAKEN_COLOR,
            "LIVE dashboard: every country, 00:00 UTC daily",
        ),
    ):
        if not points:
            continue
        ax.step(
            [p["snapshot_at"] for p in points],
            [float(p["gmv"]) for p in points],
            where="post",
            color=color,
            linewidth=1.6,
            marker="o",
            markersize=2.5,
            label=label,
        )
        if final is not None:
            ax.hlines(
                float(final["gmv"]),
                final["snapshot_at"],
                right_edge,
                colors=color,
                linestyles="dotted",
                linewidth=1.4,
            )
    if live["dashboard"]:
        ax.step(
            [p["snapshot_at"] for p in live["dashboard"]],
            [float(p["gmv_local"]) for p in live["dashboard"]],
            where="post",
            color=TAKEN_COLOR,
            linewidth=0.9,
            linestyle=":",
            label="LIVE dashboard, local buyers only",
        )


def channel_chart_uri(by_shop: dict[str, list[dict]], currencies: dict[str, str]) -> str:
    """Stacked daily GMV by channel, one panel per shop (currencies never mixed)."""
    shops = sorted(by_shop)
    days = sorted({row["stat_date"] for rows in by_shop.values() for row in rows})
    position = {day: index for index, day in enumerate(days)}
    height = 1.0 + 1.9 * len(shops)
    figure = _figure(10.4, height, top=1 - 0.45 / height, bottom=0.45 / height, hspace=0.2)
    axes = figure.subplots(len(shops), 1, sharex=True, squeeze=False)[:, 0]
    for ax, shop_id in zip(axes, shops, strict=True):
        rows = by_shop[shop_id]
        x = [position[row["stat_date"]] for row in rows]
        bottom = [0.0] * len(rows)
        for column, label, color in CHANNELS:
            heights = [float(row[column]) for row in rows]
            ax.bar(x, heights, bottom=bottom, color=color, label=label, width=0.75)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_ylabel(f"{shop_id}\n{currencies.get(shop_id, '')}", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    step = max(1, len(days) // 15)
    ticks = list(range(0, len(days), step))
    axes[-1].set_xticks(ticks, [days[i].strftime("%m-%d") for i in ticks], fontsize=8)
    axes[0].legend(fontsize=7, ncols=3, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes[0].set_title("GMV per stat date by channel", fontsize=10, loc="left")
    return _svg_uri(figure)


# The report -----------------------------------------------------------------------------
class _Report:
    def __init__(self, con: duckdb.DuckDBPyConnection, selection: Selection):
        self.con = con
        self.selection = selection
        self.currencies = dict(self._rows("select shop_id, currency from raw_shops", tuples=True))

    # queries ----------------------------------------------------------------------
    def _rows(self, sql: str, params: dict | None = None, *, tuples: bool = False):
        try:
            cursor = self.con.execute(sql, params or {})
        except duckdb.CatalogException:
            return []
        rows = cursor.fetchall()
        if tuples:
            return rows
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def daily_rows(self) -> list[dict]:
        return self._rows(
            f"""
            select * from {DAILY_ASSET}
            where (cast($shop as varchar) is null or shop_id = $shop)
                and (cast($start as date) is null or stat_date >= $start)
                and (cast($end as date) is null or stat_date <= $end)
            order by check_id, shop_id, stat_date
            """,
            self.selection.params(),
        )

    def live_rows(self) -> list[dict]:
        return self._rows(
            f"""
            select recon.*, starts.start_date
            from {LIVE_ASSET} as recon
            inner join live_shop_facts as starts
                on recon.shop_id = starts.shop_id and recon.live_id = starts.live_id
            where (cast($shop as varchar) is null or recon.shop_id = $shop)
                and (cast($start as date) is null or starts.start_date >= $start)
                and (cast($end as date) is null or starts.start_date <= $end)
            order by recon.check_id, recon.shop_id, recon.snapshot_at, recon.live_id,
                recon.bucket_start
            """,
            self.selection.params(),
        )

    def watermark(self) -> datetime | None:
        rows = self._rows("select max(data_watermark) from _partitions", tuples=True)
        return rows[0][0] if rows else None

    # page -------------------------------------------------------------------------
    def render(self) -> str:
        rows_by_check: dict[str, list[dict]] = defaultdict(list)
        for row in self.daily_rows() + self.live_rows():
            rows_by_check[row["check_id"]].append(row)
        sections = [
            self.channel_section(),
            self.live_section(),
            *(self.check_section(check, rows_by_check.get(check.check_id, [])) for check in CHECKS),
        ]
        summary = self.summary(rows_by_check)
        watermark = self.watermark()
        return PAGE.format(
            title="Data Compass: why two numbers differ, reconciled to the cent",
            scope=_esc(self.selection.describe()),
            watermark=_esc(_instant_text(watermark) or "unknown"),
            generated=_esc(datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
            summary=summary,
            toc="".join(f'<li><a href="#{c.id}">{c.id} · {_esc(c.name)}</a></li>' for c in CHECKS),
            sections="\n".join(sections),
            style=STYLE,
        )

    def summary(self, rows_by_check: dict[str, list[dict]]) -> str:
        lines = []
        failing_total = 0
        for check in CHECKS:
            rows = rows_by_check.get(check.check_id, [])
            failing = sum(1 for row in rows if row["residual"] != 0)
            failing_total += failing
            if not rows:
                status = '<span class="muted">no rows in the selection</span>'
            elif failing:
                status = f'<span class="bad">✗ {failing} row(s) do not add up</span>'
            elif check.informational:
                status = '<span class="info">ℹ balanced, informational</span>'
            else:
                status = '<span class="ok">✓ balanced to the cent</span>'
            lines.append(
                f'<tr><td><a href="#{check.id}">{check.id}</a></td>'
                f"<td>{_esc(check.a_label)} <b>vs</b> {_esc(check.b_label)}</td>"
                f'<td lang="zh">{_esc(check.faq_ref)}</td>'
                f'<td class="num">{len(rows):,}</td><td>{status}</td></tr>'
            )
        verdict = (
            '<p class="ok big">Every row balances: A − B equals the sum of its named '
            "components exactly (residual 0).</p>"
            if failing_total == 0
            else f'<p class="bad big">{failing_total} row(s) do not add up: see the red '
            "residuals below. That is a bug or bad data, not a compass rule.</p>"
        )
        return (
            verdict + "<table><thead><tr><th>check</th><th>what is compared</th><th>FAQ</th>"
            "<th>rows</th><th>status</th></tr></thead><tbody>" + "".join(lines) + "</tbody></table>"
        )

    # sections ---------------------------------------------------------------------
    def check_section(self, check: Check, rows: list[dict]) -> str:
        head = (
            f'<section id="{check.id}"><h2>{check.id} · {_esc(_words(check.name))}'
            + (' <span class="tag">informational</span>' if check.informational else "")
            + "</h2>"
            f'<p class="faq"><span class="ref" lang="zh">FAQ {_esc(check.faq_ref)}</span> '
            f'<q lang="zh">{_esc(check.faq_question)}</q></p>'
            f"<p>{_esc(check.explanation)}</p>"
            f'<dl class="sides"><dt>A</dt><dd>{_esc(check.a_label)}</dd>'
            f"<dt>B</dt><dd>{_esc(check.b_label)}</dd></dl>"
        )
        names = self._component_names(check, rows)
        legend = "".join(
            f"<li><code>{_esc(name)}</code>: {_esc(check.component_label(name))}</li>"
            for name in names
        )
        head += f"<p>A − B = the sum of these components, exactly:</p><ul>{legend}</ul>"
        if not rows:
            return head + '<p class="muted">No rows in the selection.</p></section>'
        example = max(rows, key=lambda row: (row["residual"] != 0, abs(row["difference"])))
        currency = self.currencies.get(example["shop_id"], "")
        chart = waterfall_uri(
            check,
            example,
            f"{check.id}, largest gap: {self._row_label(example)}",
            currency,
        )
        top = sorted(rows, key=lambda row: abs(row["difference"]), reverse=True)[:TOP_ROWS]
        listed = rows[:MAX_LISTED_ROWS]
        more = (
            f" (the first {MAX_LISTED_ROWS:,} of {len(rows):,})"
            if len(rows) > MAX_LISTED_ROWS
            else ""
        )
        return (
            head
            + "<h3>Per shop, over the selection</h3>"
            + self._shop_totals(check, rows, names)
            + "<h3>Worked example: the row with the largest gap</h3>"
            + f'<figure><img alt="waterfall of {check.id}: A, then each component taken '
            f'away, lands on B" src="{chart}"><figcaption>Start from A and take away each '
            "component of A − B: you land exactly on B.</figcaption></figure>"
            + f"<h3>The {len(top)} largest gaps</h3>"
            + self._rows_table(check, top, names)
            + f"<details><summary>Every row{more}</summary>"
            + self._rows_table(check, listed, names)
            + "</details></section>"
        )

    def _component_names(self, check: Check, rows: list[dict]) -> list[str]:
        names = [name for name, _ in check.components]
        for row in rows:
            for component in row["components"]:
                if component["name"] not in names:
                    names.append(component["name"])
        return names

    def _row_label(self, row: dict) -> str:
        if "stat_date" in row:
            return f"shop {row['shop_id']}, {row['stat_date'].isoformat()}"
        label = f"shop {row['shop_id']}, LIVE {row['live_id']}"
        if row.get("bucket_start") is not None:
            return f"{label}, bucket {_instant_text(row['bucket_start'])}"
        return f"{label}, refresh {_instant_text(row['snapshot_at'])}"

    def _shop_totals(self, check: Check, rows: list[dict], names: list[str]) -> str:
        unit = check.unit
        totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        counts: dict[str, int] = defaultdict(int)
        for row in rows:
            shop = totals[row["shop_id"]]
            counts[row["shop_id"]] += 1
            for column in ("a_value", "b_value", "difference", "residual"):
                shop[column] += row[column]
            for component in row["components"]:
                shop[component["name"]] += component["value"]
        header = "".join(f"<th>{_esc(_words(name))}</th>" for name in names)
        body = []
        for shop_id in sorted(totals):
            shop = totals[shop_id]
            cells = "".join(
                f'<td class="num">{fmt_value(shop.get(name, ZERO), unit)}</td>' for name in names
            )
            body.append(
                f"<tr><td>{_esc(shop_id)}</td><td>{_esc(self._unit_label(unit, shop_id))}</td>"
                f'<td class="num">{counts[shop_id]:,}</td>'
                f'<td class="num">{fmt_value(shop["a_value"], unit)}</td>'
                f'<td class="num">{fmt_value(shop["b_value"], unit)}</td>'
                f'<td class="num">{fmt_value(shop["difference"], unit)}</td>{cells}'
                f"{self._residual_cell(shop['residual'], unit)}</tr>"
            )
        return (
            '<div class="scroll"><table><thead><tr><th>shop</th><th>unit</th><th>rows</th>'
            "<th>Σ A</th><th>Σ B</th><th>Σ A − B</th>"
            f"{header}<th>Σ residual</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
            "</div>"
        )

    def _unit_label(self, unit: str, shop_id: str) -> str:
        return "count" if unit == COUNT_UNIT else self.currencies.get(shop_id, "")

    def _residual_cell(self, value: Decimal, unit: str) -> str:
        css = "num ok" if value == 0 else "num bad"
        return f'<td class="{css}">{fmt_value(value, unit)}</td>'

    def _rows_table(self, check: Check, rows: list[dict], names: list[str]) -> str:
        unit = check.unit
        daily = check.asset == DAILY_ASSET
        keys = (
            "<th>shop</th><th>stat date</th>"
            if daily
            else (
                "<th>shop</th><th>LIVE</th><th>refresh</th>"
                + ("<th>bucket</th>" if check.id == "R13" else "")
            )
        )
        header = "".join(f"<th>{_esc(_words(name))}</th>" for name in names)
        body = []
        for row in rows:
            values = {c["name"]: c["value"] for c in row["components"]}
            if daily:
                key_cells = f"<td>{_esc(row['shop_id'])}</td><td>{row['stat_date']}</td>"
            else:
                key_cells = (
                    f"<td>{_esc(row['shop_id'])}</td><td>{_esc(row['live_id'])}</td>"
                    f"<td>{_esc(_instant_text(row['snapshot_at']))}</td>"
                )
                if check.id == "R13":
                    key_cells += f"<td>{_esc(_instant_text(row['bucket_start']))}</td>"
            cells = "".join(
                f'<td class="num">{fmt_value(values[name], unit) if name in values else ""}</td>'
                for name in names
            )
            body.append(
                f"<tr>{key_cells}"
                f'<td class="num">{fmt_value(row["a_value"], unit)}</td>'
                f'<td class="num">{fmt_value(row["b_value"], unit)}</td>'
                f'<td class="num">{fmt_value(row["difference"], unit)}</td>{cells}'
                f"{self._residual_cell(row['residual'], unit)}</tr>"
            )
        return (
            f'<div class="scroll"><table><thead><tr>{keys}<th>A</th><th>B</th><th>A − B</th>'
            f"{header}<th>residual</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
            "</div>"
        )

    def channel_section(self) -> str:
        rows = self._rows(
            """
            select shop_id, stat_date, gmv, gmv_live, gmv_video, gmv_product_card
            from core_data_daily
            where (cast($shop as varchar) is null or shop_id = $shop)
                and (cast($start as date) is null or stat_date >= $start)
                and (cast($end as date) is null or stat_date <= $end)
            order by shop_id, stat_date
            """,
            self.selection.params(),
        )
        intro = (
            '<section id="channels"><h2>GMV by channel, per day</h2>'
            '<p class="faq"><span class="ref" lang="zh">FAQ 数据概览 Q1</span> '
            '<q lang="zh">什么是商品卡?</q></p>'
            "<p>Core data splits each day's GMV into LIVE, video and the product card: every "
            "other channel (showcase, mall, campaign pages, recommendations, messages, search, "
            "and LIVE carts paid after the 30-day window). Days are each shop's own calendar "
            "dates.</p>"
        )
        if not rows:
            return intro + '<p class="muted">No core data in the selection.</p></section>'
        by_shop: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            by_shop[row["shop_id"]].append(row)
        chart = channel_chart_uri(by_shop, self.currencies)
        body = "".join(
            f"<tr><td>{_esc(row['shop_id'])}</td><td>{row['stat_date']}</td>"
            + "".join(
                f'<td class="num">{fmt_value(row[column], "money")}</td>'
                for column, _, _ in CHANNELS
            )
            + f'<td class="num">{fmt_value(row["gmv"], "money")}</td></tr>'
            for row in rows
        )
        return (
            intro
            + f'<figure><img alt="daily GMV by channel, stacked" src="{chart}"></figure>'
            + '<details><summary>The numbers</summary><div class="scroll"><table><thead><tr>'
            "<th>shop</th><th>stat date</th><th>LIVE</th><th>video</th><th>product card</th>"
            f"<th>GMV</th></tr></thead><tbody>{body}</tbody></table></div></details></section>"
        )

    def live_section(self) -> str:
        intro = (
            '<section id="live"><h2>One LIVE across refreshes</h2>'
            '<p class="faq"><span class="ref" lang="zh">FAQ 直播模块 Q1, Q10</span> '
            '<q lang="zh">为什么直播大屏的成交金额与直播分析-直播列表中同一场直播的成交金额不相等?'
            "</q></p><p>Carts added during a LIVE and paid later keep adding to its GMV for "
            "30 days. The LIVE list refreshes three times a day and counts your shop's "
            "country; the dashboard refreshes once a day at 00:00 UTC and counts every "
            "country. Both then freeze: the dashboard at 00:00 UTC of the last day, the list "
            "after its last refresh that day, so the list sees the last day's payments and "
            "the dashboard does not (R05).</p>"
        )
        live = self.pick_live()
        if live is None:
            return intro + '<p class="muted">No LIVE in the selection.</p></section>'
        currency = self.currencies.get(live["shop_id"], "")
        chart = live_chart_uri(live, currency)
        facts = [
            ("started", _instant_text(live["started_at"])),
            ("ended", _instant_text(live["ended_at"])),
            ("dashboard's last refresh", _instant_text(live["dashboard_close"])),
            ("list's last refresh (window close)", _instant_text(live["window_close"])),
        ]
        for label, point in (
            ("LIVE list final GMV", live["list_final"]),
            ("dashboard final GMV", live["dashboard_final"]),
        ):
            value = fmt_value(point["gmv"], "money") if point else "not reached in the data"
            facts.append((label, f"{value} {currency}" if point else value))
        if live["list_final"] and live["dashboard_final"]:
            gap = live["list_final"]["gmv"] - live["dashboard_final"]["gmv"]
            facts.append(
                ("gap between the finals (R05's A − B)", f"{fmt_signed(gap, 'money')} {currency}")
            )
        r05 = CHECKS_BY_ID["R05_big_screen_vs_live_list"]
        for component in live["r05_components"]:
            label = r05.component_label(component["name"]).lstrip("+− ")
            value = fmt_signed(component["value"], "money")
            facts.append((f"… of which {label}", f"{value} {currency}"))
        table = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in facts)
        return (
            intro + f"<p>Picked automatically: LIVE <b>{_esc(live['live_id'])}</b> of shop "
            f"<b>{_esc(live['shop_id'])}</b>"
            + (", with carts paid after it ended" if live["paid_after_live"] else "")
            + ".</p>"
            + f'<figure><img alt="GMV of LIVE {_esc(live["live_id"])} at each refresh of the '
            f'LIVE list and of the dashboard" src="{chart}"></figure>'
            + f'<table class="facts">{table}</table></section>'
        )

    def pick_live(self) -> dict | None:
        """A LIVE worth showing: local carts paid on its last day (R05's first component),
        both finals reached, local sales in the room and carts paid after it, a gap between
        the finals, many refreshes; ties by id so the choice is stable."""
        last_day = f"""
            select
                shop_id,
                live_id,
                coalesce(list_sum([
                    c.value for c in components
                    if c.name = 'local_gmv_paid_after_dashboard_close'
                ]), 0) as last_day_gmv
            from {LIVE_ASSET}
            where check_id = 'R05_big_screen_vs_live_list'
        """
        candidates = self._rows(PICK_LIVE.format(last_day=last_day), self.selection.params())
        if not candidates:
            no_recon = "select null as shop_id, null as live_id, 0 as last_day_gmv where false"
            candidates = self._rows(PICK_LIVE.format(last_day=no_recon), self.selection.params())
        if not candidates:
            return None
        shop_id, live_id = candidates[0]["shop_id"], candidates[0]["live_id"]
        key = {"shop": shop_id, "live": live_id}
        lives = self._rows(
            "select started_at, ended_at, window_close, dashboard_close from live_facts "
            "where live_id = $live",
            {"live": live_id},
        )
        if not lives or lives[0]["ended_at"] is None:
            return None
        points = self._rows(
            "select snapshot_at, gmv, gmv_after_live, is_final from live_list_snapshot "
            "where shop_id = $shop and live_id = $live order by snapshot_at",
            key,
        )
        dashboard = self._rows(
            "select snapshot_at, gmv, gmv_local, is_final from big_screen_snapshot "
            "where shop_id = $shop and live_id = $live order by snapshot_at",
            key,
        )
        r05 = self._rows(
            f"select components from {LIVE_ASSET} where check_id = 'R05_big_screen_vs_live_list' "
            "and shop_id = $shop and live_id = $live",
            key,
        )
        return {
            "shop_id": shop_id,
            "live_id": live_id,
            **lives[0],
            "paid_after_live": any(p["gmv_after_live"] > 0 for p in points),
            "r05_components": r05[0]["components"] if r05 else [],
            "list": points,
            "dashboard": dashboard,
            "list_final": next((p for p in points if p["is_final"]), None),
            "dashboard_final": next((p for p in dashboard if p["is_final"]), None),
        }


PICK_LIVE = """
with list_rows as (
    select
        shop_id,
        live_id,
        count(*) as refreshes,
        max(gmv_after_live) as gmv_after_live,
        max(gmv_during_live) as gmv_during_live,
        bool_or(is_final) as list_final,
        arg_max(gmv, snapshot_at) as list_gmv
    from live_list_snapshot
    where (cast($shop as varchar) is null or shop_id = $shop)
        and (cast($start as date) is null or start_date >= $start)
        and (cast($end as date) is null or start_date <= $end)
    group by shop_id, live_id
    having max(ended_at) is not null
),
dashboard_rows as (
    select
        shop_id,
        live_id,
        bool_or(is_final) as dashboard_final,
        arg_max(gmv, snapshot_at) as dashboard_gmv
    from big_screen_snapshot
    group by shop_id, live_id
),
last_day as ({last_day})
select list_rows.shop_id, list_rows.live_id
from list_rows
left join dashboard_rows using (shop_id, live_id)
left join last_day using (shop_id, live_id)
order by
    coalesce(last_day.last_day_gmv, 0) > 0 desc,
    coalesce(list_rows.list_final and dashboard_rows.dashboard_final, false) desc,
    list_rows.gmv_during_live > 0 desc,
    list_rows.gmv_after_live > 0 desc,
    coalesce(list_rows.list_gmv <> dashboard_rows.dashboard_gmv, false) desc,
    list_rows.gmv_after_live desc,
    coalesce(last_day.last_day_gmv, 0) desc,
    list_rows.refreshes desc,
    list_rows.live_id,
    list_rows.shop_id
limit 1
"""

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans CJK SC",
  "WenQuanYi Zen Hei", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 0 auto;
  max-width: 1100px; padding: 1.5rem; color: #1d2430; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { margin-top: 2.4rem; border-bottom: 2px solid #d8dde6; padding-bottom: .2rem; }
h3 { font-size: 1rem; margin-top: 1.2rem; }
table { border-collapse: collapse; font-size: .82rem; margin: .4rem 0; }
th, td { border: 1px solid #d8dde6; padding: .2rem .45rem; text-align: left;
  vertical-align: top; }
thead th { background: #f1f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { overflow-x: auto; }
.scroll td { white-space: nowrap; }
figure { margin: .6rem 0; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: .8rem; color: #555; }
.faq { background: #f7f3e8; border-left: 4px solid #d9822b; padding: .4rem .6rem; }
.faq .ref { font-weight: 600; margin-right: .4rem; }
q { quotes: "「" "」"; }
.sides dt { font-weight: 700; float: left; width: 1.6rem; }
.sides dd { margin-left: 2rem; }
.ok { color: #1e7b34; } .bad { color: #c0392b; font-weight: 700; } .info { color: #1f5fa8; }
.muted { color: #777; } .big { font-size: 1.05rem; font-weight: 600; }
.tag { font-size: .75rem; background: #e3ecf7; color: #1f5fa8; border-radius: 3px;
  padding: .05rem .35rem; vertical-align: middle; }
nav ol { columns: 2; font-size: .9rem; }
table.facts th { background: #f1f4f8; width: 16rem; }
details summary { cursor: pointer; margin: .4rem 0; }
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p>Covering {scope}. Data as of {watermark} (the data watermark). Generated {generated}.</p>
<p>The TikTok Shop Data Compass (数据罗盘) shows numbers that look as if they should agree and
do not. Its FAQ explains why in words; this report proves it in numbers. For each pair, side
A and side B are computed exactly as the compass computes them, and the gap A − B is split
into named components, each counted on its own. When the components add up to the gap to
the cent, the residual is 0 and the FAQ's explanation is the whole story.</p>
</header>
<section id="summary"><h2>Summary</h2>{summary}</section>
<nav><h2>Checks</h2><ol>{toc}</ol></nav>
{sections}
</body>
</html>
"""
