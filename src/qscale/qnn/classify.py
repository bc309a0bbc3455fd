"""Classifier heads on frozen all-MiniLM-L6-v2 sentence embeddings: quantum, linear and MLP, at equal size.

The setting of Kim et al. 2025 (arXiv 2504.08732): a frozen sentence transformer, a linear projection of its
embedding to n features, a parameterised circuit on n qubits, and a linear read-out. The classical heads keep
the same projection and read-out and replace the circuit:

    quantum:  z = P·e;  y = R·Q((π/2)·tanh(z))      Q = QuantumLayer(n qubits, L layers), <Z_i> read-out
    linear:   z = P·e;  y = R·z                      (3·L·n parameters fewer: within 5 % at these sizes)
    mlp:      z = P·e;  y = R·tanhMLP(z)             tanh MLP n -> n -> n (within 5 % of the quantum count;
                                                     `adapters.match_mlp_hidden`)

Protocol, identical for every head: embeddings standardised with the training split's mean and deviation;
AdamW on minibatches, a fixed number of epochs; after each epoch the validation split (its own modules)
is scored and the best epoch kept; the learning rate is picked from a small grid by validation macro-F1; the
test split (other modules again) is scored once, at the end. The seed sets the initialisation and the batch
order; the data and its split do not depend on it.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from qscale.errors import QscaleUserError
from qscale.qnn.adapters import (
    MATCH_TOLERANCE,
    AngleQuantum,
    CoreTimer,
    TanhMLP,
    TimedCore,
    check_count,
    match_mlp_hidden,
)
from qscale.qnn.docstrings import EMBEDDING_NOTE, SPLITS, docstring_embeddings, stdlib_docstrings, subset

HEADS = ("quantum", "linear", "mlp")
LR_GRID = (3e-3, 1e-2, 3e-2)
EPOCHS = 30
BATCH = 64
EVAL_CHUNK = 1024


def check_head(head: str) -> str:
    if head not in HEADS:
        raise QscaleUserError(f"unknown head {head!r}: use one of {', '.join(HEADS)}")
    return head


def head_params(head: str, dim: int, width: int, classes: int, n_layers: int = 1, hidden: int = 0) -> int:
    """Trainable parameters: projection dim -> n (with bias), core, read-out n -> classes (with bias)."""
    shared = dim * width + width + width * classes + classes
    if head == "quantum":
        return shared + 3 * n_layers * width
    if head == "mlp":
        return shared + 2 * width * hidden + hidden + width
    return shared


def match_hidden(dim: int, width: int, classes: int, n_layers: int) -> int:
    """Hidden width of the MLP core: n when within 5 % of the quantum head's count (as for the adapters)."""
    ref = head_params("quantum", dim, width, classes, n_layers)
    return match_mlp_hidden(width, ref, lambda k: head_params("mlp", dim, width, classes, hidden=k))


class Head(nn.Module):
    """projection -> core -> read-out; the core is a QuantumLayer, nothing, or a tanh MLP."""

    def __init__(self, head: str, dim: int, width: int, classes: int, n_layers: int, hidden: int, seed: int) -> None:
        super().__init__()
        self.timer = CoreTimer()
        self.proj = nn.Linear(dim, width)
        if head == "quantum":
            from qscale.qnn import QuantumLayer

            layer = QuantumLayer(width, n_layers, seed=seed)
            self.core: nn.Module = TimedCore(AngleQuantum(layer), self.timer, width)
            core_out = int(layer.n_out)
        elif head == "mlp":
            self.core = TimedCore(TanhMLP(width, hidden), self.timer)
            core_out = width
        else:
            self.core = nn.Identity()
            core_out = width
        self.readout = nn.Linear(core_out, classes)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return self.readout(self.core(self.proj(e)))


@dataclass
class ClassifyResult:
    head: str
    qubits: int
    qnn_layers: int
    mlp_hidden: int
    seed: int
    accuracy: float
    macro_f1: float
    chance_accuracy: float  # the share of the test split's most frequent class
    classes: list[str]
    trainable_params: int
    trainable_params_by_head: dict[str, int]
    lr: float
    lr_grid: list[float]
    best_epoch: int
    epochs: int
    val_macro_f1: float
    val_accuracy: float
    data: dict[str, Any]
    seconds: float
    quantum_seconds: float
    device: str
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _scores(model: nn.Module, x: torch.Tensor, y: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i : i + EVAL_CHUNK]).argmax(1) for i in range(0, x.shape[0], EVAL_CHUNK)])
    p = pred.cpu().numpy()
    return float(accuracy_score(y, p)), float(f1_score(y, p, average="macro", zero_division=0))


def _train(
    head: str,
    x: dict[str, torch.Tensor],
    y: dict[str, np.ndarray],
    sizes: dict[str, int],
    lr: float,
    seed: int,
    epochs: int,
) -> tuple[Head, dict[str, float]]:
    """One run at one learning rate; returns the model restored to its best validation epoch."""
    torch.manual_seed(seed)
    model = Head(head, seed=seed, **sizes).to(x["train"].device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    target = torch.as_tensor(y["train"], device=x["train"].device)
    best = {"val_macro_f1": -1.0, "val_accuracy": 0.0, "epoch": 0}
    state = None
    for epoch in range(1, epochs + 1):
        model.train()
        for idx in torch.randperm(x["train"].shape[0], generator=gen).split(BATCH):
            loss = nn.functional.cross_entropy(model(x["train"][idx]), target[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        acc, f1 = _scores(model, x["val"], y["val"])
        if f1 > best["val_macro_f1"]:
            best = {"val_macro_f1": f1, "val_accuracy": acc, "epoch": epoch}
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    assert state is not None
    model.load_state_dict(state)
    return model, best


def check_options(
    head: str, qubits: int, qnn_layers: int, seed: int, epochs: int, lr_grid: tuple[float, ...], device: str
) -> torch.device:
    """Every check that needs no data, including the memory guard; returns the device."""
    from qscale.quantum.device import resolve_device

    check_head(head)
    check_count(qubits, "--qubits")
    check_count(qnn_layers, "--qnn-layers")
    check_count(seed, "--seed", 0)
    check_count(epochs, "--epochs")
    if not lr_grid or not all(isinstance(v, int | float) and math.isfinite(v) and v > 0 for v in lr_grid):
        raise QscaleUserError(f"learning rates must be positive finite numbers, got {list(lr_grid)}")
    dev = resolve_device(device)
    if head == "quantum":
        from qscale.qnn import QuantumLayer
        from qscale.qnn.layer.kernel import state_copies
        from qscale.quantum.memory import check_memory

        QuantumLayer(qubits, qnn_layers)  # the layer's own checks on one row
        check_memory(qubits, EVAL_CHUNK, torch.complex64, dev, copies=state_copies(qnn_layers), what="classifier batch")
    return dev


def run_classify(
    head: str = "quantum",
    qubits: int = 8,
    qnn_layers: int = 2,
    seed: int = 0,
    epochs: int = EPOCHS,
    lr_grid: tuple[float, ...] = LR_GRID,
    device: str = "auto",
    max_examples: int | None = None,
) -> ClassifyResult:
    """Train and score one head on the stdlib-docstring task (see the module docstring for the protocol).

    `max_examples` keeps every k-th example of the task (quick runs; `docstrings.subset`); None uses all.
    """
    t0 = time.perf_counter()
    dev = check_options(head, qubits, qnn_layers, seed, epochs, lr_grid, device)
    data = stdlib_docstrings()
    keep = subset(data, max_examples)
    emb = docstring_embeddings(str(device), max_examples)
    if not np.isfinite(emb).all():
        raise QscaleUserError("the sentence embeddings contain NaN or infinite values")
    labels, split = data.labels[keep], data.split[keep]
    idx = {name: np.flatnonzero(split == i) for i, name in enumerate(SPLITS)}
    mean = emb[idx["train"]].mean(0)
    std = emb[idx["train"]].std(0) + 1e-6
    x = {k: torch.as_tensor((emb[v] - mean) / std, dtype=torch.float32, device=dev) for k, v in idx.items()}
    y = {k: labels[v] for k, v in idx.items()}
    dim, classes = emb.shape[1], len(data.classes)
    hidden = match_hidden(dim, qubits, classes, qnn_layers)
    counts = {h: head_params(h, dim, qubits, classes, qnn_layers, hidden) for h in HEADS}
    ref = counts["quantum"]
    if max(abs(c - ref) / ref for c in counts.values()) > MATCH_TOLERANCE:
        raise QscaleUserError(f"head sizes differ by over {MATCH_TOLERANCE:.0%} ({counts}): use fewer --qnn-layers")
    sizes = {"dim": dim, "width": qubits, "classes": classes, "n_layers": qnn_layers, "hidden": hidden}

    runs = []
    for lr in lr_grid:
        model, best = _train(head, x, y, sizes, float(lr), seed, epochs)
        runs.append((best["val_macro_f1"], -lr, lr, model, best))
    _, _, lr, model, best = max(runs, key=lambda r: (r[0], r[1]))
    acc, f1 = _scores(model, x["test"], y["test"])
    got = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if got != counts[head]:
        raise RuntimeError(f"{head} head has {got} parameters, the count says {counts[head]}")
    test_counts = np.bincount(y["test"], minlength=classes)
    quantum_s = sum(r[3].timer.seconds for r in runs) if head == "quantum" else 0.0
    return ClassifyResult(
        head=head,
        qubits=qubits,
        qnn_layers=qnn_layers,
        mlp_hidden=hidden,
        seed=seed,
        accuracy=acc,
        macro_f1=f1,
        chance_accuracy=float(test_counts.max() / test_counts.sum()),
        classes=list(data.classes),
        trainable_params=got,
        trainable_params_by_head=counts,
        lr=float(lr),
        lr_grid=[float(v) for v in lr_grid],
        best_epoch=best["epoch"],
        epochs=epochs,
        val_macro_f1=best["val_macro_f1"],
        val_accuracy=best["val_accuracy"],
        data={
            **data.summary(),
            "used_examples": int(keep.size),
            **{f"used_{k}_examples": int(v.size) for k, v in idx.items()},
        },
        seconds=time.perf_counter() - t0,
        quantum_seconds=quantum_s,
        device=str(dev),
        notes=[
            EMBEDDING_NOTE,
            "accuracy and macro-F1 (scikit-learn) on the test split, whose source files appear in no other split",
            "chance_accuracy: always answering the test split's most frequent class",
            *(["quantum head simulated exactly (expectation values, no shot noise)"] if head == "quantum" else []),
        ],
    )
