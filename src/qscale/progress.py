"""What a person sees on stderr: qscale's one logger, quiet third-party loggers, and progress of long jobs.

Why one module: the study, the quantizer, the fine-tuner, the sweep and the outlook all report progress, and a user
should see the same thing from each: a rich progress bar (done/total, elapsed, ETA) when stderr is a terminal, a
plain line every `LINE_EVERY_S` seconds (and one at the end) when it is not (a log file, CI), and nothing but
errors under `--json` or `--quiet`. Messages go through the `qscale` logger (`logger()`), printed above any bar.

Third-party libraries log a lot at INFO (Qiskit's pass manager once per transpiled circuit; PyPSA even turns the
root logger on at INFO): `configure()` keeps them at WARNING unless `--verbose`, installs a root handler so that
another library's `logging.basicConfig(level=INFO)` changes nothing, and turns third-party tqdm bars off.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any

THIRD_PARTY = ("qiskit", "qiskit_aer", "qiskit_ibm_runtime", "transformers", "huggingface_hub", "accelerate", "peft",
               "ray", "pypsa", "linopy", "highspy", "numba", "stevedore", "matplotlib", "PIL", "urllib3",
               "filelock", "fsspec", "torch", "sentence_transformers")  # fmt: skip
LINE_EVERY_S = 60.0
MODES = ("auto", "bar", "lines", "off")

_LOGGER = logging.getLogger("qscale")
_state: dict[str, Any] = {"mode": "auto", "live": None, "users": 0}
_lock = threading.RLock()


def logger(name: str | None = None) -> logging.Logger:
    """The `qscale` logger (or its child `qscale.<name>`): every qscale message to a person goes through it."""
    return _LOGGER if name is None else _LOGGER.getChild(name)


class _Handler(logging.Handler):
    """Writes a record on stderr, above the live progress display when there is one."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write(self.format(record))
        except Exception:  # a broken stderr must not break the run
            self.handleError(record)


def write(line: str) -> None:
    """One line on stderr (above the progress bars while they are shown)."""
    with _lock:
        live = _state["live"]
        if live is not None:
            live.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


def configure(verbosity: int = 0, as_json: bool = False) -> None:
    """Levels and handlers for a command: verbosity -1 (--quiet), 0, 1 (--verbose); `as_json` prints errors only.

    Safe to call again (the root command sets verbosity, the subcommand adds --json)."""
    verbosity = max(-1, min(1, int(verbosity)))
    if as_json:
        verbosity = min(verbosity, -1)
        qscale_level, other_level = logging.ERROR, logging.ERROR
    else:
        qscale_level = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}[verbosity]
        other_level = logging.INFO if verbosity > 0 else logging.WARNING
    root = logging.getLogger()
    if not any(isinstance(h, _Handler) for h in root.handlers):
        handler = _Handler()
        handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(other_level)
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(other_level)
    if not any(isinstance(h, _Handler) for h in _LOGGER.handlers):
        own = _Handler()
        own.setFormatter(logging.Formatter("%(message)s"))
        _LOGGER.addHandler(own)
    _LOGGER.propagate = False
    _LOGGER.setLevel(qscale_level)
    _state["verbosity"] = verbosity
    set_mode("off" if verbosity < 0 else "auto")
    if verbosity <= 0:  # third-party tqdm bars (transformers' GGUF conversion): tqdm reads this when imported
        os.environ.setdefault("TQDM_DISABLE", "1")


def current_verbosity() -> int:
    """The verbosity the last `configure` set (0 before any)."""
    return int(_state.get("verbosity", 0))


def set_mode(mode: str) -> None:
    """auto (bar on a terminal, else lines), bar, lines or off."""
    if mode not in MODES:
        raise ValueError(f"progress mode must be one of {MODES}, got {mode!r}")
    _state["mode"] = mode


def mode() -> str:
    """The mode in effect now: bar, lines or off."""
    m = _state["mode"]
    if m == "auto":
        return "bar" if sys.stderr.isatty() else "lines"
    return m


def _live_progress() -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True))  # fmt: skip


class Track:
    """Progress of one job: `with track("layers", total=n) as t: ... t.update(done, description=name)`."""

    def __init__(self, description: str, total: int | None = None, every_s: float = LINE_EVERY_S):
        self.description, self.total, self.every_s = description, total, every_s
        self.completed = 0
        self.mode = mode()
        self._task: Any = None
        self._t0 = self._last = time.perf_counter()

    def __enter__(self) -> Track:
        if self.mode == "bar":
            with _lock:
                if _state["live"] is None:
                    _state["live"] = _live_progress()
                    _state["live"].start()
                _state["users"] += 1
                self._task = _state["live"].add_task(self.description, total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.mode == "bar":
            with _lock:
                live = _state["live"]
                if live is not None:
                    live.remove_task(self._task)
                _state["users"] -= 1
                if _state["users"] <= 0 and live is not None:
                    live.stop()
                    _state["live"], _state["users"] = None, 0
        elif self.mode == "lines" and exc[0] is None and self.completed:
            self._line(final=True)

    def advance(self, n: int = 1, description: str | None = None) -> None:
        self.update(self.completed + n, description=description)

    def update(self, completed: int, total: int | None = None, description: str | None = None) -> None:
        self.completed = completed
        if total is not None:
            self.total = total
        if description is not None:
            self.description = description
        if self.mode == "bar":
            with _lock:
                if _state["live"] is not None:
                    _state["live"].update(self._task, completed=completed, total=self.total,
                                          description=self.description)  # fmt: skip
        elif self.mode == "lines" and time.perf_counter() - self._last >= self.every_s and not self._done():
            self._line()

    def _done(self) -> bool:
        """All of a known total done: the closing line will say so, no periodic line for it."""
        return bool(self.total) and self.completed >= self.total

    def _line(self, final: bool = False) -> None:
        now = time.perf_counter()
        self._last = now
        elapsed = now - self._t0
        text = f"{self.description}: {self.completed}" + (f"/{self.total}" if self.total else "")
        text += f", {_clock(elapsed)} elapsed"
        if self.total and self.completed and not final:
            text += f", about {_clock(elapsed * (self.total - self.completed) / self.completed)} left"
        write(text)


def track(description: str, total: int | None = None, every_s: float = LINE_EVERY_S) -> Track:
    """A progress display for one job (see `Track`); shown per the mode set by `configure`."""
    return Track(description, total, every_s)


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
