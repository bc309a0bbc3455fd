"""Fine-tune a frozen causal LM through one kind of adapter (quantum, LoRA or MLP) on Python's documentation.

Protocol, the same for all three adapters (fairness): training windows come from the calibration split of
`qscale.llm.text.pydoc_split` (its last `val_windows` windows are kept apart for choosing the learning rate),
batches are drawn in an order fixed by the seed alone (so every adapter sees the same tokens in the same
order), AdamW at a constant learning rate with gradient-norm clipping at 1.0, for a fixed number of steps.
Perplexity (`qscale.llm.perplexity`) is measured on the first `eval_windows` windows of the held-out
evaluation split before and after training, on the validation windows, and on an optional user text.

QPU cost (projected, counted, never simulated as time): a QPU runs one circuit per token row per adapter
instance in the forward pass; the gradient by the parameter-shift rule needs two more circuits per rotation
angle that depends on a trainable quantity (every encoding angle, since A is trained, and every circuit
weight). So per training step

    circuits_per_step = instances × batch × seq_len × (1 + 2·(encoding angles + circuit weights))

and per generated token (inference with a KV cache: one new row per instance, no gradient)

    circuits_per_generated_token = instances.

Each circuit is sampled `shots` times (an assumed figure: the QuantumLayer here computes exact expectations).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from qscale.errors import QscaleUserError
from qscale.llm.models import LoadedModel, check_model_name, load_causal_lm
from qscale.llm.perplexity import perplexity
from qscale.llm.quant.runner import check_finite
from qscale.llm.text import pydoc_split, read_text_file, token_windows
from qscale.qnn.adapters import (
    AdaptedModel,
    check_adapter,
    check_count,
    check_save_folder,
    insert_adapters,
    parse_targets,
    plan_adapters,
    save_adapter,
)

ASSUMED_SHOTS = 1000  # shots per circuit for the QPU projection (assumed: ~3 % standard error on each <Z_i>)
QPU_MODALITIES = ("superconducting", "trapped_ion")
VAL_WINDOWS = 8
EVAL_WINDOWS = 32
CLIP_NORM = 1.0


@dataclass
class CircuitCount:
    """Circuit executions a QPU would need for the quantum adapters (formula in the module docstring)."""

    instances: int
    rows_per_step: int
    encoding_angles: int
    weight_angles: int
    two_qubit_depth: int
    shots: int = ASSUMED_SHOTS

    @property
    def circuits_per_row(self) -> int:
        return 1 + 2 * (self.encoding_angles + self.weight_angles)

    @property
    def circuits_per_step(self) -> int:
        return self.instances * self.rows_per_step * self.circuits_per_row

    @property
    def circuits_per_generated_token(self) -> int:
        return self.instances

    def formula(self) -> str:
        return (
            f"circuits_per_step = instances ({self.instances}) x rows (batch x seq_len = {self.rows_per_step}) x "
            f"(1 forward + 2 x ({self.encoding_angles} encoding angles + {self.weight_angles} circuit weights) "
            f"parameter-shift) = {self.circuits_per_step}; circuits_per_generated_token = instances = "
            f"{self.instances} (one new row per adapter instance with a KV cache, no gradient)"
        )


@dataclass
class FinetuneResult:
    """Everything `qscale qnn finetune --json` prints (plus the energy ledger the CLI attaches)."""

    model: str
    model_source: str
    adapter: str
    targets: list[str]
    adapted_modules: int
    qubits: int
    qnn_layers: int
    lora_rank: int
    lora_rank_pattern: dict[str, int]
    mlp_hidden: int
    trainable_params: int
    trainable_params_by_adapter: dict[str, int]
    steps: int
    seq_len: int
    batch: int
    lr: float
    seed: int
    device: str
    text: str
    train_windows: int
    val_windows: int
    eval_windows: int
    perplexity_before: float
    perplexity_after: float
    perplexity_validation_before: float
    perplexity_validation_after: float
    train_loss: list[float]
    seconds_per_step: float  # mean over steps 2..N (step 1 pays one-off set-up), measured
    seconds_first_step: float
    quantum_seconds_per_step: float  # inside quantum layers, forward + backward, same steps, measured
    adapter_core_seconds_per_step: float  # inside the adapter cores (quantum circuit or tanh MLP)
    circuits_per_step: int | None
    circuits_per_generated_token: int | None
    circuit_formula: str | None
    projected_qpu_per_step: dict[str, Any] | None
    seconds: float
    perplexity_eval_text: float | None = None
    perplexity_eval_text_before: float | None = None
    eval_text: str | None = None
    saved: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if self.eval_text is None:
            for key in ("perplexity_eval_text", "perplexity_eval_text_before", "eval_text"):
                out.pop(key)
        return out


def check_lr(lr: float) -> float:
    if not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        raise QscaleUserError(f"--lr must be a positive finite number, got {lr!r}")
    return float(lr)


def guard_memory(qubits: int, qnn_layers: int, rows: int, instances: int, device: torch.device) -> None:
    """Refuse before loading anything when the states autograd keeps for one training step cannot fit.

    Every adapter instance keeps its layer states of all B·T rows until the backward pass, so the peak is
    instances × (the QuantumLayer's own per-call estimate)."""
    from qscale.qnn.layer.kernel import state_copies
    from qscale.quantum.memory import check_memory

    check_memory(
        qubits,
        rows,
        torch.complex64,
        device,
        copies=instances * state_copies(qnn_layers),
        what=f"quantum adapter states ({instances} instances, kept for backward)",
    )


def count_circuits(adapted: AdaptedModel, rows: int, shots: int = ASSUMED_SHOTS) -> CircuitCount:
    layers = adapted.quantum_layers()
    layer = layers[0]
    qc = layer.to_qiskit([0.0] * layer.n_qubits)
    depth = qc.depth(lambda instr: instr.operation.num_qubits >= 2)
    slots = layer.n_layers if layer.reupload else 1
    return CircuitCount(
        instances=len(layers),
        rows_per_step=rows,
        encoding_angles=layer.n_qubits * slots,
        weight_angles=int(layer.weights.numel()),
        two_qubit_depth=int(depth),
        shots=shots,
    )


def project_qpu(circuits: CircuitCount, qubits: int) -> dict[str, Any]:
    """Projected QPU seconds and energy of one training step's circuits (qscale.energy.qpu), per modality."""
    from qscale.energy.qpu import qpu_job

    out: dict[str, Any] = {"kind": "projected", "shots_per_circuit_assumed": circuits.shots}
    for modality in QPU_MODALITIES:
        job = qpu_job(modality, qubits, circuits.two_qubit_depth, circuits.shots, circuits.circuits_per_step, 1).report
        out[modality] = {"seconds": job["seconds"], "energy_j": job["energy_j"], "description": job["description"]}
    return out


def _split_windows(tokenizer: Any, seq_len: int, eval_windows: int, val_windows: int):
    split = pydoc_split()
    calib = token_windows(tokenizer, split.calibration, seq_len, what="calibration text")
    if calib.shape[0] <= val_windows:
        raise QscaleUserError(f"--seq-len {seq_len} leaves too few calibration windows ({calib.shape[0]})")
    evaluation = token_windows(tokenizer, split.evaluation, seq_len, eval_windows, what="evaluation text")
    return calib[:-val_windows], calib[-val_windows:], evaluation, split.description


def _batches(n: int, batch: int, steps: int, seed: int) -> list[torch.Tensor]:
    """Window indices per step: successive seeded permutations, so the order depends on the seed only."""
    gen = torch.Generator().manual_seed(seed)
    pool: list[int] = []
    out = []
    for _ in range(steps):
        while len(pool) < batch:
            pool += torch.randperm(n, generator=gen).tolist()
        out.append(torch.tensor(pool[:batch]))
        pool = pool[batch:]
    return out


def check_options(
    model: str,
    adapter: str,
    qubits: int,
    qnn_layers: int,
    targets: str | list[str],
    steps: int,
    seq_len: int,
    batch: int,
    lr: float,
    seed: int,
    eval_windows: int,
    save: Path | str | None,
    eval_text: Path | str | None,
    device: str,
) -> dict[str, Any]:
    """Every check that needs no model, in a second: names, counts, the learning rate, files, memory."""
    from qscale.quantum.device import resolve_device

    check_model_name(model)
    check_adapter(adapter)
    opts: dict[str, Any] = {
        "targets": parse_targets(targets),
        "qubits": check_count(qubits, "--qubits"),
        "qnn_layers": check_count(qnn_layers, "--qnn-layers"),
        "steps": check_count(steps, "--steps"),
        "seq_len": check_count(seq_len, "--seq-len", 2),
        "batch": check_count(batch, "--batch"),
        "seed": check_count(seed, "--seed", 0),
        "eval_windows": check_count(eval_windows, "--eval-windows"),
        "lr": check_lr(lr),
    }
    check_save_folder(save)
    opts["extra"] = read_text_file(eval_text, "--eval-text") if eval_text is not None else None
    opts["device"] = resolve_device(device)
    if adapter == "quantum":
        from qscale.qnn import QuantumLayer

        QuantumLayer(opts["qubits"], opts["qnn_layers"])  # the layer's own checks (and memory guard) on one row
        guard_memory(opts["qubits"], opts["qnn_layers"], opts["batch"] * opts["seq_len"], 1, opts["device"])
    return opts


def run_finetune(
    model: str = "tiny-random",
    adapter: str = "quantum",
    qubits: int = 8,
    qnn_layers: int = 2,
    targets: str | list[str] = "q_proj,v_proj",
    steps: int = 60,
    seq_len: int = 128,
    batch: int = 4,
    lr: float = 1e-3,
    seed: int = 0,
    eval_text: Path | str | None = None,
    save: Path | str | None = None,
    device: str = "auto",
    eval_windows: int = EVAL_WINDOWS,
    val_windows: int = VAL_WINDOWS,
    loaded: LoadedModel | None = None,
    cache: dict | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> FinetuneResult:
    """Train one adapter kind on the pydoc calibration text and measure perplexity before and after.

    `loaded` lets a caller reuse one loaded model across runs (it is deep-copied, never modified); `cache`
    (any dict kept by the caller) reuses the base model's perplexities, which do not depend on the adapter.
    """
    t_start = time.perf_counter()
    stage = on_stage or (lambda msg: None)
    opts = check_options(
        model if loaded is None else loaded.name,
        adapter,
        qubits,
        qnn_layers,
        targets,
        steps,
        seq_len,
        batch,
        lr,
        seed,
        eval_windows,
        save,
        eval_text,
        device,
    )
    names, qubits, qnn_layers, steps = opts["targets"], opts["qubits"], opts["qnn_layers"], opts["steps"]
    seq_len, batch, lr, seed = opts["seq_len"], opts["batch"], opts["lr"], opts["seed"]
    eval_windows, extra, target = opts["eval_windows"], opts["extra"], opts["device"]
    cache = {} if cache is None else cache

    own = loaded is None
    if loaded is None:
        stage(f"loading {model}")
        loaded = load_causal_lm(model, target)
    base = loaded.model
    check_finite(base)  # a NaN weight would reach the quantum layers' own NaN check only mid-training
    plan = plan_adapters(base, adapter, names, qubits, qnn_layers)
    if adapter == "quantum":
        guard_memory(qubits, qnn_layers, batch * seq_len, len(plan.modules), next(base.parameters()).device)

    train, val, evaluation, text_desc = _split_windows(loaded.tokenizer, seq_len, eval_windows, val_windows)
    extra_windows = None
    if extra is not None:
        extra_windows = token_windows(loaded.tokenizer, extra, seq_len, eval_windows, what="--eval-text")

    key = (id(base), seq_len, eval_windows, val_windows, hash(extra))
    if key not in cache:
        stage("perplexity of the base model")
        before = {"eval": perplexity(base, evaluation).perplexity, "val": perplexity(base, val).perplexity}
        if extra_windows is not None:
            before["text"] = perplexity(base, extra_windows).perplexity
        cache[key] = before
    before = cache[key]

    work = base if own else copy.deepcopy(base)  # a caller's model stays untouched for its next run
    adapted = insert_adapters(work, adapter, names, qubits, qnn_layers, seed=seed, plan=plan)
    net = adapted.model
    params = [p for _, p in adapted.trainable()]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    dev = params[0].device
    circuits = count_circuits(adapted, batch * seq_len) if adapter == "quantum" else None

    stage(f"training {adapter} adapters ({plan.trainable_params} parameters, {steps} steps)")
    losses: list[float] = []
    step_s: list[float] = []
    core_s: list[float] = []
    net.train()
    for step, idx in enumerate(_batches(train.shape[0], batch, steps, seed), start=1):
        ids = train[idx].to(dev)
        t0 = time.perf_counter()
        core0 = adapted.timer.seconds
        loss = net(input_ids=ids, labels=ids, use_cache=False).loss
        if not torch.isfinite(loss):
            raise QscaleUserError(f"training diverged: the loss is {float(loss)} at step {step} (lower --lr)")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        step_s.append(time.perf_counter() - t0)
        core_s.append(adapted.timer.seconds - core0)
        losses.append(float(loss.detach()))
        if on_step is not None:
            on_step(step, steps, losses[-1])
    net.eval()

    stage("perplexity after training")
    after_eval = perplexity(net, evaluation).perplexity
    after_val = perplexity(net, val).perplexity
    after_text = perplexity(net, extra_windows).perplexity if extra_windows is not None else None

    timed = step_s[1:] or step_s
    core_timed = core_s[1:] or core_s
    core_per_step = sum(core_timed) / len(core_timed)
    notes = [
        f"seconds measured on {dev}; the first step (one-off set-up) is reported apart",
        "perplexity: exp(mean token NLL), windows of seq_len tokens, GPTQ's convention (qscale.llm.perplexity)",
    ]
    projected = None
    if circuits is not None:
        projected = project_qpu(circuits, qubits)
        _ledger_qpu(circuits, qubits, steps)
        notes.append(f"QPU figures are projected from counted circuits with {circuits.shots} assumed shots each")
    result = FinetuneResult(
        model=loaded.name,
        model_source=loaded.source,
        adapter=adapter,
        targets=list(names),
        adapted_modules=len(plan.modules),
        qubits=qubits,
        qnn_layers=qnn_layers,
        lora_rank=plan.lora_rank,
        lora_rank_pattern=plan.lora_rank_pattern,
        mlp_hidden=plan.mlp_hidden,
        trainable_params=adapted.trainable_count(),
        trainable_params_by_adapter=dict(plan.counts),
        steps=steps,
        seq_len=seq_len,
        batch=batch,
        lr=lr,
        seed=seed,
        device=str(dev),
        text=text_desc,
        train_windows=int(train.shape[0]),
        val_windows=int(val.shape[0]),
        eval_windows=int(evaluation.shape[0]),
        perplexity_before=before["eval"],
        perplexity_after=after_eval,
        perplexity_validation_before=before["val"],
        perplexity_validation_after=after_val,
        train_loss=losses,
        seconds_per_step=sum(timed) / len(timed),
        seconds_first_step=step_s[0],
        quantum_seconds_per_step=core_per_step if adapter == "quantum" else 0.0,
        adapter_core_seconds_per_step=core_per_step if adapter != "lora" else 0.0,
        circuits_per_step=circuits.circuits_per_step if circuits else None,
        circuits_per_generated_token=circuits.circuits_per_generated_token if circuits else None,
        circuit_formula=circuits.formula() if circuits else None,
        projected_qpu_per_step=projected,
        seconds=0.0,
        perplexity_eval_text=after_text,
        perplexity_eval_text_before=before.get("text"),
        eval_text=str(eval_text) if eval_text is not None else None,
        notes=notes,
    )
    if save is not None:
        stage(f"saving the adapter to {save}")
        meta = {
            "model": loaded.name,
            "seed": seed,
            "seq_len": seq_len,
            "eval_windows": eval_windows,
            "perplexity_after": after_eval,
            "trained": {"steps": steps, "batch": batch, "lr": lr},
        }
        result.saved = str(save_adapter(adapted, save, meta))
    result.seconds = time.perf_counter() - t_start
    return result


def _ledger_qpu(circuits: CircuitCount, qubits: int, steps: int) -> None:
    """Attach the training's projected QPU work to the active energy ledger, if any."""
    from qscale.energy.ledger import current_ledger

    ledger = current_ledger()
    if ledger is not None:
        ledger.add_qpu(
            "superconducting",
            qubits,
            circuits.two_qubit_depth,
            circuits.shots,
            circuits=circuits.circuits_per_step,
            iterations=steps,
            label="quantum adapters: training circuits on a QPU (projected, parameter shift)",
        )


def reload_perplexity(
    model: str, folder: Path | str, seq_len: int, eval_windows: int = EVAL_WINDOWS, device: str = "auto"
) -> float:
    """Perplexity on the evaluation split of the base model with adapters loaded from a --save folder."""
    from qscale.qnn.adapters import load_adapter

    loaded = load_causal_lm(model, device)
    adapted, _ = load_adapter(loaded.model, folder)
    split = pydoc_split()
    windows = token_windows(loaded.tokenizer, split.evaluation, seq_len, eval_windows, what="evaluation text")
    return perplexity(adapted.model, windows).perplexity
