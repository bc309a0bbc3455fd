"""The sweep's progress on stderr (qscale.progress): cells done of all, with elapsed time and an ETA, and one
line per finished cell (running and failed counts in the bar's description)."""

from __future__ import annotations

from typing import Any

from qscale.progress import logger, track
from qscale.study.sweep.grid import Cell
from qscale.study.sweep.runner import CellOutcome, Events

_log = logger("sweep")


class ProgressEvents(Events):
    """Use as a context manager around run_sweep; the display starts with the first cell to run."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __enter__(self) -> ProgressEvents:
        return self  # the display starts with the first cell to run, after the checks that can still fail

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def start(self, total: int, skipped: int) -> None:
        if skipped:
            _log.info(f"{skipped} cell(s) already finished: skipped")
        self.bar = track("cells", total=total).__enter__()

    def update(self, done: int, running: int, failed: int) -> None:
        if self.bar is not None:
            self.bar.update(done + failed, description=f"cells (running {running}, failed {failed})")

    def cell(self, cell: Cell, outcome: CellOutcome) -> None:
        where = f" on {outcome.node_ip}" if outcome.node_ip else ""
        if outcome.status == "done":
            _log.info(f"done {cell.id} {cell.label} ({outcome.seconds:.1f} s{where})")
        else:
            _log.warning(f"failed {cell.id} {cell.label}{where}: {outcome.error}")
