"""The hybrid runtime: packing into jobs, retries, the two clocks, the Gantt plot."""

from __future__ import annotations

import time

import numpy as np
import pytest

from qscale.coproc.devices import device
from qscale.coproc.runtime import CircuitSpec, HybridRuntime, circuits_per_job, jobs_needed
from qscale.errors import QscaleUserError


def echo(circuits, shots):
    return [c.payload for c in circuits]


def specs(n, qubits=4, depth=3):
    return [CircuitSpec(qubits, depth, payload=i) for i in range(n)]


def test_jobs_are_packed_within_the_circuit_and_execution_limits():
    with HybridRuntime("heron", execute=echo, max_circuits_per_job=40) as rt:
        out = rt.run(specs(80), 100)
    assert out == list(range(80))  # results come back in submission order
    assert [j["circuits"] for j in rt.timeline()["jobs"]] == [40, 40]
    with HybridRuntime("heron", execute=echo, max_shots_per_job=1000) as rt:
        rt.run(specs(7), 300)  # 1000 // 300 = 3 circuits per job
    assert [j["circuits"] for j in rt.timeline()["jobs"]] == [3, 3, 1]
    assert circuits_per_job(300, 10_000, 1000) == 3 and jobs_needed(7, 300, 10_000, 1000) == 3
    assert jobs_needed(80, 0, 40, 10) == 2  # exact runs (0 shots) only meet the circuit cap


def test_device_clock_follows_the_device_model():
    dev = device("heron")
    p = {k: getattr(dev, k).typical for k in ("shot_base_s", "layer_s", "readout_s", "circuit_overhead_s",
                                               "job_overhead_s", "latency_s")}  # fmt: skip
    with HybridRuntime(dev, execute=echo) as rt:
        rt.run(specs(5, depth=10), 2000)
    job = rt.timeline()["jobs"][0]
    shot = p["shot_base_s"] + 10 * p["layer_s"] + p["readout_s"]
    assert job["device_s"] == pytest.approx(p["job_overhead_s"] + 5 * (p["circuit_overhead_s"] + 2000 * shot))
    assert job["start_s"] == pytest.approx(job["submit_s"] + p["latency_s"] / 2 + p["job_overhead_s"])
    assert job["return_s"] == pytest.approx(job["end_s"] + p["latency_s"] / 2)


def test_host_work_overlaps_a_running_job_and_waiting_moves_the_host_clock():
    with HybridRuntime("heron", execute=echo) as rt:
        fut = rt.submit(specs(3), 1000)
        t = time.perf_counter()
        while time.perf_counter() - t < 0.05:  # host work while the job runs
            pass
        fut.result()
    tl = rt.timeline()
    job = tl["jobs"][0]
    spans = tl["host"]["host"]
    work_after_submit = sum(b - a for a, b, k in spans if k == "work" and a >= job["submit_s"])
    assert work_after_submit >= 0.05
    waits = [(a, b) for a, b, k in spans if k == "wait"]
    assert waits and waits[-1][1] == pytest.approx(job["return_s"])  # the host resumes when the result is back
    assert 0 < tl["utilisation"]["qpu"] < 1


def test_parallel_lanes_overlap_job_overheads():
    dev = device("heron")
    with HybridRuntime(dev, execute=echo, max_circuits_per_job=1) as rt:
        rt.run(specs(10), 10)
    jobs = rt.timeline()["jobs"]
    starts = sorted(j["overhead_start_s"] for j in jobs)
    assert starts[4] == pytest.approx(starts[0])  # five lanes start together
    assert starts[5] > starts[0]


def test_failed_jobs_are_retried_and_recorded():
    calls = {"n": 0}

    def flaky(circuits, shots):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise RuntimeError("backend hiccup")
        return echo(circuits, shots)

    with HybridRuntime("heron", execute=flaky, max_retries=2) as rt:
        assert rt.run(specs(2), 100) == [0, 1]
    job = rt.timeline()["jobs"][0]
    assert job["attempts"] == 3 and job["status"] == "done" and len(job["errors"]) == 2
    assert len(job["intervals"]) == 3  # every attempt used device time

    def broken(circuits, shots):
        raise RuntimeError("down")

    with HybridRuntime("heron", execute=broken, max_retries=1) as rt, pytest.raises(RuntimeError, match="down"):
        rt.run(specs(1), 100)
    job = rt.timeline()["jobs"][0]
    assert job["status"] == "failed" and job["attempts"] == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"shots": -1}, "non-negative"), ({"circuits": specs(1, qubits=200)}, "200 qubits is wider than heron \\(156\\)"),
     ({"circuits": []}, "at least one")],
)  # fmt: skip
def test_bad_submissions_are_user_errors(kwargs, message):
    args = {"circuits": specs(1), "shots": 10} | kwargs
    with HybridRuntime("heron", execute=echo) as rt, pytest.raises(QscaleUserError, match=message):
        rt.submit(args["circuits"], args["shots"])


def test_fault_tolerant_devices_and_bad_options_are_refused():
    with pytest.raises(QscaleUserError, match="fault tolerant"):
        HybridRuntime("ft_2030s")
    with pytest.raises(QscaleUserError, match="unknown device"):
        HybridRuntime("nope")
    with pytest.raises(QscaleUserError, match="scenario"):
        HybridRuntime("heron", scenario="median")


def test_default_backend_is_qscales_exact_simulator():
    from qscale.quantum.circuit import Circuit

    bell = Circuit(2).h(0).cx(0, 1)
    with HybridRuntime("heron") as rt:
        (probs,) = rt.run([CircuitSpec(2, 1, 1, payload=(bell, np.zeros(0)))], 0)
    assert np.allclose(probs, [0.5, 0, 0, 0.5])


def test_gantt_plot_is_written(tmp_path):
    from qscale.coproc.timeline import gantt

    with HybridRuntime("heron", execute=echo) as rt:
        rt.run(specs(4), 100)
        rt.run(specs(4), 100)
    path = gantt(rt.timeline(), tmp_path / "t.png")
    assert path.stat().st_size > 1000
