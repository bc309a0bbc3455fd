"""`qscale qaoa`: QAOA on a QUBO file or a generated problem, beside classical solvers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qscale.cli.common import BackendOpt, DeviceOpt, JsonOpt, emit, guarded, parse_floats, seed_option
from qscale.errors import QscaleUserError


def register(app: typer.Typer) -> None:
    app.command()(guarded(qaoa))


def qaoa(
    qubo: Annotated[Path | None, typer.Option(help="dimod BQM JSON (BinaryQuadraticModel.to_serializable).")] = None,
    problem: Annotated[str, typer.Option(help="Generated problem when no --qubo is given.")] = "maxcut",
    graph: Annotated[str, typer.Option(help="regular:D, erdos:P or complete.")] = "regular:3",
    nodes: Annotated[int, typer.Option(help="Number of graph nodes (= qubits).")] = 12,
    seed: Annotated[int, seed_option("Seed for the graph, optimiser starts and sampling.")] = 1,
    p: Annotated[int, typer.Option("--p", help="QAOA depth.")] = 1,
    gammas: Annotated[str | None, typer.Option(help="Given cost angles, comma-separated (needs --betas).")] = None,
    betas: Annotated[str | None, typer.Option(help="Given mixer angles, comma-separated.")] = None,
    fixed_angles: Annotated[bool, typer.Option("--fixed-angles", help="Wurtz-Lykov angles (regular MaxCut).")] = False,
    optimizer: Annotated[str, typer.Option(help="lbfgs or adam (used when optimising).")] = "lbfgs",
    restarts: Annotated[int, typer.Option(help="Random starts at depth 1 (optimisation).")] = 4,
    shots: Annotated[int, typer.Option(help="Samples drawn from the final state.")] = 1024,
    device: DeviceOpt = "auto",
    dtype: Annotated[str, typer.Option(help="complex128 or complex64.")] = "complex128",
    backend: BackendOpt = "exact",
    as_json: JsonOpt = False,
) -> None:
    """QAOA on a QUBO file or a generated MaxCut problem, beside classical solvers."""
    from qscale.algorithms.qaoa.driver import run_qaoa
    from qscale.algorithms.qaoa.problems import load_problem, make_problem

    if (gammas is None) != (betas is None):
        raise QscaleUserError("--gammas and --betas must be given together")
    if fixed_angles and gammas is not None:
        raise QscaleUserError("--fixed-angles and --gammas/--betas exclude each other")
    if dtype not in ("complex64", "complex128"):
        raise QscaleUserError(f"--dtype must be complex64 or complex128, got {dtype!r}")
    prob = load_problem(qubo) if qubo is not None else make_problem(problem, graph, nodes, seed)
    mode = "given" if gammas is not None else "fixed" if fixed_angles else "optimize"
    result = run_qaoa(
        prob,
        p,
        mode=mode,
        gammas=parse_floats(gammas, "--gammas"),
        betas=parse_floats(betas, "--betas"),
        restarts=restarts,
        optimizer=optimizer,
        shots=shots,
        seed=seed,
        device=device,
        dtype=dtype,
        backend=backend,
    )

    def human(r: dict) -> None:
        print(f"{r['problem']}\nQAOA p={r['p']} ({r['angles']} angles), {r['n_qubits']} qubits [simulated]")
        if "approximation_ratio_exact" in r:
            print(f"  on {r['backend']['name']}: ratio {r['approximation_ratio']:.4f} (noiseless "
                  f"{r['approximation_ratio_exact']:.4f}, random {r['approximation_ratio_random']:.4f}); "
                  f"{r['transpiled_two_qubit_gates']} two-qubit gates, estimated fidelity {r['estimated_fidelity']}")
        print(f"  <E> = {r['expectation']:.6f}   approximation ratio = {r['approximation_ratio']:.4f}")
        print(
            f"  best of {r['shots']} shots: {r['best_bitstring']}  E = {r['best_energy']:.6g}"
            f"  (optimum {r['optimal_energy']:.6g})"
        )
        for name, b in r.get("classical_baselines", {}).items():
            print(f"  classical {name}: E = {b['energy']:.6g} in {b['seconds']:.3g} s")
        print(f"  {r['seconds']:.2f} s")

    emit(result.to_json(), as_json, human)

