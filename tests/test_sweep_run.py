"""`qscale sweep` on Ray as a user runs it (a subprocess each time): resume, a failing cell, no Ray left behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from qscale.study.sweep.table import read_table
from test_sweep_grid import TINY


def _ray_processes(temp_dir: str = "") -> set[int]:
    """Ray's own daemons (GCS, raylet) running on this machine; with `temp_dir`, only those of the Ray
    instances whose session lives there (other tests may run Ray at the same time on another worker)."""
    pids = set()
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if ("gcs_server" in cmd or "/raylet/raylet" in cmd) and temp_dir in cmd:
            pids.add(p.info["pid"])
    return pids


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture
def ray_tmp(monkeypatch):
    """A Ray temp folder of this test's own (short: Ray's socket paths must stay under 108 characters)."""
    path = tempfile.mkdtemp(prefix="qsray", dir="/tmp")
    monkeypatch.setenv("RAY_TMPDIR", path)  # the command's Ray session lives here, and only its own
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow  # ~30-50 s on 2 cores; `make test-slow` runs it, keeping `make test` under 10 min
def test_resume_skips_finished_cells_and_reruns_missing_ones(cli, tiny, tmp_path, ray_tmp):
    out = tmp_path / "sw"
    before = _ray_processes(ray_tmp)
    args = ["sweep", str(tiny), "--grid", "qaoa.nodes=6,8", "--out", str(out), "--json"]
    first = cli(*args)
    assert first.code == 0, first.stderr
    r = first.json()
    assert (r["cells_total"], r["executed"], r["skipped"], r["failed"]) == (2, 2, 0, [])
    assert r["nodes"] and sum(n["cells"] for n in r["nodes"]) == 2
    assert before == set() and _ray_processes(ray_tmp) == set()  # the local Ray instance is gone with the command
    rows = read_table(r["table"])
    assert sorted(row["grid.qaoa.nodes"] for row in rows) == [6, 8]
    assert all(row["stages.qaoa.n_qubits"] == row["grid.qaoa.nodes"] for row in rows)
    cells = sorted(p.name for p in (out / "cells").iterdir())
    assert len(cells) == 2
    for cid in cells:  # the same folder `qscale study` writes, plus the cell's own record and log
        names = {p.name for p in (out / "cells" / cid).iterdir()}
        assert {"config.toml", "results.json", "report.html", "cell.json", "log.txt"} <= names
    assert (out / "report.html").is_file() and (out / "sweep.json").is_file()

    again = cli(*args).json()
    assert (again["executed"], again["skipped"]) == (0, 2)

    shutil.rmtree(out / "cells" / cells[0])
    third = cli(*args).json()
    assert (third["executed"], third["skipped"]) == (1, 1)
    assert len(read_table(third["table"])) == 2


def test_a_failing_cell_is_recorded_and_the_others_finish(cli, tiny, tmp_path):
    out = tmp_path / "sw"
    r = cli("sweep", str(tiny), "--grid", "qaoa.graph=regular:3,nonsense", "--out", str(out), "--json")
    assert r.code == 1, r.stderr
    d = r.json()  # the JSON object still comes, then exit 1
    assert d["cells_total"] == 2 and d["executed"] == 2 and len(d["failed"]) == 1
    bad = d["failed"][0]
    assert "unknown graph spec 'nonsense'" in bad["reason"]
    assert f"failed cell {bad['id']}" in r.stderr
    assert (out / "failed" / bad["id"] / "error.json").is_file()
    assert "stage qaoa: start" in (out / "failed" / bad["id"] / "log.txt").read_text()
    done = [p.name for p in (out / "cells").iterdir()]
    assert len(done) == 1 and done[0] != bad["id"]
    rows = {row["cell_id"]: row for row in read_table(d["table"])}
    assert rows[bad["id"]]["cell_status"] == "failed" and rows[done[0]]["cell_status"] == "done"


def test_sigterm_stops_the_local_ray_instance(tiny, tmp_path):
    """A sweep killed mid-cell (SIGTERM) exits 130, takes its Ray processes with it, leaves no half-written cell."""
    out = tmp_path / "sw"
    # the sweep's own temp dir: another test's sweep on the other xdist worker also makes qscale-cell-* folders
    private = Path(tempfile.mkdtemp(prefix="qsig-"))
    before: set[Path] = set()
    cmd = [sys.executable, "-m", "qscale.cli", "sweep", str(tiny), "--grid", "qaoa.nodes=16,18", "--out", str(out)]
    env = os.environ | {"HF_HUB_OFFLINE": "1", "TMPDIR": str(private)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.time() + 300
        ray_children: set[int] = set()
        while time.time() < deadline and proc.poll() is None:
            kids = psutil.Process(proc.pid).children(recursive=True)
            ray_children |= {k.pid for k in kids if "raylet" in " ".join(k.cmdline())}
            if set(private.glob("qscale-cell-*")) - before:  # a cell is running in a worker
                break
            time.sleep(0.2)
        assert ray_children, "Ray never started"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(private, ignore_errors=True)
    assert proc.returncode == 130, err
    time.sleep(2)
    assert not (ray_children & _ray_processes())
    assert not [p for p in (out / "cells").glob("*") if not (p / "results.json").is_file()]
