"""Study stage: VQE (H2 with and without shot noise, Ising chains vs depth) and a Born machine vs baselines."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from qscale.algorithms.generative.data import load_dataset
from qscale.algorithms.generative.experiment import run_born
from qscale.algorithms.variational.hamiltonians import load_hamiltonian
from qscale.algorithms.variational.vqe import run_vqe
from qscale.figures import Figure, Table, figure_png, pyplot
from qscale.study.config import Strict, StudySection
from qscale.study.registry import Stage
from qscale.study.stage import StageOutput


class GenerativeStage(Strict):
    """VQE on H2 and transverse-field Ising chains; a quantum circuit Born machine beside RBM/MADE/histogram."""

    enabled: bool = True
    vqe_shots: int = Field(2000, ge=1, le=10**7)
    vqe_max_iter: int = Field(150, ge=1, le=10_000)
    ising_qubits: list[Annotated[int, Field(ge=2, le=16)]] = Field(default_factory=lambda: [4, 6], min_length=1)
    ising_depths: list[Annotated[int, Field(ge=1, le=50)]] = Field(default_factory=lambda: [1, 2, 3], min_length=1)
    ising_ansatz: Literal["hea", "qaoa"] = "hea"
    ising_max_iter: int = Field(500, ge=1, le=100_000)
    born_dataset: str = "bas:3x3"
    born_qubits: int = Field(6, ge=1, le=12)
    born_depth: int = Field(6, ge=1, le=50)
    born_steps: int = Field(300, ge=0, le=100_000)
    born_restarts: int = Field(2, ge=1, le=100)

    def quick(self) -> GenerativeStage:
        return self.model_copy(
            update={
                "vqe_shots": min(self.vqe_shots, 1000),
                "vqe_max_iter": min(self.vqe_max_iter, 60),
                "ising_qubits": [min(self.ising_qubits)],
                "ising_depths": sorted(self.ising_depths)[:2],
                "ising_max_iter": min(self.ising_max_iter, 100),
                "born_dataset": "bas:2x2" if self.born_dataset.startswith("bas") else self.born_dataset,
                "born_qubits": min(self.born_qubits, 4),
                "born_depth": min(self.born_depth, 3),
                "born_steps": min(self.born_steps, 100),
                "born_restarts": 1,
            }
        )


_KEEP = ("energy", "exact_energy", "error", "iterations", "evaluations", "parameters", "seconds", "kind",
         "ansatz", "optimizer", "shots", "gradient")


def run(cfg: GenerativeStage, study: StudySection, progress) -> StageOutput:
    seed, device = study.seed, study.device
    h2 = load_hamiltonian("h2")
    progress("generative: VQE on H2, exact energies")
    h2_runs = {"exact": run_vqe(h2, "hea", 1, "lbfgs", 0, 2, 300, seed=seed, device=device).to_json()}
    progress(f"generative: VQE on H2 with {cfg.vqe_shots} shots per measurement group")
    h2_runs["shots, parameter shift"] = run_vqe(h2, "chemistry", 1, "adam", cfg.vqe_shots, 1, cfg.vqe_max_iter,
                                                lr=0.1, seed=seed, device=device).to_json()
    h2_runs["shots, SPSA"] = run_vqe(h2, "hea", 1, "spsa", cfg.vqe_shots, 1, cfg.vqe_max_iter, seed=seed,
                                     device=device).to_json()

    ising: list[dict] = []
    for n in sorted(set(cfg.ising_qubits)):
        ham = load_hamiltonian(f"tfim:{n}")
        for depth in sorted(set(cfg.ising_depths)):
            progress(f"generative: VQE on a {n}-qubit Ising chain, depth {depth}")
            r = run_vqe(ham, cfg.ising_ansatz, depth, "lbfgs", 0, 2, cfg.ising_max_iter, seed=seed,
                        device=device).to_json()
            ising.append({"n_qubits": n, "depth": depth, **{k: r[k] for k in _KEEP}})

    progress(f"generative: Born machine on {cfg.born_dataset}")
    ds = load_dataset(cfg.born_dataset, seed=seed, qubits=cfg.born_qubits)
    fitted = run_born(ds, depth=cfg.born_depth, steps=cfg.born_steps, restarts=cfg.born_restarts, seed=seed,
                      device=device)
    born = fitted.to_json()
    dists = {"QCBM (simulated)": fitted.model.probabilities(), **{b.name: b.probs_ for b in fitted.baselines.values()}}

    summary = {
        "h2": {name: {k: r[k] for k in _KEEP} for name, r in h2_runs.items()},
        "ising": ising,
        "born": {k: v for k, v in born.items() if k != "loss_trace"},
    }
    return StageOutput(
        name="generative",
        title="VQE and quantum generative models",
        summary=summary,
        figures=[_distribution_plot(ds, dists), _ising_plot(ising), _trace_plot(h2_runs)],
        tables=[_h2_table(h2_runs), _ising_table(ising), _born_table(born)],
        notes=[
            "All quantum figures are simulated (exact state vectors on this machine); their times are simulation "
            "times, not quantum run times. Classical baselines are measured on the same machine.",
            "With shots, the optimizer only saw sampled energies; the reported energy is the exact expectation of "
            "the parameters it returned.",
            f"Born machine data: {ds.description}.",
        ],
    )


def _h2_table(runs: dict) -> Table:
    rows = [[name, r["ansatz"], r["optimizer"], r["shots"] or "exact", f"{r['energy']:.6f}", f"{r['error'] * 1e3:.3f}",
             r["evaluations"], f"{r['seconds']:.2f}"] for name, r in runs.items()]
    return Table("VQE on H2 (STO-3G, 0.735 Å; exact −1.857275 Ha; chemical accuracy 1.6 mHa) [simulated]",
                 ["run", "ansatz", "optimizer", "shots", "energy (Ha)", "error (mHa)", "evaluations", "seconds"], rows)


def _ising_table(ising: list[dict]) -> Table:
    rows = [[r["n_qubits"], r["depth"], r["parameters"], f"{r['exact_energy']:.6f}", f"{r['error']:.2e}",
             f"{r['seconds']:.2f}"] for r in ising]
    return Table("VQE on transverse-field Ising chains (J = h = 1, open), error vs depth [simulated]",
                 ["qubits", "depth", "parameters", "exact energy", "error", "seconds"], rows)


def _born_table(born: dict) -> Table:
    def row(name: str, r: dict, kind: str) -> list:
        valid = "-" if r["valid_fraction"] is None else f"{r['valid_fraction']:.3f}"
        return [name, f"{r['kl']:.4f}", f"{r['heldout_nll']:.4f}", valid, r["parameters"], f"{r['seconds']:.2f}", kind]

    rows = [row("QCBM", born, "simulated")]
    rows += [row(b["model"], b, "measured") for b in born.get("classical_baselines", {}).values()]
    return Table(f"Born machine vs classical models on {born['dataset']} (KL to the {born['kl_target']})",
                 ["model", "KL", "held-out NLL", "valid fraction", "parameters", "seconds", "kind"], rows)


def _distribution_plot(ds, dists: dict) -> Figure:
    plt = pyplot()

    if ds.valid is not None:
        keep = np.flatnonzero(ds.valid)
        names = [format(int(i), f"0{ds.n_bits}b") for i in keep] + ["all invalid"]

        def bars(p: np.ndarray) -> np.ndarray:
            return np.append(p[keep], p[~ds.valid].sum())
    else:
        keep = np.argsort(-ds.target)[:16]
        names = [repr(ds.labels[int(i)]) for i in keep]

        def bars(p: np.ndarray) -> np.ndarray:
            return p[keep]

    fig, ax = plt.subplots(figsize=(8, 3.8))
    series = {f"target ({ds.target_kind})": ds.target, **dists}
    width = 0.8 / len(series)
    x = np.arange(len(names))
    for k, (label, p) in enumerate(series.items()):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, bars(np.asarray(p)), width, label=label)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=70, fontsize=7)
    ax.set_ylabel("probability")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    return Figure(f"Learned vs true distribution: {ds.name}", figure_png(fig),
                  "Probabilities of the target, the Born machine (simulated) and the classical models (measured).")


def _ising_plot(ising: list[dict]) -> Figure:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for n in sorted({r["n_qubits"] for r in ising}):
        pts = [(r["depth"], max(r["error"], 1e-16)) for r in ising if r["n_qubits"] == n]
        ax.semilogy(*zip(*pts, strict=True), "o-", label=f"{n} qubits")
    ax.set_xlabel("ansatz depth")
    ax.set_ylabel("energy error (VQE − exact)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return Figure("VQE error vs depth on Ising chains", figure_png(fig),
                  "Simulated VQE energy minus the exact ground energy (sparse diagonalisation).")


def _trace_plot(runs: dict) -> Figure:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for name, r in runs.items():
        ax.plot(np.arange(1, len(r["trace"]) + 1), r["trace"], label=name)
    ax.axhline(runs["exact"]["exact_energy"], color="k", linestyle=":", label="exact")
    ax.set_xlabel("iteration")
    ax.set_ylabel("energy seen by the optimizer (Ha)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return Figure("VQE on H2: energy per iteration", figure_png(fig),
                  "Exact energies (autograd) and shot estimates (parameter shift, SPSA) as the optimizer saw them.")


STAGE = Stage("generative", GenerativeStage, run)
