"""`qscale quantize`: post-training weight quantization of an LLM and its perplexity."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qscale.cli.common import BackendOpt, DeviceOpt, JsonOpt, emit, guarded, seed_option


def register(app: typer.Typer) -> None:
    app.command()(guarded(quantize))


def quantize(
    model: Annotated[
        str,
        typer.Option(help="smollm2-135m, tiny-random, or a local Llama/Qwen2/Mistral folder in safetensors "
                     "(a --save checkpoint too)."),
    ] = "smollm2-135m",
    bits: Annotated[int, typer.Option(help="Bits per weight (2-8).")] = 4,
    method: Annotated[str, typer.Option(help="rtn, gptq or qubo.")] = "gptq",
    solver: Annotated[str, typer.Option(help="QUBO block solver: exact, sa, qaoa or greedy (= GPTQ).")] = "exact",
    block: Annotated[int, typer.Option(help="Columns rounded jointly per QUBO (qubo).")] = 8,
    vars_per_weight: Annotated[
        int, typer.Option(help="Binary variables per weight: 1 = round down/up, 2 = four levels (qubo).")
    ] = 1,
    group_size: Annotated[
        int | None, typer.Option(help="Grid per group of columns, e.g. 128 (default per row); --save needs divisors.")
    ] = None,
    act_order: Annotated[
        bool,
        typer.Option("--act-order/--no-act-order", help="Visit columns by decreasing diag(H) (gptq, qubo); "
                     "with --group-size, inside whole groups."),
    ] = True,
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
    seed: Annotated[int, seed_option("Seed for calibration windows and samplers.")] = 0,
    save: Annotated[
        Path | None,
        typer.Option(help="New folder for a compressed-tensors pack-quantized checkpoint (transformers, vLLM)."),
    ] = None,
    device: DeviceOpt = "auto",
    backend: BackendOpt = "exact",
    backend_qubos: Annotated[int, typer.Option(help="Block QUBOs sampled for the --backend run (qaoa).")] = 32,
    as_json: JsonOpt = False,
) -> None:
    """Post-training weight quantization (rtn, gptq, or GPTQ with QUBO-rounded blocks) and perplexity."""
    from qscale.llm.quant.job import run_quantize
    from qscale.progress import logger, track

    with track("layers") as bar:

        def on_layer(name: str, done: int, total: int) -> None:
            bar.update(done, total, name or "layers done")

        result = run_quantize(
            model=model, bits=bits, method=method, solver=solver, block=block, vars_per_weight=vars_per_weight,
            group_size=group_size, act_order=act_order, layers=layers, eval_text=eval_text, calib_text=calib_text,
            seq_len=seq_len, calib_windows=calib_windows, eval_windows=eval_windows, qaoa_p=qaoa_p, shots=shots,
            seed=seed, save=save, device=device, refine=refine, backend=backend, backend_qubos=backend_qubos,
            on_stage=logger("quantize").info, on_layer=on_layer,
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
        if "qaoa_optimal_fraction_backend" in r:
            b = r["qaoa_backend"]
            print(f"  on {b['backend']['name']}: {r['qaoa_optimal_fraction_backend']:.4f} of {b['qubos_sampled']} "
                  f"sampled QUBOs (exact simulation {r['qaoa_optimal_fraction_exact_sample']:.4f}) [{b['kind']}]")
        print(f"  {r['seconds']:.1f} s")

    emit(result.to_json(), as_json, human)

