"""Shared test set-up: the CLI as a user runs it (a real subprocess, real exit codes), the same CLI in-process
for input checks that stop before any work, one quick study per test session, and shared result keys."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from filelock import FileLock
from typer.testing import CliRunner

from qscale.grid.results import PROJECTED_OUTPUTS

QUICK_STUDY_TIMEOUT_S = 1200  # `qscale study --quick` runs every stage; a loaded 2-core machine needs minutes


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


def run_cli(*args: str, cwd: str | None = None, timeout: float = 600) -> CliResult:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "qscale.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli():
    return run_cli


def run_cli_in_process(*args: str, cwd: str | Path | None = None) -> CliResult:
    """The same app through typer's CliRunner: no new interpreter, so an input check costs milliseconds.

    For checks that fail before any work (exit 2 on bad input); runs that do work keep the subprocess, which
    is what a user runs. An exception the CLI did not map to an exit code lands on stderr with its traceback.
    """
    from qscale.cli import app

    with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
        res = CliRunner().invoke(app, list(args))
    stderr = res.stderr
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        stderr += "".join(traceback.format_exception(res.exception))
    return CliResult(res.exit_code, res.stdout, stderr)


@pytest.fixture
def cli_fast():
    return run_cli_in_process


@dataclass
class QuickStudy:
    folder: Path  # the run folder `qscale study --quick --out` wrote
    result: CliResult  # what that command printed and returned


@pytest.fixture(scope="session")
def quick_study(tmp_path_factory, worker_id) -> QuickStudy:
    """`qscale study --quick` run once, as a user runs it, for every test that reads a run folder.

    Under pytest-xdist each worker is a session of its own, so the run lives in the base temp folder the
    workers share, and a file lock makes the first worker that needs it run it while another that needs it
    waits and then reads the same folder (and the same recorded output, so a failed run is not repeated):
    one study per `make test`, not one per test. Readers treat the folder as read-only.
    """
    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / "quick-study"
    root.mkdir(exist_ok=True)
    record = root / "cli.json"
    with FileLock(str(root) + ".lock"):
        if not record.is_file():
            res = run_cli("study", "--quick", "--out", str(root / "run"), "--json", timeout=QUICK_STUDY_TIMEOUT_S)
            record.write_text(json.dumps({"code": res.code, "stdout": res.stdout, "stderr": res.stderr}))
        res = CliResult(**json.loads(record.read_text()))
    return QuickStudy(root / "run", res)


@pytest.fixture
def site_result_keys() -> tuple[str, ...]:
    """Every projected output `qscale site` reports (qscale.grid.results labels exactly these), plus its timing."""
    return (*PROJECTED_OUTPUTS, "solve_seconds")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads xdist_group marks to form the groups
def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip)
        if "quick_study" in getattr(item, "fixturenames", ()):  # one worker runs them all (`--dist loadgroup`):
            item.add_marker(pytest.mark.xdist_group("quick_study"))  # no other worker waits on the study's lock
