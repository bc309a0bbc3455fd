"""The `qscale` command: one subcommand per stage, `--json` on each, exit 2 on user errors.

Contract (DESIGN.md): with --json exactly one JSON object goes to stdout; logs and progress go to
stderr; exit code 0 on success, 2 on a user error with a one-line reason, 1 on an internal error.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from qscale.errors import QscaleUserError
from qscale.io import dumps

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout (logs go to stderr).")]
DeviceOpt = Annotated[str, typer.Option(help="cpu, cuda or auto (CUDA when available).")]


def guarded(fn: Callable) -> Callable:
    """Map QscaleUserError to exit code 2 with a one-line reason, anything else to exit code 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except QscaleUserError as exc:
            err.print(
                f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", markup=False, highlight=False
            )
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:
            err.print(f"internal error: {type(exc).__name__}: {exc}", markup=False, highlight=False)
            traceback.print_exc(file=sys.stderr)
            raise typer.Exit(1) from None

    return wrapper


def emit(result: dict, as_json: bool, human: Callable[[dict], None]) -> None:
    if as_json:
        sys.stdout.write(dumps(result) + "\n")
    else:
        human(result)


def _floats(text: str | None, name: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise QscaleUserError(f"{name} must be comma-separated numbers, got {text!r}") from None


@app.command()
@guarded
def study(
    config: Annotated[Path | None, typer.Argument(help="TOML config (default: built-in defaults).")] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder (default runs/<timestamp>/).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Shrink every stage to run in seconds.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the main job: every enabled stage, writing config.toml, results.json and report.html."""
    from qscale.study.config import load_config
    from qscale.study.run import run_study

    cfg = load_config(config)
    folder, results = run_study(cfg, out, quick, progress=lambda msg: err.print(f"[dim]{msg}[/dim]"))
    summary = {"run_folder": str(folder), "seconds": results["seconds"], "stages": list(results["stages"])}
    emit(summary, as_json, lambda r: print(f"run folder: {r['run_folder']} ({r['seconds']:.1f} s)"))


@app.command()
@guarded
def qaoa(
    qubo: Annotated[Path | None, typer.Option(help="dimod BQM JSON (BinaryQuadraticModel.to_serializable).")] = None,
    problem: Annotated[str, typer.Option(help="Generated problem when no --qubo is given.")] = "maxcut",
    graph: Annotated[str, typer.Option(help="regular:D, erdos:P or complete.")] = "regular:3",
    nodes: Annotated[int, typer.Option(help="Number of graph nodes (= qubits).")] = 12,
    seed: Annotated[int, typer.Option(help="Seed for the graph, optimiser starts and sampling.")] = 1,
    p: Annotated[int, typer.Option("--p", help="QAOA depth.")] = 1,
    gammas: Annotated[str | None, typer.Option(help="Given cost angles, comma-separated (needs --betas).")] = None,
    betas: Annotated[str | None, typer.Option(help="Given mixer angles, comma-separated.")] = None,
    fixed_angles: Annotated[bool, typer.Option("--fixed-angles", help="Wurtz-Lykov angles (regular MaxCut).")] = False,
    optimizer: Annotated[str, typer.Option(help="lbfgs or adam (used when optimising).")] = "lbfgs",
    restarts: Annotated[int, typer.Option(help="Random starts at depth 1 (optimisation).")] = 4,
    shots: Annotated[int, typer.Option(help="Samples drawn from the final state.")] = 1024,
    device: DeviceOpt = "auto",
    dtype: Annotated[str, typer.Option(help="complex128 or complex64.")] = "complex128",
    as_json: JsonOpt = False,
) -> None:
    """QAOA on a QUBO file or a generated MaxCut problem, beside classical solvers."""
    from qscale.algorithms.problems import load_problem, make_problem
    from qscale.algorithms.qaoa import run_qaoa

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
        gammas=_floats(gammas, "--gammas"),
        betas=_floats(betas, "--betas"),
        restarts=restarts,
        optimizer=optimizer,
        shots=shots,
        seed=seed,
        device=device,
        dtype=dtype,
    )

    def human(r: dict) -> None:
        print(f"{r['problem']}\nQAOA p={r['p']} ({r['angles']} angles), {r['n_qubits']} qubits [simulated]")
        print(f"  <E> = {r['expectation']:.6f}   approximation ratio = {r['approximation_ratio']:.4f}")
        print(
            f"  best of {r['shots']} shots: {r['best_bitstring']}  E = {r['best_energy']:.6g}"
            f"  (optimum {r['optimal_energy']:.6g})"
        )
        for name, b in r.get("classical_baselines", {}).items():
            print(f"  classical {name}: E = {b['energy']:.6g} in {b['seconds']:.3g} s")
        print(f"  {r['seconds']:.2f} s")

    emit(result, as_json, human)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
