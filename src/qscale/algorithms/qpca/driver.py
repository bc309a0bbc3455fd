"""One qPCA job as the CLI and the study run it: simulated qPCA beside three classical baselines, one result out.

Quality is measured the same way for every method on the same centred data (`quality`); exact PCA's
eigenvectors are the reference for principal angles. Times: classical baselines are measured wall time on
this machine; qPCA's time is simulation time (no speed claim) and its hardware time is projected.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from qscale.algorithms.qpca.baselines import (
    DEFAULT_TANG_SAMPLES,
    Baseline,
    exact_pca,
    l2_sampling_pca,
    randomized_pca,
)
from qscale.algorithms.qpca.data import load_dataset
from qscale.algorithms.qpca.estimator import MAX_SHOTS, METHODS, QuantumPCA
from qscale.algorithms.qpca.quality import quality
from qscale.algorithms.qpca.schedule import DEFAULT_BITS, DEFAULT_SHOTS, plan
from qscale.errors import QscaleUserError
from qscale.io import Result
from qscale.validation import check_choice, check_int


class QpcaResult(Result):
    """`qpca_on` / `run_qpca`'s answer: the `qscale qpca` JSON (quality, resources, baselines, notes, seconds)."""


def _baseline_entry(b: Baseline, q: dict) -> dict:
    return {**q, "seconds": b.seconds, "kind": "measured", "method": b.description, "parameters": b.parameters}


def check_k(k: int, dim: int) -> None:
    check_int(k, "--k", min=1)
    if k > dim:
        raise QscaleUserError(f"--k {k} is larger than the data dimension {dim}")


def qpca_on(
    dataset,
    k: int,
    bits: int = DEFAULT_BITS,
    copies: int | None = None,
    shots: int = DEFAULT_SHOTS,
    method: str = "auto",
    seed: int = 0,
    tang_samples: int = DEFAULT_TANG_SAMPLES,
    device: str = "cpu",
    baselines: bool = True,
    backend: str = "exact",
    executor: Any = None,
) -> QpcaResult:
    """qPCA and (optionally) the baselines on a loaded `data.Dataset`.

    backend: also run one DME step of the circuit method on it (qpca backend module; circuit method only).
    executor: a device executor (qscale.primitives.executor) for that step instead of one built from `backend`.
    The circuit method itself simulates density matrices (qscale.quantum.density), not circuits.
    """
    t0 = time.perf_counter()
    check_k(k, dataset.fit.shape[1])
    if executor is not None and not executor.exact:
        backend = executor.name
    if backend != "exact" and method == "model":
        raise QscaleUserError("--backend runs the circuit method's DME step: use --method circuit (or auto)")
    est = QuantumPCA(k, bits=bits, copies=copies, shots=shots, method=method, seed=seed, device=device).fit(dataset.fit)
    prep = est.prepared_
    exact = exact_pca(prep.centred, k)
    ev = dataset.eval - prep.mean
    q = quality(est.components_, exact.components, prep.covariance, ev)
    lam_exact = np.linalg.eigvalsh(prep.covariance)[::-1] / prep.trace
    fids = (est.components_ @ exact.components.T) ** 2 if est.n_components_found_ else np.zeros((0, k))
    label = (
        "simulated: circuit-level (density-matrix simulation of DME inside phase estimation)"
        if est.method_ == "circuit"
        else "model: resource-model qPCA (the algorithm's output statistics from its error model, evaluated with "
        "numpy.linalg.eigh of rho; not a circuit simulation)"
    )
    result: dict[str, Any] = {
        "data": dataset.name,
        "data_description": dataset.description,
        "preparation": prep.describe(),
        "k": k,
        "method": est.method_,
        "kind": "simulated" if est.method_ == "circuit" else "model",
        "label": label,
        **q,
        "components_found": est.n_components_found_,
        "eigenvalue_estimates": est.eigenvalue_estimates_,
        "eigenvalues_exact_top_k": lam_exact[:k],
        "eigenvector_fidelity_to_nearest_exact": fids.max(1),
        "bins_read": est.bins_,
        "simulation_seconds": est.seconds_,
        "resources": est.resources_,
    }
    if backend != "exact":
        from qscale.algorithms.qpca.backend import dme_step_on_backend

        if est.method_ != "circuit":
            raise QscaleUserError(f"--backend runs the circuit method's DME step, but this data needs the model method "
                                  f"({prep.qubits} system qubits)")
        result["backend"] = dme_step_on_backend(backend, prep.qubits, est.schedule_.dt, est.schedule_.copies,
                                                shots, seed, executor)
    if est.n_components_found_ < k:
        result["warning"] = (
            f"only {est.n_components_found_} distinct eigenvectors were resolved with {bits} bits and {shots} shots; "
            "missing directions count as 90 degree principal angles"
        )
    if baselines:
        others = [
            randomized_pca(prep.centred, k, seed=seed),
            l2_sampling_pca(prep.centred, k, tang_samples, seed=seed),
        ]
        result["classical_baselines"] = {
            b.name: _baseline_entry(b, quality(b.components, exact.components, prep.covariance, ev))
            for b in (exact, *others)
        }
    result["notes"] = [
        "qPCA figures come from classical simulation; simulation time says nothing about quantum speed. "
        "Hardware time and energy under resources.projected_qpu are projections (qscale.energy.qpu).",
        "Copies of rho per QPE run follow DME's bound (Go et al., arXiv 2412.02134): about 4 tau^2 / eps for "
        "evolution time tau, and tau grows as 2^bits / sqrt(Tr rho^2); loading each copy from the data is not in the "
        "DME-only depth.",
    ]
    result["seconds"] = time.perf_counter() - t0
    return QpcaResult(result)


def check_options(k: int, bits: int, copies: int | None, shots: int, method: str, tang_samples: int) -> None:
    """Cheap checks before any data is loaded (embedding the data can take minutes)."""
    check_int(k, "--k", min=1)
    plan(0.5, bits, copies)  # validates --bits and --copies
    check_int(shots, "--shots", min=1, max=MAX_SHOTS)
    check_choice(method, "--method", METHODS)
    check_int(tang_samples, "--tang-samples", min=k, note=" (= --k)")


def run_qpca(data: str, k: int, **kwargs: Any) -> QpcaResult:
    """Load --data and run `qpca_on`; `seconds` includes loading (and, the first time, embedding) the data."""
    if kwargs.get("backend", "exact") != "exact":  # a bad name fails before the data loads
        from qscale.primitives.backends import check_backend_name

        check_backend_name(kwargs["backend"])
    check_options(
        k,
        kwargs.get("bits", DEFAULT_BITS),
        kwargs.get("copies"),
        kwargs.get("shots", DEFAULT_SHOTS),
        kwargs.get("method", "auto"),
        kwargs.get("tang_samples", DEFAULT_TANG_SAMPLES),
    )
    t0 = time.perf_counter()
    dataset = load_dataset(data, seed=kwargs.get("seed", 0), device=kwargs.get("device", "cpu"))
    out = qpca_on(dataset, k, **kwargs)
    out.report["seconds"] = time.perf_counter() - t0
    return out
