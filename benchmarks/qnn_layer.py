"""QNN layer forward + backward, side by side: qscale QuantumLayer vs PennyLane and TorchQuantum.

Model (the same everywhere): AngleEmbedding(rotation="X") of n features on n qubits, 4 StronglyEntanglingLayers
(Rot(φ,θ,ω) = RZ(ω)RY(θ)RZ(φ) on every qubit, then CNOT i -> (i+r) mod n, r = (l mod (n-1)) + 1), read-out
<Z_i> for every qubit. The same inputs x (B, n) and weights (4, n, 3) go to every simulator.

Timed: one training step's quantum part on a batch: out = layer(x); (out * g).sum().backward() with a fixed
cotangent g; samples/s = B / median wall time (CPU time is recorded too, since the machine may be shared).
- qscale: `qscale.qnn.QuantumLayer(n, 4)` in complex64 (the main venv);
- PennyLane 0.45 `default.qubit` with diff_method="backprop" through `qml.qnn.TorchLayer` (parameter
  broadcasting over the batch), and `lightning.qubit` with diff_method="adjoint" (one circuit per sample):
  .bench-venvs/peers;
- TorchQuantum 0.1.8 (`tq.QuantumDevice` + `torchquantum.functional` gates + `expval`): .bench-venvs/torchquantum.
Agreement: every peer's outputs and weight gradients are compared with qscale's (max abs difference).

    python benchmarks/qnn_layer.py [--n 4,8,12,16] [--batch 256] [--peer-batch 16:32] [--only qscale,pennylane]
        [--threads 2] [--gpu] [--note TEXT] [--name NAME]     # writes benchmarks/results/qnn_layer/NAME.json
    python benchmarks/qnn_layer.py --render                    # rewrites the QNN section of docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import BENCH_DIR, ROOT, VENVS, emit, log, machine_info, median, run_worker, set_threads, versions

SIMULATORS = ("qscale", "pennylane", "lightning", "torchquantum")
LABELS = {
    "qscale": "qscale",
    "pennylane": "PennyLane default.qubit",
    "lightning": "PennyLane lightning.qubit",
    "torchquantum": "TorchQuantum",
}
WORKER_VENV: dict[str, str | None] = {
    "qscale": None,
    "pennylane": "peers",
    "lightning": "peers",
    "torchquantum": "torchquantum",
}
LAYERS = 4
RESULTS = BENCH_DIR / "results" / "qnn_layer"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- BEGIN qnn-layer (benchmarks/qnn_layer.py --render) -->", "<!-- END qnn-layer -->"
AGREE_TOL = 1e-3  # float32 peers: outputs and gradients agree to ~1e-5; 1e-3 flags a real mismatch


# ----------------------------------------------------------------------------------------------- workers
def _timed_steps(step, job: dict[str, Any], sync=None) -> dict[str, Any]:
    """Warm-up calls, then repeats until `repeats` are done or `min_time_s` has passed (at least one)."""
    for _ in range(job["warmup"]):
        step()
    wall, cpu = [], []
    t_start = time.perf_counter()
    while len(wall) < job["repeats"] and (not wall or time.perf_counter() - t_start < job["max_time_s"]):
        c0, t0 = time.process_time(), time.perf_counter()
        step()
        if sync:
            sync()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"seconds": wall, "cpu_seconds": cpu}


def _torch_step(layer, weights, x, g):
    def step():
        weights.grad = None
        out = layer(x)
        (out * g).sum().backward()
        return out

    return step


def _worker_qscale(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    from qscale.qnn import QuantumLayer

    torch.set_num_threads(job["threads"]) if job["threads"] else None
    device = torch.device(job["device"])
    n = job["n"]
    layer = QuantumLayer(n, LAYERS, encoding="angle_x", ansatz="strongly_entangling").to(device)
    with torch.no_grad():
        layer.weights.copy_(torch.tensor(job["weights"], dtype=torch.float32))
    x = torch.tensor(job["x"], dtype=torch.float32, device=device)
    g = torch.tensor(job["g"], dtype=torch.float32, device=device)
    step = _torch_step(layer, layer.weights, x, g)
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    timing = _timed_steps(step, job, sync)
    out = step()
    flops = layer._plan(device).flops_per_sample()
    return {
        **timing,
        "backend": f"qscale.qnn.QuantumLayer(n, 4), complex64, device={device}",
        "threads": torch.get_num_threads(),
        "flops_per_sample": flops,
        "versions": versions(["torch", "numpy", "qscale"]),
        "out": out.detach().cpu().double().numpy(),
        "grad": layer.weights.grad.detach().cpu().double().numpy(),
    }


def _worker_pennylane(job: dict[str, Any], device_name: str) -> dict[str, Any]:
    import pennylane as qml
    import torch

    torch.set_num_threads(job["threads"]) if job["threads"] else None
    n = job["n"]
    dev = qml.device(device_name, wires=n)
    diff = "backprop" if device_name == "default.qubit" else "adjoint"

    @qml.qnode(dev, interface="torch", diff_method=diff)
    def circuit(inputs, weights):
        qml.AngleEmbedding(inputs, wires=range(n), rotation="X")
        qml.StronglyEntanglingLayers(weights, wires=range(n))
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    layer = qml.qnn.TorchLayer(circuit, {"weights": (LAYERS, n, 3)})
    with torch.no_grad():
        layer.weights.copy_(torch.tensor(job["weights"], dtype=layer.weights.dtype))
    x = torch.tensor(job["x"], dtype=torch.float32)
    g = torch.tensor(job["g"], dtype=torch.float32)
    step = _torch_step(layer, layer.weights, x, g)
    timing = _timed_steps(step, job)
    out = step()
    return {
        **timing,
        "backend": f"qml.qnn.TorchLayer on {device_name}, diff_method={diff}, float32 inputs and weights"
        + (", parameter broadcasting over the batch" if diff == "backprop" else ", one circuit per sample"),
        "threads": torch.get_num_threads() if diff == "backprop" else os.environ.get("OMP_NUM_THREADS", "default"),
        "versions": versions(["pennylane", "pennylane-lightning", "torch", "numpy"]),
        "out": out.detach().double().numpy(),
        "grad": layer.weights.grad.detach().double().numpy(),
    }


def _stub_torchvision() -> None:
    """TorchQuantum 0.1.8 imports torchvision only for its datasets (MNIST, CIFAR); PyPI's torchvision wheels
    need CUDA torch, so the venv has none and these imports get an inert stand-in. No code path timed here
    touches it."""
    import types

    class _Any:
        def __getattr__(self, name: str):
            if name.startswith("__"):
                raise AttributeError(name)
            return _Any()

        def __call__(self, *a, **k):
            return _Any()

        def __mro_entries__(self, bases):
            return (object,)

    def _module_getattr(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Any()

    for name in ("torchvision", "torchvision.datasets", "torchvision.transforms", "torchvision.datasets.utils"):
        mod = types.ModuleType(name)
        mod.__getattr__ = _module_getattr  # type: ignore[method-assign]
        mod.__file__ = "<stub: torchvision not installed>"
        sys.modules[name] = mod


def _worker_torchquantum(job: dict[str, Any]) -> dict[str, Any]:
    import warnings

    warnings.filterwarnings("ignore")
    _stub_torchvision()
    import torch
    import torchquantum as tq
    import torchquantum.functional as tqf

    torch.set_num_threads(job["threads"]) if job["threads"] else None
    n, B = job["n"], len(job["x"])
    weights = torch.nn.Parameter(torch.tensor(job["weights"], dtype=torch.float32))
    ranges = [(layer % (n - 1)) + 1 if n > 1 else 0 for layer in range(LAYERS)]

    def layer(x):
        qdev = tq.QuantumDevice(n_wires=n, bsz=B, device="cpu")
        for i in range(n):
            tqf.rx(qdev, wires=i, params=x[:, i])
        for li in range(LAYERS):
            for q in range(n):
                tqf.rot(qdev, wires=q, params=weights[li, q].unsqueeze(0))
            if n > 1:
                for i in range(n):
                    tqf.cnot(qdev, wires=[i, (i + ranges[li]) % n])
        return tq.measurements.expval(qdev, list(range(n)), [tq.PauliZ()] * n)

    x = torch.tensor(job["x"], dtype=torch.float32)
    g = torch.tensor(job["g"], dtype=torch.float32)
    step = _torch_step(layer, weights, x, g)
    timing = _timed_steps(step, job)
    out = step()
    return {
        **timing,
        "backend": "tq.QuantumDevice + torchquantum.functional rx/rot/cnot + measurements.expval, complex64, autograd",
        "threads": torch.get_num_threads(),
        "versions": versions(["torchquantum", "torch", "numpy", "qiskit"]),
        "out": out.detach().double().numpy(),
        "grad": weights.grad.detach().double().numpy(),
    }


def _run_worker_here(sim: str, job: dict[str, Any]) -> dict[str, Any]:
    if sim == "qscale":
        return _worker_qscale(job)
    if sim == "pennylane":
        return _worker_pennylane(job, "default.qubit")
    if sim == "lightning":
        return _worker_pennylane(job, "lightning.qubit")
    return _worker_torchquantum(job)


# -------------------------------------------------------------------------------------------------- runs
def peak_fp32(machine: dict[str, Any], cores: int) -> dict[str, Any]:
    """Assumed FP32 peak: cores x clock x FLOP/cycle for the SIMD units the flags show (an assumption, stated)."""
    info = {"cores": cores}
    mhz, source = None, "unknown"
    try:
        import subprocess

        for ln in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if ln.startswith("CPU max MHz"):
                mhz, source = float(ln.split(":")[1]), "lscpu CPU max MHz"
            elif ln.startswith("BogoMIPS") and mhz is None:
                mhz, source = float(ln.split(":")[1]) / 2, "BogoMIPS/2 = TSC (base) clock"
            elif ln.startswith("Vendor ID"):
                info["vendor"] = ln.split(":")[1].strip()
    except (OSError, ValueError):
        pass
    simd = machine.get("simd", [])
    if "avx512f" in simd and info.get("vendor") == "AuthenticAMD":
        fpc, why = 32, "AMD Zen 4: 2 FMA pipes x 256-bit (AVX-512 double-pumped) = 16 FP32 FMA = 32 FLOP/cycle"
    elif "avx512f" in simd:
        fpc, why = 64, "2 AVX-512 FMA units x 16 FP32 lanes x 2 = 64 FLOP/cycle (assumed: Xeon with 2 FMA ports)"
    elif "avx2" in simd and "fma" in simd:
        fpc, why = 32, "2 AVX2 FMA units x 8 FP32 lanes x 2 = 32 FLOP/cycle"
    else:
        fpc, why = 16, "SSE/AVX without FMA: 16 FLOP/cycle (assumed)"
    ghz = (mhz or 0.0) / 1000
    info.update({"ghz": ghz, "flop_per_cycle": fpc, "assumption": why, "gflops": cores * ghz * fpc})
    info["clock_source"] = source
    return info


def run_row(
    n: int, batch: int, peer_batch: int, sims: tuple[str, ...], job_base: dict[str, Any], timeout_s: float
) -> dict[str, Any]:
    rng = np.random.default_rng(job_base["seed"] + n)
    x = rng.uniform(0, np.pi, size=(batch, n))
    w = rng.uniform(0, 2 * np.pi, size=(LAYERS, n, 3))
    g = rng.normal(size=(batch, n))
    results: dict[str, Any] = {}
    arrays: dict[str, dict[str, np.ndarray]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for sim in sims:
            b = batch if sim == "qscale" else min(peer_batch, batch)
            job = {**job_base, "n": n, "x": x[:b].tolist(), "weights": w.tolist(), "g": g[:b].tolist(), "out_dir": tmp}
            if sim != "qscale":
                job["device"] = "cpu"
            job_file = Path(tmp) / f"job-{sim}.json"
            job_file.write_text(json.dumps(job))
            venv = WORKER_VENV[sim]
            python = sys.executable if venv is None else VENVS / venv / "bin" / "python"
            if venv is not None and not Path(python).exists():
                res = {"error": f"{python} missing: run benchmarks/setup_peers.sh {venv}"}
            else:
                log(f"[qnn_layer] n={n} batch={b} {sim} ...")
                res = run_worker(python, Path(__file__), ["--worker", sim, "--job", str(job_file)], timeout_s)
            res["batch"] = b
            if "seconds" in res:
                res["median_s"] = median(res["seconds"])
                res["median_cpu_s"] = median(res["cpu_seconds"])
                res["samples_per_s"] = b / res["median_s"]
                res["samples_per_cpu_s"] = b / res["median_cpu_s"]
                arrays[sim] = {k: np.load(res.pop(f"{k}_file")) for k in ("out", "grad")}
                log(f"[qnn_layer] {sim}: {res['samples_per_s']:.0f} samples/s ({res['median_s']:.3f} s per step)")
            else:
                log(f"[qnn_layer] {sim}: FAILED {res.get('error')}")
            results[sim] = res
    if "qscale" in arrays:
        ref = arrays["qscale"]
        for sim, arr in arrays.items():
            if sim == "qscale":
                continue
            b = arr["out"].shape[0]
            results[sim]["max_abs_dev_out"] = float(np.abs(arr["out"] - ref["out"][:b]).max())
            if b == ref["out"].shape[0]:
                results[sim]["max_abs_dev_grad"] = float(np.abs(arr["grad"] - ref["grad"]).max())
            else:  # a smaller peer batch: compare with qscale's gradient of the same rows
                results[sim]["max_abs_dev_grad"] = None
        base = results["qscale"].get("samples_per_s")
        for sim, res in results.items():
            if base and res.get("samples_per_s") and sim != "qscale":
                res["qscale_speedup"] = base / res["samples_per_s"]
                res["qscale_speedup_cpu_time"] = results["qscale"]["samples_per_cpu_s"] / res["samples_per_cpu_s"]
    devs = [r[k] for r in results.values() for k in ("max_abs_dev_out", "max_abs_dev_grad") if r.get(k) is not None]
    return {"n": n, "layers": LAYERS, "batch": batch, "results": results, "agree": all(d <= AGREE_TOL for d in devs)}


# -------------------------------------------------------------------------------------------------- docs
def _rate(res: dict[str, Any] | None) -> str:
    if not res:
        return "not run"
    if "samples_per_s" not in res:
        return "error"
    s = f"{res['samples_per_s']:,.0f}"
    if res.get("batch") and res.get("batch_row") and res["batch"] != res["batch_row"]:
        s += f" (B={res['batch']})"
    if res.get("qscale_speedup"):
        s += f" (qscale ×{res['qscale_speedup']:,.0f})"
    return s


def render_section(runs: list[dict[str, Any]]) -> str:
    lines = [
        BEGIN,
        "## QNN layer: forward + backward (benchmarks/qnn_layer.py)",
        "",
        "AngleEmbedding(X) + 4 StronglyEntanglingLayers + ⟨Z_i⟩ on every qubit, the same inputs and weights"
        " for every simulator; timed: `out = layer(x); (out·g).sum().backward()` on one batch. Figures are"
        " **measured** samples per second of wall time (median of the repeats); (qscale ×r) = qscale's rate /"
        " the peer's. Agreement: max |Δ| of outputs and weight gradients against qscale's in the same run.",
        "FLOPs are those of qscale's own program (`ExactPlan.flops_per_sample`: on CPU the kernels' rotations,"
        " phases, product state and read-out; on CUDA the torch program's block GEMMs and diagonals; gathers"
        " count zero), as stored with each run; the peak is an assumption stated per run, for the cores the"
        " run used.",
        "",
        "How qscale gets there (`src/qscale/qnn/layer/numba_kernels.py`, `adjoint.py`, `kernel.py`): the encoded "
        "input and the first layer's rotations form a product state built from per-qubit 2-vectors; every Rot = "
        "RZ·RY·RZ is split so that all diagonal parts between two RY layers (RZ angles, CZ signs, carried through the "
        "CNOT permutation) become one weight-only phase vector; the ⟨Z⟩ read-out is |ψ|² times a ±1 table with the "
        "last layer's RZ and CNOTs folded in. On CPU, numba kernels run each chunk of the batch (32-128 samples, 64 at"
        " 12 qubits; one chunk per core at a time) on a planar state of 2^n rows whose lanes are the chunk's samples "
        "(real parts, then imaginary parts), so every inner loop is SIMD over samples: each CNOT pattern and its phase"
        " vector are one gather pass, and the real RY rotations are applied three qubits per pass with 8 rows held in "
        "registers. The backward is the adjoint method: no intermediate state is stored; the final state is un-rotated"
        " beside λ two qubits per pass, with dθ = ½·Σ(λ₁ψ₀ − λ₀ψ₁) taken on the way, and qubit 0's un-rotation shares "
        "its sweep with the inverse gather and phase. State buffers are reused across calls (fresh ones cost a page "
        "fault per 4 KiB, as much as the passes), and the torch glue around the kernels starts no OpenMP team (on a "
        "busy 2-core machine a team's barrier spin halved the 2-thread rate). At 12 qubits and 4 layers this is 3.9 "
        "MFLOP per sample forward + backward (each multiply and add counted once), against about 13 MFLOP for a "
        "gate-by-gate adjoint method (the issue's estimate). On CUDA, and for amplitude encoding, re-uploading or X/Y "
        "read-outs, the same program runs as torch ops: 16x16 Kronecker-block GEMMs with a hand-written backward "
        "(`layer/fused.py`).",
        "",
    ]
    for d in runs:
        m = d["machine"]
        status = d.get("status", "")
        lines += [
            f"### {d['name']} — {m['date_utc'][:10]}{' — ' + status if status else ''}",
            "",
            f"Machine: {m.get('cpu_model')} · {m.get('usable_cpus')} usable cores · {m.get('ram_gib')} GiB RAM"
            f" · L3 {m.get('l3_cache', '?')}{' · GPU: ' + m['gpu'] if m.get('gpu') else ''}",
            f"- Command: `{d['command']}`; threads per simulator: {d.get('threads')}",
        ]
        if d.get("note"):
            lines.append(f"- Note: {d['note']}")
        pk = d.get("peak", {})
        if pk:
            lines.append(
                f"- Assumed FP32 peak: {pk['cores']} cores × {pk['ghz']:.2f} GHz ({pk['clock_source']}) ×"
                f" {pk['flop_per_cycle']} FLOP/cycle = **{pk['gflops']:.0f} GFLOP/s** ({pk['assumption']})"
            )
        lines.append("")
        sims = [s for s in SIMULATORS if any(s in r["results"] for r in d["rows"])]
        lines += [
            "| n | device | batch | " + " | ".join(LABELS[s] for s in sims) + " | max abs Δ (out, grad) | agree |",
            "|---:|:---|---:|" + "---:|" * len(sims) + "---:|:---|",
        ]
        for r in d["rows"]:
            for res in r["results"].values():
                res["batch_row"] = r["batch"]
            devs = [
                max(v for v in (res.get("max_abs_dev_out"), res.get("max_abs_dev_grad")) if v is not None)
                for res in r["results"].values()
                if res.get("max_abs_dev_out") is not None
            ]
            dev = f"{max(devs):.1e}" if devs else "—"
            lines.append(
                f"| {r['n']} | {r.get('device', 'cpu')} | {r['batch']} | "
                + " | ".join(_rate(r["results"].get(s)) for s in sims)
                + f" | {dev} | {'yes' if r['agree'] else '**NO**'} |"
            )
        lines += [
            "",
            "Samples per CPU-second (process CPU time, all threads; less sensitive than wall time to other"
            " load on a shared machine):",
            "",
            "| n | device | " + " | ".join(LABELS[s] for s in sims) + " |",
            "|---:|:---|" + "---:|" * len(sims),
        ]
        for r in d["rows"]:
            cells = []
            for s in sims:
                res = r["results"].get(s, {})
                if "samples_per_cpu_s" not in res:
                    cells.append("—")
                    continue
                ratio = res.get("qscale_speedup_cpu_time")
                cells.append(f"{res['samples_per_cpu_s']:,.0f}" + (f" (qscale ×{ratio:,.0f})" if ratio else ""))
            lines.append(f"| {r['n']} | {r.get('device', 'cpu')} | " + " | ".join(cells) + " |")
        lines += ["", "qscale's arithmetic (forward + backward, FLOPs of its own program):", ""]
        lines += [
            "| n | device | MFLOP/sample | GFLOP/s (wall) | fraction of assumed FP32 peak | GFLOP per CPU-second |",
            "|---:|:---|---:|---:|---:|---:|",
        ]
        for r in d["rows"]:
            q = r["results"].get("qscale", {})
            if "flops_per_sample" not in q or "samples_per_s" not in q:
                continue
            gf = q["flops_per_sample"]["total"] * q["samples_per_s"] / 1e9
            frac = f"{gf / pk['gflops']:.2f}" if pk.get("gflops") and r.get("device", "cpu") == "cpu" else "—"
            mflop = q["flops_per_sample"]["total"] / 1e6
            gf_cpu = q["flops_per_sample"]["total"] * q["samples_per_cpu_s"] / 1e9
            lines.append(f"| {r['n']} | {r.get('device', 'cpu')} | {mflop:.2f} | {gf:.1f} | {frac} | {gf_cpu:.1f} |")
        lines += ["", "Versions and what each timing covers:", ""]
        seen = set()
        for r in d["rows"]:
            for s, res in r["results"].items():
                if "versions" in res and s not in seen:
                    seen.add(s)
                    v = ", ".join(f"{k} {val}" for k, val in res["versions"].items())
                    lines.append(f"- {LABELS[s]}: {res.get('backend')}; threads: {res.get('threads')}; {v}")
        errors = [(s, r["n"], res["error"]) for r in d["rows"] for s, res in r["results"].items() if "error" in res]
        if errors:
            lines += ["", "Errors:", ""] + [f"- {LABELS[s]} n={n}: {e}" for s, n, e in errors]
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def render_docs() -> None:
    runs = [json.loads(f.read_text()) for f in sorted(RESULTS.glob("*.json"))]
    section = render_section(runs)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)
    log(f"[qnn_layer] wrote the QNN section of {DOC.relative_to(ROOT)}")


# -------------------------------------------------------------------------------------------------- main
def _parse_peer_batch(spec: str, batch: int) -> dict[int, int]:
    """'16:32,12:128' -> {16: 32, 12: 128}: a smaller batch for the peers at those sizes (slow peers)."""
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        n, b = part.split(":")
        out[int(n)] = int(b)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", choices=SIMULATORS, help=argparse.SUPPRESS)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--n", default="4,8,12,16", help="qubit counts, comma-separated")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--peer-batch", default="", help="n:B pairs: time the peers on B samples at n (slow peers)")
    ap.add_argument("--only", help=f"comma-separated subset of {','.join(SIMULATORS)}")
    ap.add_argument("--threads", type=int, default=2, help="threads for every simulator (0 = library defaults)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--max-time", type=float, default=60.0, help="stop repeating a simulator after this many s")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per simulator and size")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--gpu", action="store_true", help="add qscale rows on CUDA at 12 and 16 qubits, batch 4096")
    ap.add_argument("--name", help="results file name (default: qnn-<cpu model>)")
    ap.add_argument("--note", default="")
    ap.add_argument("--status", default="", help='a label shown with the run, e.g. "preliminary (machine shared)"')
    ap.add_argument("--render", action="store_true", help="only rewrite the QNN section of docs/benchmarks.md")
    args = ap.parse_args()
    if args.render:
        render_docs()
        return
    if args.worker:
        job = json.loads(Path(args.job).read_text())
        set_threads(job["threads"])  # before any simulator library is imported (OpenMP reads it at load)
        res = _run_worker_here(args.worker, job)
        for k in ("out", "grad"):
            path = Path(job["out_dir"]) / f"{args.worker}-{k}.npy"
            np.save(path, res.pop(k))
            res[f"{k}_file"] = str(path)
        emit(res)
        return
    set_threads(args.threads)
    sims = SIMULATORS if not args.only else tuple(s.strip() for s in args.only.split(",") if s.strip())
    bad = [s for s in sims if s not in SIMULATORS]
    if bad:
        raise SystemExit(f"unknown simulator(s) {bad}; choose from {', '.join(SIMULATORS)}")
    peer_batch = _parse_peer_batch(args.peer_batch, args.batch)
    machine = machine_info()
    job_base = {
        "threads": args.threads,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "max_time_s": args.max_time,
        "seed": args.seed,
        "device": "cpu",
    }
    rows = []
    for n in (int(v) for v in args.n.split(",")):
        row = run_row(n, args.batch, peer_batch.get(n, args.batch), sims, job_base, args.timeout)
        row["device"] = "cpu"
        rows.append(row)
    if args.gpu:
        import torch

        if torch.cuda.is_available():
            machine["gpu"] = torch.cuda.get_device_name(0)
            for n in (12, 16):
                row = run_row(n, 4096, 4096, ("qscale",), {**job_base, "device": "cuda"}, args.timeout)
                row["device"] = "cuda"
                rows.append(row)
        else:
            log("[qnn_layer] --gpu: no CUDA GPU visible to torch; GPU rows skipped")
    cores = args.threads or machine.get("usable_cpus") or 1
    out = {
        "kind": "measured",
        "benchmark": "qnn_layer",
        "command": shlex.join(["python", "benchmarks/qnn_layer.py", *[a for a in sys.argv[1:]]]),
        "note": args.note,
        "status": args.status,
        "threads": args.threads or "library defaults",
        "machine": machine,
        "peak": peak_fp32(machine, min(cores, machine.get("usable_cpus") or cores)),
        "rows": rows,
    }
    name = args.name or "qnn-" + re.sub(r"[^a-z0-9]+", "-", str(machine.get("cpu_model", "cpu")).lower()).strip("-")
    out["name"] = name
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    log(f"[qnn_layer] wrote {path.relative_to(ROOT)}")
    render_docs()
    if not all(r["agree"] for r in rows):
        log("[qnn_layer] SIMULATORS DISAGREE; those rows are void")
        sys.exit(1)


if __name__ == "__main__":
    main()
