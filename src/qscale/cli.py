"""The `qscale` command: one subcommand per stage, `--json` on each, exit 2 on user errors.

Contract (DESIGN.md): with --json exactly one JSON object goes to stdout; logs and progress go to
stderr; exit code 0 on success, 2 on a user error with a one-line reason, 1 on an internal error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qscale.algorithms.cli_qpca import qpca_cmd
from qscale.algorithms.cli_vqe_born import born_cmd, vqe_cmd
from qscale.cli_support import DeviceOpt, JsonOpt, emit, err, guarded
from qscale.energy.cli import energy_app
from qscale.errors import QscaleUserError
from qscale.grid.cli import site_cmd, stabilize_cmd
from qscale.outlook.cli import outlook_cmd
from qscale.qnn_cli import qnn_app

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])
app.add_typer(energy_app, name="energy")
app.add_typer(qnn_app, name="qnn")


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
    from qscale.study.run import run_study
    from qscale.study.schema import load_config

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


@app.command()
@guarded
def quantize(
    model: Annotated[str, typer.Option(help="smollm2-135m, tiny-random, or a --save folder.")] = "smollm2-135m",
    bits: Annotated[int, typer.Option(help="Bits per weight (2-8).")] = 4,
    method: Annotated[str, typer.Option(help="rtn, gptq or qubo.")] = "gptq",
    solver: Annotated[str, typer.Option(help="QUBO block solver: exact, sa, qaoa or greedy (= GPTQ).")] = "exact",
    block: Annotated[int, typer.Option(help="Columns rounded jointly per QUBO (qubo).")] = 8,
    vars_per_weight: Annotated[
        int, typer.Option(help="Binary variables per weight: 1 = round down/up, 2 = four levels (qubo).")
    ] = 1,
    group_size: Annotated[int | None, typer.Option(help="Grid per group of columns (default per row).")] = None,
    act_order: Annotated[bool, typer.Option("--act-order", help="Quantize columns by decreasing diag(H).")] = False,
    refine: Annotated[
        int | None,
        typer.Option(
            help="Sweeps of moves on the true layer loss after the first pass: QUBO block moves (qubo, default 2) "
            "or coordinate descent (gptq, default 0)."
        ),
    ] = None,
    layers: Annotated[str, typer.Option(help="fnmatch pattern on layer names, e.g. 'model.layers.0.*'.")] = "*",
    eval_text: Annotated[Path | None, typer.Option(help="UTF-8 text to measure perplexity on.")] = None,
    calib_text: Annotated[Path | None, typer.Option(help="UTF-8 calibration text.")] = None,
    seq_len: Annotated[int, typer.Option(help="Tokens per window (calibration and evaluation).")] = 512,
    calib_windows: Annotated[int, typer.Option(help="Calibration windows (drawn with --seed).")] = 64,
    eval_windows: Annotated[int | None, typer.Option(help="Cap on evaluation windows (default all).")] = None,
    qaoa_p: Annotated[int, typer.Option(help="QAOA layers (solver qaoa).")] = 2,
    shots: Annotated[int, typer.Option(help="Samples per block-QUBO (solver qaoa).")] = 256,
    seed: Annotated[int, typer.Option(help="Seed for calibration windows and samplers.")] = 0,
    save: Annotated[Path | None, typer.Option(help="Write the quantized model (safetensors + grid) here.")] = None,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Post-training weight quantization (rtn, gptq, or GPTQ with QUBO-rounded blocks) and perplexity."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from qscale.llm.quant.job import run_quantize

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task("layers", total=None)

        def on_layer(name: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=name or "layers done")

        result = run_quantize(
            model=model, bits=bits, method=method, solver=solver, block=block, vars_per_weight=vars_per_weight,
            group_size=group_size, act_order=act_order, layers=layers, eval_text=eval_text, calib_text=calib_text,
            seq_len=seq_len, calib_windows=calib_windows, eval_windows=eval_windows, qaoa_p=qaoa_p, shots=shots,
            seed=seed, save=save, device=device, refine=refine,
            on_stage=lambda msg: bar.console.print(f"[dim]{msg}[/dim]"), on_layer=on_layer,
        )

    def human(r: dict) -> None:
        label = r["method"] + (f"/{r['solver']}" if r["solver"] else "")
        print(f"{r['model']}: {label}, {r['bits']} bits, {r['layers_quantized']} layers")
        print(f"  perplexity {r['perplexity']:.4f} (unquantized {r['perplexity_fp']:.4f}) [measured]")
        print(f"  mean relative error {r['mean_relative_error']:.5f}")
        if r.get("refine"):
            cut = r["refine_loss_reduction"]
            print(f"  {r['refine']} refinement sweeps removed {cut:.1%} of the first pass's layer loss")
        if "qaoa_optimal_fraction" in r:
            q = r["qaoa"]
            print(
                f"  QAOA optimal fraction {r['qaoa_optimal_fraction']:.4f} (random guessing "
                f"{q['random_guess_optimal_fraction']:.4f}) [simulated]"
            )
        print(f"  {r['seconds']:.1f} s")

    emit(result, as_json, human)


# Commands defined in their own modules, registered here after the ones above (the order `--help` lists them in).
app.command("site")(guarded(site_cmd))  # grid: campus model
app.command("stabilize")(guarded(stabilize_cmd))  # grid: smoothing of training power swings
app.command("qpca")(guarded(qpca_cmd))  # quantum PCA beside classical baselines
app.command("vqe")(guarded(vqe_cmd))  # VQE and Born machines
app.command("born")(guarded(born_cmd))
app.command("outlook")(guarded(outlook_cmd))  # 2030s/2040s scenarios, Monte Carlo


def main() -> None:
    app()


if __name__ == "__main__":
    main()
