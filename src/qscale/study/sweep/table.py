"""The sweep's table: one row per cell, its grid values and its flattened results.json as columns.

Columns: `cell_id`, `cell_status`, `cell_error`, `cell_seconds` (the cell's own time), `cell_node_ip`, then
`grid.<key>` for each axis, then every leaf of results.json under its dotted path
(`stages.qaoa.optimized.approximation_ratio`); lists are kept as JSON text. A column holds one type: numbers
(float64, or int64 when all are integers), booleans, or text where kinds mix. Written as Parquet through
pyarrow, or as CSV where pyarrow is missing.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from qscale.io import atomic_write_bytes, atomic_write_text, to_jsonable

GRID_PREFIX = "grid."


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts to {dotted.path: leaf}; lists become JSON text, so every leaf is a scalar."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out |= flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, list | tuple):
        out[prefix] = json.dumps(to_jsonable(obj), separators=(",", ":"))
    else:
        out[prefix] = obj
    return out


def rows_for(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """cells: [{"id", "status", "error", "seconds", "node_ip", "overrides", "results"}] -> table rows."""
    rows = []
    for c in cells:
        row: dict[str, Any] = {
            "cell_id": c["id"],
            "cell_status": c["status"],
            "cell_error": c.get("error"),
            "cell_seconds": c.get("seconds"),
            "cell_node_ip": c.get("node_ip"),
        }
        row |= {f"{GRID_PREFIX}{k}": (json.dumps(v) if isinstance(v, list) else v) for k, v in c["overrides"].items()}
        row |= flatten(c.get("results") or {})
        rows.append(row)
    return rows


def _column_kind(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "string"
    if all(isinstance(v, bool) for v in present):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "float"
    return "string"


def columns(rows: list[dict[str, Any]]) -> dict[str, tuple[str, list[Any]]]:
    """{name: (kind, values)} with every row's value (None where a row lacks the column), in first-seen order."""
    names: dict[str, None] = {}
    for row in rows:
        names |= dict.fromkeys(row)
    out = {}
    for name in names:
        values = [row.get(name) for row in rows]
        kind = _column_kind(values)
        if kind == "float":
            values = [None if v is None else float(v) for v in values]
        elif kind == "string":
            values = [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values]
        out[name] = (kind, values)
    return out


def write_table(rows: list[dict[str, Any]], folder: Path) -> Path:
    """table.parquet (pyarrow) or table.csv in `folder`, written atomically; returns its path."""
    cols = columns(rows)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return _write_csv(cols, len(rows), folder / "table.csv")
    types = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "string": pa.string()}
    table = pa.table({name: pa.array(values, type=types[kind]) for name, (kind, values) in cols.items()})
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf)
    path = folder / "table.parquet"
    atomic_write_bytes(path, buf.getvalue().to_pybytes())
    return path


def _write_csv(cols: dict[str, tuple[str, list[Any]]], n: int, path: Path) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(list(cols))
    for i in range(n):
        writer.writerow(["" if values[i] is None else values[i] for _, values in cols.values()])
    atomic_write_text(path, buf.getvalue())
    return path


def read_table(path: Path) -> list[dict[str, Any]]:
    """A written table back as rows (Parquet keeps types; CSV gives numbers back where a value parses as one)."""
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    with path.open(newline="", encoding="utf-8") as fh:
        return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _parse(text: str) -> Any:
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
