"""A Born machine beside classical generative models with the same parameter budget, on one data set.

All models are fitted to the same training samples and scored the same way: KL to the target
distribution, held-out NLL (nats per sample), the valid fraction of drawn samples (bars-and-stripes),
parameter count and wall time. The Born machine's figures are simulated; the baselines' are measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from qscale.algorithms.generative.baselines import MADE, RBM, EmpiricalHistogram, n_hidden_for
from qscale.algorithms.generative.born import BornMachine
from qscale.algorithms.generative.data import GenerativeDataset
from qscale.algorithms.generative.metrics import kl_divergence, nll, valid_fraction
from qscale.io import Result
from qscale.quantum.executor import Executor
from qscale.validation import check_int


@dataclass
class BornResult(Result):
    """`run_born`'s answer: the `qscale born` JSON, the trained model and the fitted classical baselines."""

    model: BornMachine | None = field(default=None, repr=False)
    baselines: dict[str, EmpiricalHistogram | RBM | MADE] = field(default_factory=dict, repr=False)


def score(p: np.ndarray, ds: GenerativeDataset, drawn: np.ndarray) -> dict:
    """The common scores of a model distribution `p` and samples `drawn` from it."""
    out = {
        "kl": kl_divergence(ds.target, p),
        "heldout_nll": nll(ds.heldout, p),
        "train_nll": nll(ds.train, p),
        "valid_fraction": None,
        "valid_probability": None,
    }
    if ds.valid is not None:
        out["valid_fraction"] = valid_fraction(drawn, ds.valid)
        out["valid_probability"] = float(np.sum(p[ds.valid]))
    return out


def fit_baselines(ds: GenerativeDataset, budget: int, seed: int) -> dict:
    """Histogram, RBM and MADE on the training samples; RBM and MADE sized to at most `budget` parameters."""
    n = ds.n_bits
    return {
        "histogram": EmpiricalHistogram(n).fit(ds.train),
        "rbm": RBM(n, n_hidden_for("rbm", n, budget), seed=seed).fit(ds.train),
        "made": MADE(n, n_hidden_for("made", n, budget), seed=seed).fit(ds.train),
    }


def _preview(drawn: np.ndarray, n: int, labels: list[str] | None, k: int = 8) -> list[str]:
    return [labels[int(i)] if labels else format(int(i), f"0{n}b") for i in drawn[:k]]


def run_born(
    ds: GenerativeDataset,
    depth: int = 6,
    steps: int = 300,
    restarts: int = 3,
    lr: float = 0.1,
    loss: str = "mmd+kl",
    bandwidths: Sequence[float] = (0.25, 0.5, 1.0),
    kernel: str = "integer",
    gradient: str = "autograd",
    shots: int = 0,
    samples: int = 1000,
    seed: int = 1,
    device: str = "auto",
    baselines: bool = True,
    backend: str = "exact",
    executor: Executor | None = None,
) -> BornResult:
    """Fit the QCBM (and baselines): the `qscale born` JSON, with the model and the fitted baselines beside it.

    backend: with shots, where training's sampled circuits and the final draws run (qscale.primitives.backends).
    executor: runs every circuit instead (qscale.quantum.executor; e.g. a recording one); None: from `backend`.
    """
    check_int(samples, "--samples", min=1)
    check_int(shots, "--shots", min=0)
    bm = BornMachine(ds.n_bits, depth=depth, steps=steps, restarts=restarts, lr=lr, loss=loss,
                     bandwidths=tuple(bandwidths), kernel=kernel, gradient=gradient, shots=shots or None,
                     seed=seed, device=device, backend=backend, executor=executor).fit(ds.train)
    p = bm.probabilities()
    drawn = bm.sample(samples, np.random.default_rng(seed + 1))
    target_entropy = float(-np.sum(ds.target[ds.target > 0] * np.log(ds.target[ds.target > 0])))
    result: dict = {
        "dataset": ds.name,
        "description": ds.description,
        "n_qubits": ds.n_bits,
        "model": f"quantum circuit Born machine, {depth} strongly-entangling layers",
        "kl_target": ds.target_kind,
        **score(p, ds, drawn),
        "parameters": bm.n_parameters_,
        "mmd2": bm.mmd2_,
        "kl_train": bm.kl_train_,
        "mmd_bandwidths": list(bandwidths),
        "mmd_kernel_space": kernel,
        "loss": loss,
        "loss_trace": bm.loss_trace_,
        "start_losses": bm.start_losses_,
        "steps": steps,
        "restarts": restarts,
        "gradient": gradient,
        "shots": shots or None,
        "samples": samples,
        "sample_preview": _preview(drawn, ds.n_bits, ds.labels),
        "target_entropy": target_entropy,
        "seconds": bm.seconds_,
        "kind": "simulated",
        "simulator": {"device": str(bm.device_), "dtype": "complex128", "backend": "qscale statevector"},
    }
    if gradient == "parameter-shift":  # circuits a quantum computer would have to run
        result["circuit_runs"] = (1 + bm.expanded_.shifted_rows) * steps * restarts + restarts
        if shots:
            result["total_shots"] = result["circuit_runs"] * shots
    if hasattr(bm.executor_, "device_summary"):  # a device: its own draws of the trained circuit
        from qscale.algorithms.generative.backend import backend_scores

        result |= backend_scores(bm, ds, samples, p)
    fitted: dict = {}
    if baselines:
        fitted = fit_baselines(ds, bm.n_parameters_, seed)
        result["classical_baselines"] = {
            key: {
                "model": m.name,
                **score(m.probs_, ds, m.sample(samples, np.random.default_rng(seed + 1))),
                "parameters": m.n_parameters_,
                **({"hidden_units": m.n_hidden} if hasattr(m, "n_hidden") else {}),
                "seconds": m.seconds_,
                "kind": "measured",
            }
            for key, m in fitted.items()
        }
    return BornResult(result, model=bm, baselines=fitted)
