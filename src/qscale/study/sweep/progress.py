"""The sweep's progress display on stderr: cells done, running and failed, with elapsed time and an ETA."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from qscale.study.sweep.grid import Cell
from qscale.study.sweep.runner import CellOutcome, Events


class RichEvents(Events):
    """Use as a context manager around run_sweep; one line per finished cell is printed above the bar."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("cells"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("running {task.fields[running]}, failed {task.fields[failed]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self.task: Any = None

    def __enter__(self) -> RichEvents:
        return self  # the display starts with the first cell to run, after the checks that can still fail

    def __exit__(self, *exc: object) -> None:
        if self.task is not None:
            self.progress.stop()

    def start(self, total: int, skipped: int) -> None:
        if skipped:
            self.console.print(f"[dim]{skipped} cell(s) already finished: skipped[/dim]")
        self.progress.start()
        self.task = self.progress.add_task("cells", total=total, running=0, failed=0)

    def update(self, done: int, running: int, failed: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=done + failed, running=running, failed=failed)

    def cell(self, cell: Cell, outcome: CellOutcome) -> None:
        where = f" on {outcome.node_ip}" if outcome.node_ip else ""
        if outcome.status == "done":
            self.console.print(f"[green]done[/green] {cell.id} {cell.label} ({outcome.seconds:.1f} s{where})")
        else:
            self.console.print(f"[red]failed[/red] {cell.id} {cell.label}{where}: {outcome.error}")
