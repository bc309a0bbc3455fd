"""`qscale sweep --address` on a real two-node Ray cluster on localhost: a head and a second node, one CPU each.

Each node is a `ray start --block` process in its own process group; the cluster is stopped by signalling
those two groups (never `ray stop`, which would stop every Ray instance on a shared machine).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from test_sweep_grid import TINY

RAY = str(Path(sys.executable).parent / "ray")
# Waits for the head's GCS, then for `want` live nodes; exit 0 when they are there.
WAIT_NODES = """
import sys, time
import ray._raylet
from ray.core.generated import gcs_pb2
address, want, deadline = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
while time.time() < deadline:
    try:
        nodes = ray._raylet.GcsClient(address=address).get_all_node_info(timeout=5)
        if sum(n.state == gcs_pb2.GcsNodeInfo.ALIVE for n in nodes.values()) >= want:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.5)
sys.exit(1)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the node's process group (`ray start --block` and the daemons it started), SIGKILL after 5 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@pytest.fixture
def two_node_cluster(tmp_path):
    port = _free_port()
    address = f"127.0.0.1:{port}"
    # One token for the cluster and its clients, made up here, so the test does not depend on ~/.ray.
    env = os.environ | {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    temp = tempfile.mkdtemp(prefix="qsray", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    common = ["--block", "--num-cpus", "1", "--object-store-memory", str(100 * 1024**2)]
    procs: list[subprocess.Popen] = []
    log = (tmp_path / "ray-start.log").open("w")

    def start(*args: str, nodes: int) -> None:
        procs.append(subprocess.Popen([RAY, "start", *args, *common], env=env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))  # fmt: skip
        subprocess.run([sys.executable, "-c", WAIT_NODES, address, str(nodes), "120"], env=env, check=True, timeout=150)

    try:
        start("--head", "--port", str(port), "--include-dashboard=false", "--temp-dir", temp,
              "--resources", '{"node_a": 1}', nodes=1)  # fmt: skip
        start("--address", address, "--resources", '{"node_b": 1}', nodes=2)
        yield address, env
    finally:
        for proc in reversed(procs):
            _stop(proc)
        log.close()
        subprocess.run(["rm", "-rf", temp], check=False)


def test_sweep_runs_cells_on_both_nodes_of_a_cluster(two_node_cluster, tmp_path):
    address, env = two_node_cluster
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    out = tmp_path / "sw"
    args = ["sweep", str(config), "--grid", "qaoa.nodes=6,8", "--seeds", "2", "--address", address, "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "qscale.cli", *args, "--json"], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    print("nodes that ran cells:", r["nodes"])  # shown with -s: the cluster's two node ids
    assert (r["cells_total"], r["executed"], r["failed"]) == (4, 4, [])
    assert len(r["nodes"]) == 2 and all(n["cells"] >= 1 for n in r["nodes"])
    assert len({n["node_id"] for n in r["nodes"]}) == 2
    assert sum(n["cells"] for n in r["nodes"]) == 4
    assert len(list((out / "cells").iterdir())) == 4
