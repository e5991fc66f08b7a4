"""What the CLI prints: plain tables for people, JSON for scripts (`--json`).

Tables are columns padded with spaces under an upper-case header, no borders, so `grep`,
`awk` and `column` work on them; an empty list prints its header alone. `--json` prints the
API's own objects (a list as a JSON array of every item), indented, one document per command.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Sequence

Column = tuple[str, Callable[[Any], Any]]  # header, cell from an item

EMPTY = "-"  # an unset cell, so columns stay aligned for awk


def cell(value: Any) -> str:
    """One cell: None and empty → `-`, lists comma-joined, a dict as `k=v,…`, line breaks flattened."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return ",".join(cell(v) for v in value)
    return " ".join(str(value).split())


def table(items: Iterable[Any], columns: Sequence[Column]) -> str:
    """Rows under a header, each column as wide as its widest cell, no trailing spaces."""
    rows = [[header for header, _ in columns]]
    rows += [[cell(get(item)) for _, get in columns] for item in items]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    return "\n".join("  ".join(text.ljust(width) for text, width in zip(row, widths)).rstrip() for row in rows)


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """`Label:  value` lines for one object, the labels aligned; unset values left out."""
    shown = [(label, cell(value)) for label, value in pairs if cell(value) != EMPTY]
    width = max((len(label) for label, _ in shown), default=0)
    return "\n".join(f"{(label + ':').ljust(width + 1)}  {value}" for label, value in shown)


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def short_time(value: str | None) -> str | None:
    """`2026-05-27T10:15:00.123456Z` → `2026-05-27 10:15:00Z`: to the second, for tables."""
    if not value or "T" not in value:
        return value
    date, _, time = value.partition("T")
    zone = "Z" if time.endswith("Z") else ""
    return f"{date} {time.rstrip('Z').split('.')[0][:8]}{zone}"
