"""Each task's quantum workload, measured from qscale's own (small) run of that task, then scaled to the full task.

Why measured: the circuits, qubits, depth and the number of dependent rounds decide what a QPU costs, and typing
them in by hand is how estimates drift from what the code does. Every probe below hands qscale's driver a
recording executor (recording.py) around the exact simulator, so the hybrid runtime (runtime.py) counts and times
its circuits; only the documented scale factors (rows of a layer, layers of a model, steps of a full run) are
applied afterwards, and each Workload's `source` says which. The classical best on the same data is timed in the
same probe (energy by qscale's EnergyLedger).

Registered tasks: quantize (per layer and per model), vqe-h2, born, qpca, qnn-step and qnn-token (quantum adapters
in SmolLM2: qnn_workloads.py); `register(name, description, probe)` adds a probe without touching the planner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from qscale.coproc.pricing import Workload
from qscale.coproc.recording import RecordingExecutor
from qscale.coproc.runtime import HybridRuntime
from qscale.errors import QscaleUserError

Probe = Callable[[], list[Workload]]
NOISY_NOTE = (
    "quantum quality: exact simulation for the ideal and fault-tolerant rows; the heron row's quality is the same "
    "circuits run under the ibm_fez (Heron r2) noise snapshot with qiskit-aer (qscale.primitives fake_fez); other "
    "NISQ rows have no noise snapshot and keep the exact figure beside their fidelity_estimate"
)
QUALITY_NOTE = (
    "quantum quality from qscale's exact simulator: no noisy-model backend (qscale.primitives, fake_<device>) is "
    "in this build, so it is an upper bound for today's devices; fidelity_estimate on each NISQ row says how far "
    "gate errors alone would pull it down"
)


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    probe: Probe | None
    unavailable: str = ""


_TASKS: dict[str, Task] = {}
_TIMELINES: dict[str, dict[str, Any]] = {}  # the runtime timeline of each task's last probe run


def probe_timeline(name: str) -> dict[str, Any] | None:
    return _TIMELINES.get(name)


def register(name: str, description: str, probe: Probe | None, unavailable: str = "") -> None:
    """Add (or replace) a task: `probe` returns the task's Workloads; None marks it not available here."""
    _TASKS[name] = Task(name, description, probe, unavailable)


def tasks() -> dict[str, Task]:
    return dict(_TASKS)


def measure(name: str) -> list[Workload]:
    """The task's workloads (cached per process: a probe runs qscale's driver once)."""
    if name not in _TASKS:
        raise QscaleUserError(f"unknown task {name!r}; known: {', '.join(_TASKS)}")
    task = _TASKS[name]
    if task.probe is None:
        raise QscaleUserError(f"task {name!r} is not available in this build: {task.unavailable}")
    return _measured(name)


@cache
def _measured(name: str) -> list[Workload]:
    return _TASKS[name].probe()  # type: ignore[misc]


def _host_per_round(rt: HybridRuntime, task: str) -> tuple[dict[str, Any], float]:
    tl = rt.timeline()
    _TIMELINES[task] = tl
    rounds = max(tl["submissions"], 1)
    return tl, sum(tl["host_work_s"].values()) / rounds


def _ledgered(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, energy_j) of fn() under qscale's EnergyLedger (measured where counters exist)."""
    from qscale.energy.ledger import EnergyLedger

    with EnergyLedger("classical baseline") as led:
        out = fn()
    d = led.to_dict()
    return out, d["seconds"], d["energy_j"]


# ---------------------------------------------------------------- quantize: block QUBOs of QUBO quantization
QUANT = {"model": "smollm2-135m", "bits": 4, "block": 8, "p": 2, "shots": 256, "refine": 2, "probe_rows": 16,
         "layer": "model.layers.0.self_attn.q_proj", "seq_len": 64, "windows": 4}  # fmt: skip


@cache
def loaded_model() -> Any:
    """The probe's model, loaded once per process (qscale.llm.models.load_causal_lm, float32 on the CPU)."""
    from qscale.llm.models import load_causal_lm

    return load_causal_lm(QUANT["model"], "cpu")


@cache
def _quant_inputs() -> tuple[Any, Any, Any, list[tuple[str, tuple[int, int]]]]:
    """SmolLM2's q_proj weight of block 0, its calibration Hessian, and every linear layer's shape."""
    import torch

    from qscale.llm.quant.runner import capture_block_inputs, decoder_blocks, record_hessian, select_layers
    from qscale.llm.text import pydoc_split, token_windows

    loaded = loaded_model()
    windows = token_windows(loaded.tokenizer, pydoc_split().calibration, QUANT["seq_len"], QUANT["windows"],
                            "calibration text", seed=0)  # fmt: skip
    _, blocks = decoder_blocks(loaded.model)
    module = loaded.model.get_submodule(QUANT["layer"])
    inputs = capture_block_inputs(loaded.model, blocks[0], windows, QUANT["windows"])
    H = record_hessian(blocks[0], module, inputs)
    shapes = [(n, tuple(loaded.model.get_submodule(n).weight.shape)) for n in select_layers(loaded.model, "*")]
    return module.weight.detach().to(torch.float32).clone(), H, loaded.source, shapes


def probe_quantize() -> list[Workload]:
    from qscale.llm.quant.factory import make_quantizer
    from qscale.llm.quant.solvers import make_solver

    W, H, model_source, shapes = _quant_inputs()
    rows = QUANT["probe_rows"]
    common = {"bits": QUANT["bits"], "block": QUANT["block"], "refine": QUANT["refine"]}
    with HybridRuntime("heron") as rt:
        rec = RecordingExecutor(rt, QUANT["shots"])
        solver = make_solver("qaoa", p=QUANT["p"], shots=QUANT["shots"], seed=0, executor=rec)
        q = make_quantizer("qubo", solver=solver, **common).fit(W[:rows], H)
    tl, host_round = _host_per_round(rt, "quantize")
    assert rec.first is not None and rec.last is not None
    spec, first_problem = rec.last.circuits[0], rec.first.circuits[0].payload[0]
    stats = q.stats_
    n_qubos = stats["block_qubos"] + stats.get("refine_qubos", 0)
    optimal = stats.get("optimal_count", 0) + stats.get("refine_optimal_count", 0)
    # the classical best (exact enumeration in the same GPTQ loop) at two row counts: seconds per dependent round
    # = fixed + per_row x rows (the fixed part, Python and small-tensor overhead, dominates small slices)
    timed = {r: _ledgered(lambda r=r: make_quantizer("qubo", solver="exact", **common).fit(W[:r], H))[1:]
             for r in (rows, 4 * rows)}  # fmt: skip
    cols, rounds = W.shape[1], tl["submissions"]
    (s1, j1), (s4, j4) = timed[rows], timed[4 * rows]
    per_row = max(0.0, (s4 - s1) / (3 * rows)) / rounds
    fixed = max(0.0, s1 / rounds - per_row * rows)
    j_per_s = (j1 + j4) / (s1 + s4)
    n = spec.qubits
    measured = {"rows": rows, "cols": cols, "rounds": rounds, "circuits": tl["circuits"], "block_qubos": n_qubos,
                "host_s": sum(tl["host_work_s"].values()), "classical_s": {str(k): v[0] for k, v in timed.items()},
                "classical_fixed_s_per_round": fixed, "classical_s_per_row_round": per_row,
                "qaoa_optimal_fraction": optimal / max(n_qubos, 1)}  # fmt: skip
    random = stats.get("random_optimal_count", 0) + stats.get("refine_random_optimal_count", 0)
    quality = {"metric": "fraction of block QUBOs solved to the exact optimum", "quantum": optimal / max(n_qubos, 1),
               "classical": 1.0, "higher_is_better": True, "tolerance": 0.0, "kind": "simulated",
               "random_guess": random / max(n_qubos, 1), "note": QUALITY_NOTE}  # fmt: skip
    from qscale.coproc import quality as noisy_quality

    noisy = noisy_quality.quantize_rows(first_problem, solver.angles[spec.qubits], shots=QUANT["shots"])
    if noisy is not None:
        quality["noisy"] = {"device": "heron", "value": noisy["noisy"], "exact_same_rows": noisy["exact"],
                            "rows": noisy["rows"], "backend": noisy["backend"],
                            "kind": f"simulated: {noisy['backend']} noise (qiskit-aer) on the first block's "
                            f"{noisy['rows']} QUBOs (exact on the same: {noisy['exact']:.3g})",
                            "transpiled": noisy[noisy["backend"]]["backend"]}  # fmt: skip
        quality["note"] = NOISY_NOTE

    def workload(scope: str, layer_shapes: list[tuple[int, int]], how: str) -> Workload:
        # dependent rounds scale with columns (blocks x sweeps), circuits per round with rows; classical and host
        # seconds per round with the two-point fit in rows
        its = [(r, round(rounds * c / cols)) for r, c in layer_shapes]
        it = sum(k for _, k in its)
        circ = sum(r * k for r, k in its)
        classical_s = sum(k * (fixed + per_row * r) for r, k in its)
        host_s = sum(k * host_round * (fixed + per_row * r) / (fixed + per_row * rows) for r, k in its)
        return Workload(
            task="quantize", scope=scope, qubits=n, two_qubit_depth=spec.two_qubit_depth,
            two_qubit_gates=spec.two_qubit_gates, rotations=QUANT["p"] * (spec.two_qubit_gates // QUANT["p"] + 2 * n),
            measurements=n, shots=QUANT["shots"], circuits_per_iteration=max(1, round(circ / it)), iterations=it,
            host_s_per_iteration=host_s / it,
            classical={"method": "exact enumeration of every block QUBO (qscale's exact solver), same GPTQ loop",
                       "seconds": classical_s, "energy_j": classical_s * j_per_s,
                       "fixed_s": it * fixed, "kind": "measured (probe at two row counts), scaled"},
            quality=quality,
            source=f"qscale's QUBO quantizer ({QUANT['bits']} bits, blocks of {QUANT['block']}, refine "
            f"{QUANT['refine']}, QAOA p={QUANT['p']}, {QUANT['shots']} shots) on the first {rows} rows of "
            f"{QUANT['layer']} of {QUANT['model']} ({model_source}), circuits counted by the runtime: {rounds} "
            f"dependent rounds of {rows} circuits; the exact solver timed on {rows} and {4 * rows} rows; {how}",
            measured=measured,
        )  # fmt: skip

    layer_shape = [shapes_of(shapes, QUANT["layer"])]
    return [
        workload(f"layer {QUANT['layer']}", layer_shape, f"scaled to the layer's {layer_shape[0][0]} rows"),
        workload(f"model {QUANT['model']} ({len(shapes)} linear layers)", [s for _, s in shapes],
                 "scaled to every linear layer of the model: rounds x columns / probe columns, circuits per round = "
                 "rows; layers run one after another"),
    ]  # fmt: skip


def shapes_of(shapes: list[tuple[str, tuple[int, int]]], name: str) -> tuple[int, int]:
    return next(s for n, s in shapes if n == name)


# ---------------------------------------------------------------- VQE of H2
VQE = {"shots": 10000, "probe_iterations": 5, "optimizer": "adam", "restarts": 3}


def _mixed_energy(op: Any) -> float:
    """<H> on the fully mixed state, Tr(H) / 2^n: the identity terms' coefficients (the fully depolarised limit)."""
    return float(sum(c for label, c in op.terms if set(label) <= {"I"}))


def probe_vqe_h2() -> list[Workload]:
    from qscale.algorithms.variational.hamiltonians import load_hamiltonian
    from qscale.algorithms.variational.vqe import run_vqe

    ham = load_hamiltonian("h2")
    exact_run = run_vqe(ham).to_json()  # qscale's default run: exact simulation, L-BFGS, 3 restarts
    with HybridRuntime("heron") as rt:
        shot_run = run_vqe(ham, shots=VQE["shots"], restarts=1, max_iter=VQE["probe_iterations"],
                           optimizer=VQE["optimizer"],
                           executor=RecordingExecutor(rt, VQE["shots"])).to_json()  # fmt: skip
    tl, _ = _host_per_round(rt, "vqe-h2")
    spec = max(tl["jobs"], key=lambda j: j["qubits"])
    iters = max(shot_run["iterations"], 1)
    depth, gates = _vqe_circuit_counts(ham)
    from qscale.algorithms.variational.ansatz import build_ansatz
    from qscale.coproc import quality as noisy_quality

    noisy = noisy_quality.vqe_energy(build_ansatz("hea", ham.op, 2), exact_run["optimal_parameters"], ham.op,
                                     exact_run["exact_energy"], shots=VQE["shots"])  # fmt: skip
    full_iters = exact_run["iterations"] * VQE["restarts"]
    host = sum(tl["host_work_s"].values()) / iters
    return [
        Workload(
            task="vqe-h2", scope="H2 ground state (2 qubits, hea ansatz depth 2)", qubits=spec["qubits"],
            two_qubit_depth=depth, two_qubit_gates=gates, rotations=shot_run["parameters"],
            measurements=spec["qubits"], shots=VQE["shots"],
            circuits_per_iteration=max(1, round(tl["circuits"] / iters)), iterations=full_iters,
            host_s_per_iteration=host,
            classical={"method": exact_run["classical_baseline"]["method"],
                       "seconds": exact_run["classical_baseline"]["seconds"],
                       "energy_j": exact_run["classical_baseline"]["seconds"] * _cpu_w(),
                       "kind": "measured (seconds); energy at one core's power"},
            quality={"metric": "|E - E_exact| (Ha)", "quantum": abs(exact_run["error"]), "classical": 0.0,
                     "higher_is_better": False, "tolerance": 1.6e-3, "kind": "simulated",
                     "depolarized": abs(_mixed_energy(ham.op) - exact_run["exact_energy"]),
                     "note": (NOISY_NOTE if noisy else QUALITY_NOTE) + "; tolerance = chemical accuracy 1.6 mHa",
                     **({"noisy": {"device": "heron", "value": noisy["error"], "energy": noisy["energy"],
                                   "backend": noisy["backend"], "shots": noisy["shots"],
                                   "kind": f"simulated: {noisy['backend']} noise (qiskit-aer), final parameters",
                                   "transpiled": noisy["summary"]}} if noisy else {})},
            source=f"qscale vqe (h2, hea depth 2) with {VQE['shots']} shots, {iters} {VQE['optimizer']} steps routed "
            f"through the runtime: {tl['circuits']} circuits ({tl['circuits'] // iters} per step: measurement groups x "
            f"parameter-shift rows); full run = qscale's default run's {exact_run['iterations']} L-BFGS iterations "
            f"x {VQE['restarts']} restarts",
            measured={"probe_circuits": tl["circuits"], "probe_iterations": iters,
                      "probe_submissions": tl["submissions"], "exact_run_iterations": exact_run["iterations"],
                      "energy_error_exact_run": exact_run["error"], "shot_run_error": shot_run["error"]},
        )
    ]  # fmt: skip


def _vqe_circuit_counts(ham: Any) -> tuple[int, int]:
    from qscale.algorithms.variational.ansatz import build_ansatz
    from qscale.quantum.circuit import two_qubit_counts

    return two_qubit_counts(build_ansatz("hea", ham.op, 2))


def _cpu_w() -> float:
    from qscale.coproc.pricing import cpu_w

    return cpu_w()


# ---------------------------------------------------------------- Born machine on bars and stripes
BORN = {"data": "bas:3x3", "shots": 1000, "probe_steps": 2, "steps": 300, "restarts": 3, "depth": 6}


def probe_born() -> list[Workload]:
    from qscale.algorithms.generative.data import load_dataset
    from qscale.algorithms.generative.experiment import run_born

    ds = load_dataset(BORN["data"])
    with HybridRuntime("heron") as rt:
        probe = run_born(ds, depth=BORN["depth"], steps=BORN["probe_steps"], restarts=1, loss="mmd",
                         gradient="parameter-shift", shots=BORN["shots"], baselines=False,
                         executor=RecordingExecutor(rt, BORN["shots"]))  # fmt: skip
    r, bm = probe.to_json(), probe.model
    tl, _ = _host_per_round(rt, "born")
    exact, ex_s, ex_j = _ledgered(lambda: run_born(ds, depth=BORN["depth"], steps=BORN["probe_steps"], restarts=1,
                                                   baselines=True))  # fmt: skip
    best = min(exact.to_json()["classical_baselines"].items(), key=lambda kv: kv[1]["kl"])
    steps = BORN["probe_steps"]
    from qscale.quantum.circuit import two_qubit_counts

    depth, gates = two_qubit_counts(bm.circuit_)
    return [
        Workload(
            task="born", scope=f"Born machine on {BORN['data']} ({ds.n_bits} qubits, {BORN['depth']} layers)",
            qubits=ds.n_bits, two_qubit_depth=depth, two_qubit_gates=gates, rotations=bm.n_parameters_,
            measurements=ds.n_bits, shots=BORN["shots"], circuits_per_iteration=max(1, round(tl["circuits"] / steps)),
            iterations=BORN["steps"] * BORN["restarts"],
            host_s_per_iteration=sum(tl["host_work_s"].values()) / steps,
            classical={"method": f"best classical generative baseline on the same data ({best[1]['model']})",
                       "seconds": best[1]["seconds"], "energy_j": best[1]["seconds"] * _cpu_w(),
                       "kind": "measured (seconds); energy at one core's power"},
            quality={"metric": "KL(target || model)", "quantum": None, "classical": best[1]["kl"],
                     "higher_is_better": False, "tolerance": 0.0, "kind": "not measured in the probe",
                     "note": "the probe runs 2 steps only; the Born machine's trained KL is in `qscale born` / the "
                     "study's generative stage"},
            source=f"qscale born ({BORN['data']}, depth {BORN['depth']}, parameter shift, {BORN['shots']} shots) for "
            f"{steps} steps routed through the runtime: {tl['circuits']} circuits; full run = {BORN['steps']} steps x "
            f"{BORN['restarts']} restarts (`qscale born` defaults)",
            measured={"probe_circuits": tl["circuits"], "probe_steps": steps, "circuit_runs_reported":
                      r.get("circuit_runs"), "exact_probe_seconds": ex_s, "exact_probe_energy_j": ex_j},
        )
    ]  # fmt: skip


# ---------------------------------------------------------------- qPCA
QPCA = {"data": "synthetic:384", "k": 8}


def probe_qpca() -> list[Workload]:
    from qscale.algorithms.qpca.circuit import controlled_partial_swap
    from qscale.algorithms.qpca.driver import run_qpca

    r = run_qpca(QPCA["data"], QPCA["k"], method="model").to_json()
    res = r["resources"]
    step = controlled_partial_swap(res["system_qubits"], 0.1)
    t_per_step = sum(1 for op in step.operations if op.name in ("t", "tdg"))
    rot_per_step = sum(1 for op in step.operations if op.angles)
    copies = res["copies_per_qpe_run"]
    exact = (
        r["classical_baselines"]["exact_pca"]
        if "exact_pca" in r["classical_baselines"]
        else next(iter(r["classical_baselines"].values()))
    )
    return [
        Workload(
            task="qpca", scope=f"qPCA of {QPCA['data']} (k = {QPCA['k']})", qubits=res["qubits"],
            two_qubit_depth=res["two_qubit_depth_per_qpe_run"],
            two_qubit_gates=copies * res["dme_step_two_qubit_gates"],
            rotations=copies * rot_per_step, t_count=copies * t_per_step, measurements=res["qubits"],
            shots=res["shots"], circuits_per_iteration=1, iterations=1, host_s_per_iteration=0.0,
            classical={"method": "exact PCA (numpy eigh of the covariance)", "seconds": exact.get("seconds", 0.0),
                       "energy_j": exact.get("seconds", 0.0) * _cpu_w(),
                       "kind": "measured (seconds); energy at one core's power"},
            quality={"metric": "largest principal angle to exact PCA (deg)", "quantum": r["max_principal_angle_deg"],
                     "classical": 0.0, "higher_is_better": False, "tolerance": 1.0, "kind": r["kind"],
                     "note": "qPCA's output statistics from qscale's resource model (not a circuit simulation)"},
            source=f"qscale qpca --data {QPCA['data']} --k {QPCA['k']} --method model: counted resources (qubits, DME "
            f"copies x controlled partial-swap steps, QPE runs incl. tomography); T and rotation counts from the "
            f"step circuit; state preparation (QRAM) not counted: a lower bound",
            measured={k: res[k] for k in ("qubits", "copies_per_qpe_run", "two_qubit_depth_per_qpe_run", "shots")},
        )
    ]  # fmt: skip


def probe_qnn_step() -> list[Workload]:
    from qscale.coproc.qnn_workloads import probe_qnn_step as probe

    return probe(loaded_model())


def probe_qnn_token() -> list[Workload]:
    from qscale.coproc.qnn_workloads import probe_qnn_token as probe

    return probe(loaded_model())


register("quantize", "block QUBOs of QUBO quantization (QAOA), per layer and per model", probe_quantize)
register("vqe-h2", "VQE for the H2 ground state", probe_vqe_h2)
register("born", "Born-machine training on bars and stripes", probe_born)
register("qpca", "quantum PCA of an embedding-width matrix", probe_qpca)
register("qnn-step", "training quantum adapters in SmolLM2 beside LoRA (per step, 60 steps)", probe_qnn_step)
register("qnn-token", "generating tokens through quantum adapters in SmolLM2 beside LoRA", probe_qnn_token)
