"""Study stage: quantum layers inside LLM pipelines beside classical ones of equal size.

Two parts, both with the classical method of the same trainable-parameter count next to the quantum one:
classifier heads (quantum / linear / MLP) on frozen MiniLM embeddings of stdlib docstrings, over a few seeds;
and a short fine-tune of the LLM through quantum, LoRA (peft) and MLP adapters at the same steps, learning rate
and seed. The quantum parts are simulated; the stage prices their circuits on a QPU as projected figures.
"""

from __future__ import annotations

from statistics import mean, pstdev
from typing import Literal

from pydantic import Field

from qscale.figures import Figure, Table, figure_png, pyplot
from qscale.progress import track
from qscale.study.config import ModelName, Strict, StudySection
from qscale.study.registry import Stage
from qscale.study.stage import StageOutput

Head = Literal["quantum", "linear", "mlp"]
Adapter = Literal["quantum", "lora", "mlp"]
Target = Literal["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class QNNStage(Strict):
    """Classifier heads on MiniLM + a short adapter fine-tune; sized for minutes on a 2-core CPU."""

    enabled: bool = True
    heads: list[Head] = Field(default_factory=lambda: ["quantum", "linear", "mlp"], min_length=1)
    classify_qubits: int = Field(8, ge=1, le=20)
    classify_layers: int = Field(2, ge=1, le=16)
    classify_seeds: int = Field(2, ge=1, le=20)
    classify_epochs: int = Field(20, ge=1)
    classify_max_examples: int | None = Field(None, ge=120)  # every k-th example when set (quick runs)
    adapters: list[Adapter] = Field(default_factory=lambda: ["quantum", "lora", "mlp"], min_length=1)
    model: ModelName = "smollm2-135m"
    qubits: int = Field(8, ge=1, le=20)
    qnn_layers: int = Field(2, ge=1, le=16)
    targets: list[Target] = Field(default_factory=lambda: ["q_proj", "v_proj"], min_length=1)
    steps: int = Field(10, ge=1)
    seq_len: int = Field(64, ge=8)
    batch: int = Field(2, ge=1)
    lr: float = Field(3e-3, gt=0)
    eval_windows: int = Field(8, ge=1)
    val_windows: int = Field(4, ge=1)

    def quick(self) -> QNNStage:
        """The tiny random Llama, a few steps, a small classifier task (every k-th docstring)."""
        return self.model_copy(
            update={
                "model": "tiny-random", "steps": min(self.steps, 4), "seq_len": min(self.seq_len, 32),
                "eval_windows": min(self.eval_windows, 2), "val_windows": min(self.val_windows, 2),
                "qubits": min(self.qubits, 4), "qnn_layers": 1, "classify_qubits": min(self.classify_qubits, 4),
                "classify_layers": 1, "classify_seeds": 1, "classify_epochs": min(self.classify_epochs, 3),
                "classify_max_examples": 240,
            }
        )


def _classify(cfg: QNNStage, seed: int, device: str, progress) -> dict[str, list[dict]]:
    from qscale.qnn.classify import run_classify

    out: dict[str, list[dict]] = {h: [] for h in cfg.heads}
    for s in range(seed, seed + cfg.classify_seeds):
        for head in cfg.heads:
            progress(f"qnn: {head} classifier head, seed {s}")
            r = run_classify(
                head, cfg.classify_qubits, cfg.classify_layers, seed=s, epochs=cfg.classify_epochs, device=device,
                max_examples=cfg.classify_max_examples,
            )
            out[head].append(r.to_json())
    return out


def _finetune(cfg: QNNStage, seed: int, device: str, progress) -> dict[str, dict]:
    from qscale.llm.models import load_causal_lm
    from qscale.qnn.finetune import run_finetune

    progress(f"qnn: loading {cfg.model}")
    loaded = load_causal_lm(cfg.model, device)
    cache: dict = {}
    out = {}
    for adapter in cfg.adapters:
        progress(f"qnn: {adapter} adapters in {cfg.model}, {cfg.steps} steps")
        with track(f"qnn: {adapter} adapter steps", total=cfg.steps) as bar:
            r = run_finetune(
                cfg.model, adapter, cfg.qubits, cfg.qnn_layers, list(cfg.targets), steps=cfg.steps,
                seq_len=cfg.seq_len, batch=cfg.batch, lr=cfg.lr, seed=seed, device=device,
                eval_windows=cfg.eval_windows, val_windows=cfg.val_windows, loaded=loaded, cache=cache,
                on_step=lambda step, total, loss, a=adapter, b=bar: b.update(step, total, f"qnn: {a}, loss {loss:.3f}"),
            )
        out[adapter] = r.to_json()
    return out


def _ms(values: list[float]) -> str:
    return f"{mean(values):.4f} ± {pstdev(values):.4f}" if len(values) > 1 else f"{values[0]:.4f}"


def head_rows(heads: dict[str, list[dict]]) -> list[list]:
    rows = []
    for head, runs in heads.items():
        rows.append([
            head, runs[0]["trainable_params"], len(runs), _ms([r["accuracy"] for r in runs]),
            _ms([r["macro_f1"] for r in runs]), f"{runs[0]['chance_accuracy']:.4f}",
            f"{mean(r['seconds'] for r in runs):.1f}", "simulated" if head == "quantum" else "measured",
        ])  # fmt: skip
    return rows


def adapter_rows(adapters: dict[str, dict]) -> list[list]:
    rows = []
    for name, r in adapters.items():
        qpu = r["projected_qpu_per_step"]
        sc = qpu["superconducting"] if qpu else None
        rows.append([
            name, r["trainable_params"], f"{r['perplexity_before']:.3f}", f"{r['perplexity_after']:.3f}",
            f"{r['seconds_per_step']:.3f}", f"{r['quantum_seconds_per_step']:.3f}",
            f"{r['circuits_per_step']:.3g}" if r["circuits_per_step"] else "-",
            f"{sc['seconds']['typical']:.3g} s, {sc['energy_j']['typical'] / 3.6e6:.3g} kWh" if sc else "-",
        ])  # fmt: skip
    return rows


ADAPTER_HEADERS = [
    "adapter", "trainable params", "perplexity before", "perplexity after", "s/step (measured)",
    "s/step in quantum layers", "QPU circuits/step", "QPU per step (projected, superconducting)",
]  # fmt: skip


def loss_plot(adapters: dict[str, dict], model: str) -> Figure:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, r in adapters.items():
        label = f"{name} ({r['trainable_params']} params)"
        ax.plot(range(1, len(r["train_loss"]) + 1), r["train_loss"], marker=".", label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (nats/token)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{model}: adapters of equal size, same batches and learning rate", fontsize=9)
    return Figure(
        "Training loss per adapter",
        figure_png(fig),
        "Cross-entropy of each training batch (measured); the quantum adapter's circuits are simulated exactly. "
        "All adapters see the same windows in the same order.",
    )


def accuracy_plot(heads: dict[str, list[dict]]) -> Figure:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(5, 3.4))
    names = list(heads)
    accs = [[r["accuracy"] for r in heads[h]] for h in names]
    f1s = [[r["macro_f1"] for r in heads[h]] for h in names]
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [mean(a) for a in accs], 0.4, yerr=[pstdev(a) for a in accs], label="accuracy")
    ax.bar([x + 0.2 for x in xs], [mean(f) for f in f1s], 0.4, yerr=[pstdev(f) for f in f1s], label="macro-F1")
    chance = heads[names[0]][0]["chance_accuracy"]
    ax.axhline(chance, color="gray", linestyle="--", lw=1, label="chance (majority class)")
    ax.set_xticks(list(xs), [f"{h}\n{heads[h][0]['trainable_params']} params" for h in names])
    ax.set_ylabel("test score")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title("Docstring package from MiniLM embeddings: heads of equal size", fontsize=9)
    return Figure(
        "Accuracy per classifier head",
        figure_png(fig),
        "Mean and standard deviation over seeds on the test split (source files unseen in training). Quantum head "
        "simulated exactly; classical heads measured.",
    )


def run(cfg: QNNStage, study: StudySection, progress) -> StageOutput:
    heads = _classify(cfg, study.seed, study.device, progress)
    adapters = _finetune(cfg, study.seed, study.device, progress)
    first_head = next(iter(heads.values()))[0]
    quantum = adapters.get("quantum")
    notes = [
        f"Classifier task: {first_head['data']['description']}.",
        f"Fine-tune: {cfg.model}, adapters on {', '.join(cfg.targets)}, {cfg.steps} steps of {cfg.batch} x "
        f"{cfg.seq_len} tokens at lr {cfg.lr}, seed {study.seed}; perplexity on {cfg.eval_windows} held-out windows "
        "of the pydoc evaluation split.",
        "Trainable-parameter counts of the three adapters (and of the three heads) agree within 5 %: the LoRA rank "
        "and the MLP widths are chosen from the quantum one's count.",
    ]
    if quantum is not None:
        notes.append(
            "Projected QPU time and energy per training step: counted circuits (" + quantum["circuit_formula"] + ") x "
            f"{quantum['projected_qpu_per_step']['shots_per_circuit_assumed']} assumed shots each, through "
            "qscale.energy.qpu on a superconducting device (typical scenario; parameters and sources in "
            "qscale/energy/data/qpu.toml). The simulated quantum parts are not a quantum speedup."
        )
    keep = (
        "trainable_params", "perplexity_before", "perplexity_after", "perplexity_validation_after", "train_loss",
        "seconds_per_step", "quantum_seconds_per_step", "circuits_per_step", "circuits_per_generated_token",
        "projected_qpu_per_step", "lr", "seed", "steps",
    )  # fmt: skip
    summary = {
        "classify": {
            h: {
                "trainable_params": runs[0]["trainable_params"],
                "accuracy": [r["accuracy"] for r in runs],
                "macro_f1": [r["macro_f1"] for r in runs],
                "chance_accuracy": runs[0]["chance_accuracy"],
                "seeds": [r["seed"] for r in runs],
            }
            for h, runs in heads.items()
        },
        "finetune": {a: {k: r[k] for k in keep} for a, r in adapters.items()},
        "model": cfg.model,
    }
    return StageOutput(
        name="qnn",
        title="Quantum layers in LLM pipelines",
        summary=summary,
        figures=[loss_plot(adapters, cfg.model), accuracy_plot(heads)],
        tables=[
            Table(
                "Classifier heads on frozen MiniLM embeddings (test split, mean ± std over seeds)",
                ["head", "trainable params", "seeds", "accuracy", "macro-F1", "chance", "seconds/run", "kind"],
                head_rows(heads),
            ),
            Table(
                f"Adapters in {cfg.model} (equal trainable parameters, same budget)", ADAPTER_HEADERS,
                adapter_rows(adapters),
            ),
        ],
        notes=notes,
    )


STAGE = Stage("qnn", QNNStage, run)
