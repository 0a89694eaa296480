"""One declarative table of every stored asset (STYLE.md rule 5).

Definitions, checks, the catalog and the docs all read this table; nothing else keeps a
list of asset names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

# Partition sets of outputs.md "Partitions and cadences".
UNPARTITIONED = None
STAT_DATE = "stat_date"
LIVE_LIST = "live_list"
DASHBOARD = "dashboard"


@dataclass(frozen=True)
class OutputSpec:
    """An asset the pipeline stores: its name, place in the graph, schema and docs."""

    name: str
    group: str  # raw, facts, daily, live_list, live_dashboard, reconciliation
    partitions: str | None  # None, STAT_DATE, LIVE_LIST or DASHBOARD
    description: str  # what it is, at what grain, which FAQ question it answers
    arrow_schema: Callable[[], pa.Schema]
    key: Sequence[str] = ()
    faq: str = ""  # the FAQ question it answers, quoted in Chinese
    latest_key: Sequence[str] = ()  # snapshot assets: key of the `<asset>_latest` view
    sort_by: Sequence[str] = ()
    deps: Sequence[str] = field(default_factory=tuple)
