"""`qscale qnn`: quantum neural-network layers inside language-model pipelines, beside classical ones of equal size.

    qscale qnn finetune   adapters (quantum | lora | mlp) in SmolLM2-135M or the tiny random Llama
    qscale qnn classify   a classifier head (quantum | linear | mlp) on frozen MiniLM sentence embeddings

Light at import (no torch): `qscale --help` imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qscale.cli.common import DeviceOpt, JsonOpt, emit, guarded

qnn_app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])


def register(app: typer.Typer) -> None:
    app.add_typer(qnn_app, name="qnn")


@qnn_app.command("finetune")
@guarded
def finetune_cmd(
    model: Annotated[
        str, typer.Option(help="smollm2-135m, tiny-random, or a local Llama/Qwen2/Mistral folder in safetensors.")
    ] = "smollm2-135m",
    adapter: Annotated[str, typer.Option(help="quantum, lora (peft) or mlp (tanh bottleneck).")] = "quantum",
    qubits: Annotated[int, typer.Option(help="Qubits per quantum adapter (= bottleneck width of all three).")] = 8,
    qnn_layers: Annotated[int, typer.Option(help="StronglyEntanglingLayers per quantum adapter.")] = 2,
    targets: Annotated[
        str, typer.Option(help="Comma-separated modules: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj.")
    ] = "q_proj,v_proj",
    steps: Annotated[int, typer.Option(help="Training steps (the same budget for every adapter).")] = 60,
    seq_len: Annotated[int, typer.Option(help="Tokens per window (training and evaluation).")] = 128,
    batch: Annotated[int, typer.Option(help="Windows per training step.")] = 4,
    lr: Annotated[float, typer.Option(help="AdamW learning rate (constant).")] = 1e-3,
    seed: Annotated[int, typer.Option(help="Seed of the adapter initialisation and the batch order.")] = 0,
    eval_text: Annotated[Path | None, typer.Option(help="UTF-8 text to measure perplexity on as well.")] = None,
    eval_windows: Annotated[int, typer.Option(help="Evaluation windows (the first ones of each text).")] = 32,
    save: Annotated[Path | None, typer.Option(help="Write the trained adapter here (safetensors + JSON).")] = None,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Fine-tune adapters beside frozen linear layers on Python's documentation; perplexity before and after."""
    from qscale.progress import logger, track
    from qscale.qnn.finetune import check_options, run_finetune

    check_options(
        model, adapter, qubits, qnn_layers, targets, steps, seq_len, batch, lr, seed, eval_windows, save, eval_text,
        device,
    )  # bad input fails here, before the progress bar or the model appear
    with track(f"{adapter} adapter", total=steps) as bar:

        def on_step(step: int, total: int, loss: float) -> None:
            bar.update(step, total, f"{adapter} adapter, loss {loss:.3f}")

        result = run_finetune(
            model=model, adapter=adapter, qubits=qubits, qnn_layers=qnn_layers, targets=targets, steps=steps,
            seq_len=seq_len, batch=batch, lr=lr, seed=seed, eval_text=eval_text, save=save, device=device,
            eval_windows=eval_windows, on_stage=logger("qnn").info, on_step=on_step,
        )

    def human(r: dict) -> None:
        print(f"{r['model']}: {r['adapter']} adapters on {','.join(r['targets'])} ({r['adapted_modules']} modules), "
              f"{r['trainable_params']} trainable parameters")
        print(f"  perplexity {r['perplexity_before']:.4f} -> {r['perplexity_after']:.4f} (held-out pydoc) [measured]")
        if r.get("perplexity_eval_text") is not None:
            print(f"  --eval-text perplexity {r['perplexity_eval_text_before']:.4f} -> {r['perplexity_eval_text']:.4f}")
        q = r['quantum_seconds_per_step']
        print(f"  {r['seconds_per_step']:.3f} s/step, {q:.3f} s of it in quantum layers (measured)")
        if r["circuits_per_step"] is not None:
            sc = r["projected_qpu_per_step"]["superconducting"]["seconds"]["typical"]
            print(f"  {r['circuits_per_step']} circuits/step on a QPU: {sc:.3g} s/step, superconducting (projected)")
        if r.get("saved"):
            print(f"  saved to {r['saved']}")

    emit(result.to_json(), as_json, human)


@qnn_app.command("classify")
@guarded
def classify_cmd(
    head: Annotated[str, typer.Option(help="quantum, linear or mlp.")] = "quantum",
    qubits: Annotated[int, typer.Option(help="Qubits of the quantum head (= projection width of all three).")] = 8,
    qnn_layers: Annotated[int, typer.Option(help="StronglyEntanglingLayers in the quantum head.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the initialisation and batch order.")] = 0,
    epochs: Annotated[int, typer.Option(help="Training epochs per learning rate.")] = 30,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Classify stdlib docstrings by package from frozen MiniLM embeddings with a quantum or classical head."""
    from qscale.progress import logger
    from qscale.qnn.classify import LR_GRID, check_options, run_classify

    check_options(head, qubits, qnn_layers, seed, epochs, LR_GRID, device)  # bad input fails before any output
    logger("qnn").info(f"{head} head: embedding docstrings and training")
    result = run_classify(head=head, qubits=qubits, qnn_layers=qnn_layers, seed=seed, epochs=epochs, device=device)

    def human(r: dict) -> None:
        print(f"{r['head']} head, {r['trainable_params']} trainable parameters, {len(r['classes'])} classes")
        print(f"  accuracy {r['accuracy']:.4f}, macro-F1 {r['macro_f1']:.4f} (chance {r['chance_accuracy']:.4f}) "
              f"[measured{', quantum head simulated' if r['head'] == 'quantum' else ''}]")

    emit(result.to_json(), as_json, human)
