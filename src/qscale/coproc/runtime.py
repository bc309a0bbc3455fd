"""The hybrid runtime: algorithms submit circuits, get Futures back, and keep doing host work meanwhile.

Why: a QPU is reached through jobs with a fixed overhead, a queue and a network round trip; whether a hybrid
loop is fast depends on how circuits are packed into jobs and on what the host does while it waits. The runtime
- packs each submission into jobs within the device's limits on circuits and executions (circuits x shots);
- executes them through an `execute(circuits, shots)` callable (default: qscale's exact simulator), on a worker
  thread, so the caller's thread keeps computing; drivers reach it through an executor
  (`qscale.coproc.recording.RecordingExecutor`), never by calling it themselves;
- retries a failed job up to `max_retries` times and records every attempt;
- keeps two clocks. Host time is measured (time.perf_counter) on each calling thread, leaving out the time the
  thread spends inside the runtime (waiting, or the simulator standing in for the QPU). Device time is modelled
  from devices.toml: each job's submit, queue, start, end and return are scheduled on a discrete-event model of
  the device (job overhead on one of `lanes` parallel lanes, then the quantum part on the one QPU, FIFO), and a
  thread that waits on a result is moved forward to that result's modelled return.
The timeline (JSON) and a Gantt plot (timeline.py) come from the recorded events.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from qscale.coproc.devices import SCENARIOS as _SCENARIOS
from qscale.coproc.devices import NisqDevice, device
from qscale.errors import QscaleUserError
from qscale.quantum.executor import CircuitSpec, concat

Execute = Callable[[Sequence[CircuitSpec], int], Any]
Combine = Callable[[list[Any]], Any]


def exact_execute(circuits: Sequence[CircuitSpec], shots: int) -> list[Any]:
    """qscale's exact state-vector simulator: payload (Circuit, params row) -> probabilities, or counts if shots."""
    import numpy as np

    from qscale.quantum.statevector import probabilities, sample, simulate

    out = []
    for spec in circuits:
        circuit, params = spec.payload
        psi = simulate(circuit, np.atleast_2d(params))
        if shots:
            out.append(sample(psi[0], shots, 0))
        else:
            out.append(probabilities(psi)[0].cpu().numpy())
    return out


@dataclass
class JobRecord:
    job: int
    submission: int
    lane: str
    circuits: int
    shots: int
    qubits: int
    submit_s: float
    queue_s: float = 0.0  # modelled wait before the job's overhead starts
    overhead_start_s: float = 0.0
    start_s: float = 0.0  # quantum part
    end_s: float = 0.0
    return_s: float = 0.0
    device_s: float = 0.0  # overhead + quantum part, one attempt
    attempts: int = 0
    status: str = "pending"
    simulate_s: float = 0.0  # measured wall time of the stand-in execution (all attempts)
    errors: list[str] = field(default_factory=list)
    intervals: list[tuple[float, float, float, float]] = field(default_factory=list)  # per attempt: overhead, QPU


@dataclass
class _Lane:
    name: str
    v: float = 0.0  # virtual time of this host thread (s)
    last_real: float | None = None
    spans: list[tuple[float, float, str]] = field(default_factory=list)


class RuntimeFuture(Future):
    """A Future whose result() also moves the waiting host thread's clock to the modelled return time."""

    def __init__(self, runtime: HybridRuntime, jobs: list[JobRecord]):
        super().__init__()
        self._runtime, self.jobs = runtime, jobs

    def result(self, timeout: float | None = None) -> Any:
        rt = self._runtime
        lane = rt._enter()
        try:
            value = super().result(timeout)
        finally:
            ret = max((j.return_s for j in self.jobs), default=lane.v)
            if ret > lane.v:
                lane.spans.append((lane.v, ret, "wait"))
                lane.v = ret
            rt._leave(lane)
        return value


class HybridRuntime:
    """Submit circuits, get Futures; jobs packed, executed, retried and timed against a device model."""

    def __init__(
        self,
        device_name: str | NisqDevice = "heron",
        execute: Execute | None = None,
        scenario: str = "typical",
        max_circuits_per_job: int | None = None,
        max_shots_per_job: int | None = None,
        max_retries: int = 2,
        workers: int = 1,
        queue: bool = False,
    ):
        dev = device(device_name) if isinstance(device_name, str) else device_name
        if not isinstance(dev, NisqDevice):
            raise QscaleUserError(f"the runtime runs circuits on a NISQ device; {dev.key} is fault tolerant")
        if scenario not in _SCENARIOS:
            raise QscaleUserError(f"scenario must be one of {', '.join(_SCENARIOS)}, got {scenario!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise QscaleUserError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        self.device, self.scenario = dev, scenario
        self.execute = execute or exact_execute
        self.max_circuits = int(max_circuits_per_job or dev.max_circuits_per_job.value)
        self.max_shots = int(max_shots_per_job or dev.max_shots_per_job.value)
        if self.max_circuits < 1 or self.max_shots < 1:
            raise QscaleUserError("job limits must be positive")
        self.max_retries = max_retries
        self.queue = queue  # add the device's queue wait before the first job (False: a session is already open)
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="qpu")
        self._lock = threading.RLock()
        self._lanes: dict[int, _Lane] = {}
        self.jobs: list[JobRecord] = []
        self._submissions = 0
        self._overhead_free = [0.0] * int(dev.lanes.value)
        self._qpu_free = 0.0
        self._queued = False
        self._t0 = time.perf_counter()

    # -- the device model --------------------------------------------------------------------------
    def _p(self, name: str) -> float:
        return getattr(self.device, name).at(self.scenario)

    def shot_s(self, depth: int) -> float:
        return self._p("shot_base_s") + depth * self._p("layer_s") + self._p("readout_s")

    def quantum_s(self, circuits: Sequence[CircuitSpec], shots: int) -> float:
        per = self._p("circuit_overhead_s")
        return sum(per + shots * self.shot_s(c.two_qubit_depth) for c in circuits)

    def _schedule(self, job: JobRecord, circuits: Sequence[CircuitSpec], ready: float) -> float:
        """Place one attempt of `job` on the device from modelled time `ready`; returns its end."""
        lane = min(range(len(self._overhead_free)), key=lambda i: self._overhead_free[i])
        o_start = max(ready, self._overhead_free[lane])
        o_end = o_start + self._p("job_overhead_s")
        self._overhead_free[lane] = o_end
        q_start = max(o_end, self._qpu_free)
        q_end = q_start + self.quantum_s(circuits, job.shots)
        self._qpu_free = q_end
        if job.attempts == 0:
            job.queue_s, job.overhead_start_s = o_start - ready, o_start
        job.start_s, job.end_s = q_start, q_end
        job.device_s += (o_end - o_start) + (q_end - q_start)
        job.intervals.append((o_start, o_end, q_start, q_end))
        return q_end

    # -- host clocks -------------------------------------------------------------------------------
    def _enter(self) -> _Lane:
        now = time.perf_counter()
        with self._lock:
            tid = threading.get_ident()
            lane = self._lanes.get(tid)
            if lane is None:  # a new thread starts where the first host thread's clock stands
                first = next(iter(self._lanes.values()), None)
                name = "host" if first is None else f"host-{len(self._lanes)}"
                start = 0.0 if first is None else first.v
                lane = self._lanes[tid] = _Lane(name, v=start, last_real=self._t0 if first is None else now)
            if lane.last_real is not None and now > lane.last_real:
                busy = now - lane.last_real
                lane.spans.append((lane.v, lane.v + busy, "work"))
                lane.v += busy
            lane.last_real = None
            return lane

    def _leave(self, lane: _Lane) -> None:
        lane.last_real = time.perf_counter()

    @contextlib.contextmanager
    def device_side(self) -> Iterator[None]:
        """Work done inside this block is the QPU's stand-in (e.g. drawing shots from a simulated state): it is
        left out of the host clock, like the simulator calls themselves."""
        lane = self._enter()
        try:
            yield
        finally:
            self._leave(lane)

    # -- submitting --------------------------------------------------------------------------------
    def _pack(self, circuits: Sequence[CircuitSpec], shots: int) -> list[list[CircuitSpec]]:
        per_job = circuits_per_job(shots, self.max_circuits, self.max_shots)
        return [list(circuits[i : i + per_job]) for i in range(0, len(circuits), per_job)]

    def _check(self, circuits: Sequence[CircuitSpec], shots: int) -> None:
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 0:
            raise QscaleUserError(f"shots must be a non-negative integer, got {shots!r}")
        if shots > self.max_shots:
            raise QscaleUserError(f"{shots} shots exceed the {self.max_shots} executions one job may hold")
        if not circuits:
            raise QscaleUserError("submit at least one circuit")
        widest = max(c.qubits for c in circuits)
        if widest > self.device.max_qubits.value:
            raise QscaleUserError(
                f"a circuit of {widest} qubits is wider than {self.device.key} ({int(self.device.max_qubits.value)})"
            )

    def submit(
        self,
        circuits: Sequence[CircuitSpec],
        shots: int,
        execute: Execute | None = None,
        combine: Combine | None = None,
    ) -> RuntimeFuture:
        """Queue `circuits` (each run `shots` times; 0 = exact) and return at once with a Future of the results."""
        self._check(circuits, shots)
        lane = self._enter()
        try:
            with self._lock:
                sub = self._submissions
                self._submissions += 1
                jobs = []
                for part in self._pack(circuits, shots):
                    rec = JobRecord(
                        len(self.jobs), sub, lane.name, len(part), shots, max(c.qubits for c in part), submit_s=lane.v
                    )
                    self.jobs.append(rec)
                    jobs.append((rec, part))
            fut = RuntimeFuture(self, [r for r, _ in jobs])
            self._pool.submit(self._run, fut, jobs, shots, execute or self.execute, combine or concat)
        finally:
            self._leave(lane)
        return fut

    def run(
        self,
        circuits: Sequence[CircuitSpec],
        shots: int,
        execute: Execute | None = None,
        combine: Combine | None = None,
    ) -> Any:
        """submit(...).result(): the synchronous form."""
        return self.submit(circuits, shots, execute, combine).result()

    def _run(
        self,
        fut: RuntimeFuture,
        jobs: list[tuple[JobRecord, list[CircuitSpec]]],
        shots: int,
        execute: Execute,
        combine: Combine,
    ) -> None:
        try:
            parts = [self._attempt(rec, part, shots, execute) for rec, part in jobs]
            fut.set_result(combine(parts))
        except BaseException as exc:  # the caller sees the last error when it asks for the result
            fut.set_exception(exc)

    def _attempt(self, rec: JobRecord, part: list[CircuitSpec], shots: int, execute: Execute) -> Any:
        latency = self._p("latency_s")
        with self._lock:
            ready = rec.submit_s + latency / 2
            if self.queue and not self._queued:
                ready += self._p("queue_s")
                self._queued = True
        while True:
            t = time.perf_counter()
            try:
                value = execute(part, shots)
                error = None
            except Exception as exc:  # any backend failure is retried, then re-raised
                value, error = None, exc
            rec.simulate_s += time.perf_counter() - t
            with self._lock:
                end = self._schedule(rec, part, ready)
                rec.attempts += 1
                rec.return_s = end + latency / 2
                if error is None:
                    rec.status = "done"
                    return value
                rec.errors.append(f"{type(error).__name__}: {error}")
                if rec.attempts > self.max_retries:
                    rec.status = "failed"
                    raise error
                rec.status = "retrying"
                ready = end  # the retry is resubmitted when the failure is known

    # -- results -----------------------------------------------------------------------------------
    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:  # close every host lane at its last activity
            for lane in self._lanes.values():
                if lane.last_real is not None:
                    busy = time.perf_counter() - lane.last_real
                    lane.spans.append((lane.v, lane.v + busy, "work"))
                    lane.v += busy
                    lane.last_real = None

    def __enter__(self) -> HybridRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def timeline(self) -> dict[str, Any]:
        """Every job and host span, on the modelled clock, with each side's utilisation."""
        with self._lock:
            jobs = [asdict(j) for j in self.jobs]
            lanes = {lane.name: [list(s) for s in lane.spans] for lane in self._lanes.values()}
        end = max([j["return_s"] for j in jobs] + [s[1] for spans in lanes.values() for s in spans] + [0.0])
        qpu_busy = sum(j["end_s"] - j["start_s"] for j in jobs)
        host_busy = {name: sum(b - a for a, b, kind in spans if kind == "work") for name, spans in lanes.items()}
        return {
            "device": self.device.key,
            "device_name": self.device.name,
            "scenario": self.scenario,
            "clocks": {
                "host": "measured: perf_counter per calling thread, minus its time inside the runtime",
                "device": "modelled: qscale/coproc/devices.toml (job overhead on parallel lanes, then the QPU, FIFO)",
            },
            "limits": {
                "max_circuits_per_job": self.max_circuits,
                "max_shots_per_job": self.max_shots,
                "lanes": int(self.device.lanes.value),
                "max_retries": self.max_retries,
            },
            "jobs": jobs,
            "host": lanes,
            "makespan_s": end,
            "submissions": self._submissions,
            "circuits": sum(j["circuits"] for j in jobs),
            "attempts": sum(j["attempts"] for j in jobs),
            "device_s": sum(j["device_s"] for j in jobs),
            "simulate_s": sum(j["simulate_s"] for j in jobs),
            "utilisation": {
                "qpu": qpu_busy / end if end > 0 else 0.0,
                "host": {k: v / end if end > 0 else 0.0 for k, v in host_busy.items()},
            },
            "host_work_s": host_busy,
            "kind": "measured host time, modelled device time",
        }


def circuits_per_job(shots: int, max_circuits: int, max_shots: int) -> int:
    """The packing rule: as many circuits as the circuit cap and the execution cap (circuits x shots) allow."""
    return min(max_circuits, max(1, max_shots // shots)) if shots else max_circuits


def jobs_needed(circuits: int, shots: int, max_circuits: int, max_shots: int) -> int:
    """Jobs one submission of `circuits` circuits x `shots` shots packs into."""
    return math.ceil(circuits / circuits_per_job(shots, max_circuits, max_shots))
