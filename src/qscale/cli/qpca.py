"""`qscale qpca`: simulated quantum PCA of LLM data beside exact PCA, randomized SVD and l2-sampling PCA."""

from __future__ import annotations

from typing import Annotated

import typer

from qscale.algorithms.qpca import DEFAULT_BITS, DEFAULT_SHOTS, DEFAULT_TANG_SAMPLES
from qscale.cli.common import BackendOpt, JsonOpt, device_option, emit, guarded, seed_option
from qscale.errors import QscaleUserError


def register(app: typer.Typer) -> None:
    app.command("qpca")(guarded(qpca_cmd))


def qpca_cmd(
    data: Annotated[str, typer.Option(help="minilm, smollm2-hidden, FILE.npy (rows = samples) or synthetic:D[:R].")],
    k: Annotated[int, typer.Option("--k", help="Number of principal components.")],
    bits: Annotated[int, typer.Option(help="Phase-estimation bits.")] = DEFAULT_BITS,
    copies: Annotated[
        int | None, typer.Option(help="DME copies of rho per QPE run (default: DME error bound 0.05).")
    ] = None,
    shots: Annotated[int, typer.Option(help="QPE runs for eigenvalue sampling, and shots per tomography setting.")] = (
        DEFAULT_SHOTS
    ),
    method: Annotated[str, typer.Option(help="circuit (<= 5 system qubits), model, or auto.")] = "auto",
    seed: Annotated[int, seed_option("Seed for sampling, baselines and synthetic data.")] = 0,
    tang_samples: Annotated[int, typer.Option(help="Row (and column) samples of the l2-sampling baseline.")] = (
        DEFAULT_TANG_SAMPLES
    ),
    device: Annotated[str, device_option("cpu, cuda or auto (circuit simulation and embeddings).")] = "auto",
    backend: BackendOpt = "exact",
    as_json: JsonOpt = False,
) -> None:
    """Quantum PCA (DME + phase estimation + tomography, simulated) beside classical PCA baselines."""
    from qscale.algorithms.qpca.driver import run_qpca
    from qscale.energy.ledger import current_ledger

    if seed < 0:
        raise QscaleUserError(f"--seed must be >= 0, got {seed}")
    result = run_qpca(
        data,
        k,
        bits=bits,
        copies=copies,
        shots=shots,
        method=method,
        seed=seed,
        tang_samples=tang_samples,
        device=device,
        backend=backend,
    )
    res = result.report["resources"]
    ledger = current_ledger()
    if ledger is not None:
        ledger.add_qpu(
            "superconducting",
            res["qubits"],
            res["two_qubit_depth_per_qpe_run"],
            res["shots"],
            label="qPCA on a QPU (DME depth only, lower bound)",
        )

    def human(r: dict) -> None:
        print(f"{r['data']}: k={r['k']}, {r['label']}")
        print(
            f"  qPCA: max principal angle {r['max_principal_angle_deg']:.2f} deg, variance kept "
            f"{r['explained_variance_ratio']:.4f}, recall@10 {r['recall_at_10']:.3f} ({r['components_found']} found)"
        )
        for name, b in r["classical_baselines"].items():
            print(
                f"  {name}: max angle {b['max_principal_angle_deg']:.2f} deg, variance kept "
                f"{b['explained_variance_ratio']:.4f}, recall@10 {b['recall_at_10']:.3f}, "
                f"{b['seconds']:.3g} s [measured]"
            )
        rs = r["resources"]
        sc = rs["projected_qpu"]["dme_only_lower_bound"]["superconducting"]["seconds"]["typical"]
        print(
            f"  resources: {rs['qubits']} qubits, {rs['phase_estimation_bits']} bits, {rs['copies_per_qpe_run']:.3g} "
            f"copies/run, depth {rs['two_qubit_depth_per_qpe_run']:.3g}, {rs['shots']:.3g} runs; superconducting "
            f"QPU >= {sc:.3g} s [projected]"
        )
        if "backend" in r:
            b = r["backend"]
            print(f"  one DME step on {b['backend']['name']}: TVD {b['tvd_backend_to_exact']:.4f} (shot noise alone "
                  f"{b['tvd_shot_noise_only']:.4f}), estimated fidelity {b['estimated_fidelity']} [{b['kind']}]")
        print(f"  {r['seconds']:.1f} s")

    emit(result.to_json(), as_json, human)
