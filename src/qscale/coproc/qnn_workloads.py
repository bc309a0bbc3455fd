"""The QNN tasks' quantum workloads: a quantum adapter's training step and a generated token, measured.

Why these are priced at all: a QuantumLayer inside a language model is the hybrid use a QPU vendor would sell,
and its circuit count grows with every token row, so the co-processor must say what one step and one token
would cost on real hardware beside the LoRA adapter of the same size on this CPU.

What is measured here: qscale's own fine-tuning (`qscale.qnn.finetune.run_finetune`) of SmolLM2 with quantum
adapters and with LoRA (peft) for a few steps at the documented protocol's shape (docs/qnn.md: adapters on
q_proj and v_proj, 8 qubits x 2 layers, 4 x 128 tokens per step), and greedy generation with each adapted model.
Counted, not timed: circuits per step (one forward circuit plus two parameter-shift circuits per angle, per
token row and adapter instance: `CircuitCount`), the circuit's two-qubit gates and depth (its Qiskit export).
Dependent rounds: decoder blocks run one after another, and every circuit an adapter needs (forward and
parameter shifts) depends only on that adapter's input, so a step is one round per decoder block (q and v of a
block share the round); so is a generated token.
"""

from __future__ import annotations

import copy
import time
import warnings
from typing import Any

from qscale.coproc.pricing import Workload, cpu_w

QNN = {"qubits": 8, "qnn_layers": 2, "targets": "q_proj,v_proj", "seq_len": 128, "batch": 4, "probe_steps": 3,
       "steps": 60, "lr": 3e-3, "prompt_tokens": 32, "tokens": 16, "generated_tokens": 256}  # fmt: skip
QUALITY_NOTE = (
    "the probe trains for a few steps only, so it measures cost, not quality; held-out perplexity of the quantum "
    "adapter beside LoRA and the MLP adapter at equal size (3 seeds) is in docs/qnn.md and the study's qnn stage"
)


def _finetune(loaded: Any, adapter: str) -> Any:
    from qscale.qnn.finetune import run_finetune

    return run_finetune(
        loaded.name, adapter, QNN["qubits"], QNN["qnn_layers"], QNN["targets"], steps=QNN["probe_steps"],
        seq_len=QNN["seq_len"], batch=QNN["batch"], lr=QNN["lr"], seed=0, device="cpu", eval_windows=1,
        val_windows=1, loaded=loaded,
    )  # fmt: skip


def _circuit_shape() -> tuple[int, int, int]:
    """(two-qubit depth, two-qubit gates, rotations) of one adapter circuit, from its Qiskit export."""
    from qscale.qnn import QuantumLayer

    qc = QuantumLayer(QNN["qubits"], QNN["qnn_layers"]).to_qiskit([0.1] * QNN["qubits"])
    two = [i for i in qc.data if i.operation.num_qubits >= 2]
    rotations = sum(1 for i in qc.data if i.operation.num_qubits == 1 and i.operation.params)
    return qc.depth(lambda i: i.operation.num_qubits >= 2), len(two), rotations


def _blocks(loaded: Any) -> int:
    from qscale.llm.quant.runner import decoder_blocks

    return len(decoder_blocks(loaded.model)[1])


def probe_qnn_step(loaded: Any) -> list[Workload]:
    quantum, lora = _finetune(loaded, "quantum"), _finetune(loaded, "lora")
    depth, gates, rotations = _circuit_shape()
    blocks = _blocks(loaded)
    circuits = quantum.circuits_per_step
    host = max(quantum.seconds_per_step - quantum.quantum_seconds_per_step, 0.0)  # the classical rest of a step
    shots = quantum.projected_qpu_per_step["shots_per_circuit_assumed"] if quantum.projected_qpu_per_step else 1000
    return [
        Workload(
            task="qnn-step", scope=f"one training step of quantum adapters in {loaded.name} ({quantum.adapted_modules} "
            f"adapters on {QNN['targets']}, {QNN['batch']} x {QNN['seq_len']} tokens); {QNN['steps']} steps in all",
            qubits=QNN["qubits"], two_qubit_depth=depth, two_qubit_gates=gates, rotations=rotations,
            measurements=QNN["qubits"], shots=shots, circuits_per_iteration=max(1, round(circuits / blocks)),
            iterations=QNN["steps"] * blocks, host_s_per_iteration=host / blocks,
            classical={"method": f"LoRA (peft) of the same size ({lora.trainable_params:,} vs "
                       f"{quantum.trainable_params:,} trainable parameters), same steps and tokens",
                       "seconds": lora.seconds_per_step * QNN["steps"],
                       "energy_j": lora.seconds_per_step * QNN["steps"] * cpu_w() * _threads(),
                       "kind": "measured (seconds per step, probe); energy at the busy cores' power"},
            quality={"metric": "held-out perplexity", "quantum": None, "classical": None, "higher_is_better": False,
                     "tolerance": 0.0, "kind": "not measured in the probe", "note": QUALITY_NOTE},
            source=f"qscale qnn finetune --adapter quantum|lora on {loaded.name} for {QNN['probe_steps']} steps at "
            f"the docs/qnn.md shape; circuits = {quantum.circuit_formula}; rounds = {blocks} decoder blocks per "
            f"step x {QNN['steps']} steps; shots per circuit assumed ({shots}); host work per round = the measured "
            f"step time outside the quantum layers / {blocks}",
            measured={"probe_steps": QNN["probe_steps"], "circuits_per_step": circuits,
                      "seconds_per_step_quantum_simulated": quantum.seconds_per_step,
                      "quantum_layer_seconds_per_step": quantum.quantum_seconds_per_step,
                      "seconds_per_step_lora": lora.seconds_per_step, "decoder_blocks": blocks,
                      "adapter_instances": quantum.adapted_modules},
        )
    ]  # fmt: skip


def _seconds_per_token(loaded: Any, kind: str) -> tuple[float, int]:
    """Greedy decoding with a KV cache through an adapted copy of the model: measured seconds per new token,
    and the number of quantum layers the copy holds (circuits per token)."""
    import torch

    from qscale.qnn.adapters import insert_adapters

    adapted = insert_adapters(copy.deepcopy(loaded.model), kind, QNN["targets"], QNN["qubits"], QNN["qnn_layers"])
    model = adapted.model.eval()
    ids = (torch.arange(QNN["prompt_tokens"]) * 7919 % loaded.model.config.vocab_size)[None]  # any valid tokens
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers renames past_key_values; both work here
        out = model(input_ids=ids, use_cache=True)
        past, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
        t0 = time.perf_counter()
        for _ in range(QNN["tokens"]):
            out = model(input_ids=nxt, past_key_values=past, use_cache=True)
            past, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
    return (time.perf_counter() - t0) / QNN["tokens"], len(adapted.quantum_layers())


def probe_qnn_token(loaded: Any) -> list[Workload]:
    depth, gates, rotations = _circuit_shape()
    blocks = _blocks(loaded)
    (quantum_s, instances), (lora_s, _) = _seconds_per_token(loaded, "quantum"), _seconds_per_token(loaded, "lora")
    n = QNN["generated_tokens"]
    from qscale.qnn.finetune import ASSUMED_SHOTS

    return [
        Workload(
            task="qnn-token", scope=f"generating {n} tokens through {instances} quantum adapters in {loaded.name} "
            f"(KV cache, batch 1)",
            qubits=QNN["qubits"], two_qubit_depth=depth, two_qubit_gates=gates, rotations=rotations,
            measurements=QNN["qubits"], shots=ASSUMED_SHOTS, circuits_per_iteration=max(1, round(instances / blocks)),
            iterations=n * blocks, host_s_per_iteration=lora_s / blocks,
            classical={"method": "the same model with LoRA (peft) adapters of the same size, greedy decoding",
                       "seconds": lora_s * n, "energy_j": lora_s * n * cpu_w() * _threads(),
                       "kind": "measured (seconds per token, probe); energy at the busy cores' power"},
            quality={"metric": "held-out perplexity", "quantum": None, "classical": None, "higher_is_better": False,
                     "tolerance": 0.0, "kind": "not measured in the probe", "note": QUALITY_NOTE},
            source=f"greedy decoding of {QNN['tokens']} tokens after a {QNN['prompt_tokens']}-token prompt with "
            f"quantum and LoRA adapters ({QNN['qubits']} qubits x {QNN['qnn_layers']} layers on {QNN['targets']}); "
            f"one circuit per adapter instance per token (no gradient), {blocks} dependent rounds per token; "
            f"scaled to {n} tokens; shots per circuit assumed ({ASSUMED_SHOTS})",
            measured={"seconds_per_token_quantum_simulated": quantum_s, "seconds_per_token_lora": lora_s,
                      "adapter_instances": instances, "decoder_blocks": blocks, "probe_tokens": QNN["tokens"]},
        )
    ]  # fmt: skip


def _threads() -> int:
    import torch

    return max(1, torch.get_num_threads())
