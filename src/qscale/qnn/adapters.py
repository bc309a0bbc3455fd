"""Parameter-efficient adapters beside frozen linear layers: quantum, classical bottleneck (MLP), and LoRA (peft).

Every adapter leaves the frozen weight W alone and adds a trainable low-width path:

    quantum:  h = W·x + B·Q(angles(A·x))    Q = QuantumLayer on n qubits (<Z_i> read-out, n outputs)
    mlp:      h = W·x + B·M(A·x)            M = tanh MLP n -> k -> n (a bottleneck adapter with a small MLP)
    lora:     h = W·x + (α/r)·B·A·x         through the `peft` library, not re-implemented

A: d_in -> n and B: n -> d_out carry no bias; B starts at zero, so a freshly adapted model computes exactly
what the base model computes and training starts there (as LoRA does).

Angles: the quantum core encodes `(π/2)·tanh(A·x)`. An angle encoding is 2π-periodic, so an unbounded A·x
(SmolLM2's normed hidden states have outlier channels in the tens) would wrap around and alias distant inputs
onto the same state, and the gradient through cos/sin of a large angle oscillates in sign. tanh keeps every
angle in (−π/2, π/2), where the encoding is injective and smooth, and is linear near 0, where A·x starts.

Sizes are matched by count, not by name: the quantum adapter with (n qubits, L circuit layers) sets the target
count. LoRA's rank is the one whose count comes closest to it. The MLP's hidden width is k = n (the plain
n -> n -> n MLP) whenever that stays within 5 %, which it does unless the model is tiny; only otherwise is k the
width of closest count. (The closest count alone would give k = 2 for n = 8, L = 2: a 2-unit information
bottleneck, a strawman rather than a baseline.) `plan_adapters` refuses a plan whose counts differ by over 5 %.

The quantum core runs once per adapter call on all B·T token rows (one batched circuit simulation), and a
`CoreTimer` records the seconds spent inside it, forward and backward, through `TimedCore`.
"""

from __future__ import annotations

import json
import math
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from qscale.errors import QscaleUserError
from qscale.quantum.torch_threads import few_threads
from qscale.validation import check_new_folder

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
ADAPTERS = ("quantum", "lora", "mlp")
MATCH_TOLERANCE = 0.05  # trainable-parameter counts of the three adapters agree within 5 %
ANGLE_SCALE = math.pi / 2
WEIGHTS_FILE = "adapter.safetensors"
CONFIG_FILE = "adapter_config.json"
FORMAT = "qscale-adapter/1"


# -- input checks ---------------------------------------------------------------------------------------
def check_adapter(kind: str) -> str:
    if kind not in ADAPTERS:
        raise QscaleUserError(f"unknown adapter {kind!r}: use one of {', '.join(ADAPTERS)}")
    return kind


def parse_targets(targets: str | Sequence[str]) -> tuple[str, ...]:
    """Comma-separated or listed module names, each one of TARGETS, no repeats, in the given order."""
    names = [t.strip() for t in targets.split(",")] if isinstance(targets, str) else [str(t).strip() for t in targets]
    names = [t for t in names if t]
    if not names:
        raise QscaleUserError(f"no target modules given: use some of {', '.join(TARGETS)}")
    unknown = [t for t in names if t not in TARGETS]
    if unknown:
        raise QscaleUserError(f"unknown target module {unknown[0]!r}: valid targets are {', '.join(TARGETS)}")
    if len(set(names)) != len(names):
        raise QscaleUserError(f"target modules repeat: {','.join(names)}")
    return tuple(names)


def check_count(value: object, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise QscaleUserError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# -- parameter counts -----------------------------------------------------------------------------------
def mlp_core_params(width: int, hidden: int) -> int:
    """TanhMLP n -> k -> n with biases: 2·n·k + k + n."""
    return 2 * width * hidden + hidden + width


def adapter_params(kind: str, shapes: Sequence[tuple[int, int]], width: int, n_layers: int = 1, size: int = 0) -> int:
    """Trainable parameters of one adapter kind over modules of (d_in, d_out).

    quantum: n·(d_in + d_out) + 3·L·n per module (A, B, StronglyEntanglingLayers weights (L, n, 3));
    mlp: n·(d_in + d_out) + 2·n·k + k + n, with k = `size`; lora: r·(d_in + d_out), with r = `size`.
    """
    total = 0
    for d_in, d_out in shapes:
        if kind == "quantum":
            total += width * (d_in + d_out) + 3 * n_layers * width
        elif kind == "mlp":
            total += width * (d_in + d_out) + mlp_core_params(width, size)
        elif kind == "lora":
            total += size * (d_in + d_out)
        else:
            check_adapter(kind)
    return total


@dataclass
class AdapterPlan:
    """Where the adapters go and how big each kind is, so that all three have the same trainable count."""

    kind: str
    targets: tuple[str, ...]
    modules: list[str]  # qualified names of the adapted nn.Linear modules
    shapes: list[tuple[int, int]]  # (d_in, d_out) per module
    qubits: int  # bottleneck width n (qubits of the quantum core; width of A for quantum and mlp)
    qnn_layers: int
    lora_rank: int  # LoRA rank of every module but those in lora_rank_pattern (alpha = rank: scaling 1)
    lora_rank_pattern: dict[str, int]  # modules given rank + 1 to close the count gap (peft's rank_pattern)
    mlp_hidden: int
    counts: dict[str, int] = field(default_factory=dict)  # trainable parameters of each kind under this plan

    @property
    def trainable_params(self) -> int:
        return self.counts[self.kind]

    def max_mismatch(self) -> float:
        """Largest relative difference of any kind's count from the quantum adapter's."""
        ref = self.counts["quantum"]
        return max(abs(c - ref) / ref for c in self.counts.values())

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["targets"] = list(self.targets)
        out["shapes"] = [list(s) for s in self.shapes]
        out["trainable_params"] = self.trainable_params
        return out


def _lora_ranks(names: list[str], shapes: list[tuple[int, int]], ref: int) -> tuple[int, dict[str, int]]:
    """One rank r for all modules, then rank r + 1 on some modules where that brings the count closer to `ref`.

    Each module's LoRA count moves in steps of d_in + d_out, so a single rank can miss `ref` by more than 5 %
    on narrow models (the quantum adapter's 3·L·n circuit weights per module are then not negligible).
    """
    per_rank = sum(a + b for a, b in shapes)
    rank = max(1, ref // per_rank)
    gap = ref - rank * per_rank
    pattern: dict[str, int] = {}
    for i in sorted(range(len(names)), key=lambda i: -sum(shapes[i])):
        step = sum(shapes[i])
        if abs(gap - step) < abs(gap):
            pattern[names[i]] = rank + 1
            gap -= step
    return rank, pattern


def match_mlp_hidden(width: int, ref: int, count: Callable[[int], int]) -> int:
    """Hidden width of the MLP core: `width` itself when its count is within MATCH_TOLERANCE of `ref`, else the
    width of closest count (see the module docstring for why not always the closest)."""
    if abs(count(width) - ref) <= MATCH_TOLERANCE * ref:
        return width
    return min(range(1, 4 * width + 2), key=lambda k: abs(count(k) - ref))


def target_modules(model: nn.Module, targets: Sequence[str]) -> list[tuple[str, nn.Linear]]:
    """(name, module) of every nn.Linear whose last name part is one of `targets`, in model order."""
    found = [
        (name, mod)
        for name, mod in model.named_modules()
        if isinstance(mod, nn.Linear) and name.rpartition(".")[2] in targets
    ]
    present = {name.rpartition(".")[2] for name, _ in found}
    missing = [t for t in targets if t not in present]
    if missing:
        raise QscaleUserError(f"the model has no {missing[0]!r} linear modules: valid targets are {', '.join(TARGETS)}")
    return found


def plan_adapters(
    model: nn.Module, kind: str, targets: str | Sequence[str], qubits: int, qnn_layers: int
) -> AdapterPlan:
    """Sizes for all three kinds on these modules: LoRA rank and MLP width chosen to match the quantum count."""
    check_adapter(kind)
    names = parse_targets(targets)
    n = check_count(qubits, "--qubits")
    layers = check_count(qnn_layers, "--qnn-layers")
    found = target_modules(model, names)
    shapes = [(mod.in_features, mod.out_features) for _, mod in found]
    ref = adapter_params("quantum", shapes, n, layers)
    rank, pattern = _lora_ranks([name for name, _ in found], shapes, ref)
    hidden = match_mlp_hidden(n, ref, lambda k: adapter_params("mlp", shapes, n, size=k))
    plan = AdapterPlan(
        kind=kind,
        targets=names,
        modules=[name for name, _ in found],
        shapes=shapes,
        qubits=n,
        qnn_layers=layers,
        lora_rank=rank,
        lora_rank_pattern=pattern,
        mlp_hidden=hidden,
        counts={
            "quantum": ref,
            "lora": sum((pattern.get(name, rank)) * (a + b) for (name, _), (a, b) in zip(found, shapes, strict=True)),
            "mlp": adapter_params("mlp", shapes, n, size=hidden),
        },
    )
    if plan.max_mismatch() > MATCH_TOLERANCE:
        raise QscaleUserError(
            f"cannot match trainable-parameter counts within {MATCH_TOLERANCE:.0%} for {n} qubits x {layers} layers "
            f"(counts {plan.counts}): use fewer --qnn-layers or more --qubits"
        )
    return plan


# -- timing of the adapter cores ------------------------------------------------------------------------
@dataclass
class CoreTimer:
    """Seconds spent inside adapter cores (forward and backward) and the rows they processed."""

    seconds: float = 0.0
    forward_calls: int = 0
    rows: int = 0

    def reset(self) -> None:
        self.seconds, self.forward_calls, self.rows = 0.0, 0, 0


def _sync(t: torch.Tensor) -> None:
    if t.is_cuda:
        torch.cuda.synchronize(t.device)


class _Timed(torch.autograd.Function):
    """Runs `core` in its own small autograd graph so both its forward and its backward can be timed."""

    @staticmethod
    def forward(
        ctx, z: torch.Tensor, core: nn.Module, timer: CoreTimer, qubits: int, *params: torch.Tensor
    ) -> torch.Tensor:
        t0 = time.perf_counter()
        with torch.enable_grad(), few_threads(qubits):
            z_in = z.detach().requires_grad_(z.requires_grad)
            out = core(z_in)
        _sync(out)
        timer.seconds += time.perf_counter() - t0
        timer.forward_calls += 1
        timer.rows += int(z.shape[0])
        ctx.timer, ctx.z_in, ctx.out, ctx.params, ctx.qubits = timer, z_in, out, params, qubits
        return out.detach()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        t0 = time.perf_counter()
        wants = [ctx.z_in] if ctx.z_in.requires_grad else []
        wants += [p for p in ctx.params if p.requires_grad]
        with few_threads(ctx.qubits):
            grads = list(torch.autograd.grad(ctx.out, wants, grad, allow_unused=True)) if wants else []
        _sync(grad)
        ctx.timer.seconds += time.perf_counter() - t0
        g_z = grads.pop(0) if ctx.z_in.requires_grad else None
        g_params = [grads.pop(0) if p.requires_grad else None for p in ctx.params]
        ctx.z_in = ctx.out = None
        return (g_z, None, None, None, *g_params)


class TimedCore(nn.Module):
    """Wraps a core module: same outputs and gradients, with the time inside it added to `timer`.

    A circuit core (`qubits` set) runs on one torch thread: a state of 2^n amplitudes per row is too small to
    share between cores, and on a busy machine the idle thread's spin-waiting made a 512-row, 8-qubit layer call
    17x slower in our runs (see qscale.quantum.torch_threads).
    """

    def __init__(self, core: nn.Module, timer: CoreTimer | None = None, qubits: int = 10**9) -> None:
        super().__init__()
        self.core = core
        self.timer = timer or CoreTimer()
        self.qubits = qubits  # few_threads(qubits) limits torch to one thread for small circuits only

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        params = [p for p in self.core.parameters()]
        if not torch.is_grad_enabled():
            t0 = time.perf_counter()
            with few_threads(self.qubits):
                out = self.core(z)
            _sync(out)
            self.timer.seconds += time.perf_counter() - t0
            self.timer.forward_calls += 1
            self.timer.rows += int(z.shape[0])
            return out
        return _Timed.apply(z, self.core, self.timer, self.qubits, *params)


# -- the adapters ---------------------------------------------------------------------------------------
class TanhMLP(nn.Module):
    """n -> k -> n with tanh after each linear map: the classical bottleneck core."""

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.inner = nn.Linear(width, hidden)
        self.outer = nn.Linear(hidden, width)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.outer(torch.tanh(self.inner(z))))


class AngleQuantum(nn.Module):
    """(π/2)·tanh into rotation angles, then the QuantumLayer (see the module docstring for why)."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layer(ANGLE_SCALE * torch.tanh(z))


class BottleneckAdapter(nn.Module):
    """h = W·x + B·core(A·x) beside a frozen nn.Linear W; B is zero at the start."""

    def __init__(
        self, base: nn.Linear, width: int, core: nn.Module, core_out: int, timer: CoreTimer, qubits: int = 10**9
    ) -> None:
        super().__init__()
        base.requires_grad_(False)
        self.base = base
        self.in_features, self.out_features = base.in_features, base.out_features
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.down = nn.Linear(self.in_features, width, bias=False, **factory)  # A: nn.Linear's (LoRA's) init
        self.core = TimedCore(core, timer, qubits)
        self.up = nn.Linear(core_out, self.out_features, bias=False, **factory)  # B
        nn.init.zeros_(self.up.weight)

    @property
    def weight(self) -> torch.Tensor:  # what code that inspects a Linear's weight (dtype, device) expects
        return self.base.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        z = self.down(x.reshape(-1, self.in_features))  # all B·T token rows at once
        h = self.up(self.core(z)).reshape(*lead, self.out_features)
        return self.base(x) + h.to(x.dtype)


class QuantumAdapter(BottleneckAdapter):
    """h = W·x + B·Q((π/2)·tanh(A·x)) with Q a QuantumLayer (n qubits, L StronglyEntanglingLayers, <Z_i>)."""

    def __init__(
        self,
        base: nn.Linear,
        qubits: int,
        qnn_layers: int,
        timer: CoreTimer | None = None,
        seed: int | None = None,
        **layer_kwargs: Any,
    ) -> None:
        from qscale.qnn import QuantumLayer

        layer = QuantumLayer(qubits, qnn_layers, seed=seed, **layer_kwargs)
        super().__init__(base, qubits, AngleQuantum(layer), int(layer.n_out), timer or CoreTimer(), qubits)
        self.core.to(base.weight.device)


class MLPAdapter(BottleneckAdapter):
    """h = W·x + B·tanhMLP(A·x): the classical bottleneck adapter of the same width and parameter count."""

    def __init__(self, base: nn.Linear, width: int, hidden: int, timer: CoreTimer | None = None) -> None:
        core = TanhMLP(width, hidden).to(device=base.weight.device, dtype=base.weight.dtype)
        super().__init__(base, width, core, width, timer or CoreTimer())


# -- insertion --------------------------------------------------------------------------------------------
@dataclass
class AdaptedModel:
    """A model with adapters in place (peft-wrapped for LoRA), its plan, and the core timer."""

    model: nn.Module
    plan: AdapterPlan
    timer: CoreTimer

    def trainable(self) -> list[tuple[str, nn.Parameter]]:
        return [(name, p) for name, p in self.model.named_parameters() if p.requires_grad]

    def trainable_count(self) -> int:
        return sum(p.numel() for _, p in self.trainable())

    def quantum_layers(self) -> list[nn.Module]:
        return [m.layer for m in self.model.modules() if isinstance(m, AngleQuantum)]


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, attr, module)


def insert_adapters(
    model: nn.Module,
    kind: str,
    targets: str | Sequence[str],
    qubits: int = 8,
    qnn_layers: int = 2,
    seed: int = 0,
    plan: AdapterPlan | None = None,
) -> AdaptedModel:
    """Freeze `model` and put one adapter of `kind` beside every target linear module (in place).

    LoRA goes through peft's `get_peft_model` (ranks from the plan; alpha = rank, so scaling 1, as the other
    two adapters have no extra scale). Initialisation is seeded: the same seed gives the same adapters.
    """
    plan = plan or plan_adapters(model, kind, targets, qubits, qnn_layers)
    model.requires_grad_(False)
    timer = CoreTimer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if plan.kind == "lora":
            from peft import LoraConfig, get_peft_model

            pattern = {re.escape(name): r for name, r in plan.lora_rank_pattern.items()}  # peft anchors at the end
            config = LoraConfig(
                r=plan.lora_rank,
                lora_alpha=plan.lora_rank,
                target_modules=list(plan.targets),
                lora_dropout=0.0,
                bias="none",
                rank_pattern=pattern,
                alpha_pattern=pattern,
            )
            with warnings.catch_warnings():  # transformers' FutureWarning about a renamed method, raised inside peft
                warnings.simplefilter("ignore", FutureWarning)
                model = get_peft_model(model, config)
        else:
            modules = dict(model.named_modules())
            for i, name in enumerate(plan.modules):
                base = modules[name]
                if plan.kind == "quantum":
                    layer_seed = seed * 10_007 + i  # distinct circuit weights per instance
                    adapter: nn.Module = QuantumAdapter(base, plan.qubits, plan.qnn_layers, timer, seed=layer_seed)
                else:
                    adapter = MLPAdapter(base, plan.qubits, plan.mlp_hidden, timer)
                _set_module(model, name, adapter)
    adapted = AdaptedModel(model, plan, timer)
    got = adapted.trainable_count()
    if got != plan.trainable_params:
        raise RuntimeError(f"{plan.kind} adapters: {got} trainable parameters, the plan has {plan.trainable_params}")
    return adapted


# -- save and load ------------------------------------------------------------------------------------------
def save_adapter(adapted: AdaptedModel, folder: Path | str, meta: dict[str, Any]) -> Path:
    """Trainable tensors as safetensors (no pickle) + the plan and `meta` as JSON, written all-or-nothing."""
    from safetensors.torch import save

    from qscale.io import atomic_folder, atomic_write_bytes, atomic_write_text, dumps

    folder = Path(folder)
    tensors = {name: p.detach().cpu().contiguous() for name, p in adapted.trainable()}
    config = {"format": FORMAT, "plan": adapted.plan.to_json(), **meta}
    with atomic_folder(folder) as tmp:
        atomic_write_bytes(tmp / WEIGHTS_FILE, save(tensors))
        atomic_write_text(tmp / CONFIG_FILE, dumps(config) + "\n")
    return folder


def check_save_folder(folder: Path | str | None) -> None:
    """Refuse a --save folder that exists and is not empty, before any work is done."""
    if folder is not None:
        check_new_folder(folder)


def read_adapter_config(folder: Path | str) -> dict[str, Any]:
    folder = Path(folder)
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise QscaleUserError(f"{folder} is not an adapter folder (no {CONFIG_FILE} / {WEIGHTS_FILE})")
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    if config.get("format") != FORMAT:
        raise QscaleUserError(f"{folder / CONFIG_FILE}: unknown format {config.get('format')!r}")
    return config


def load_adapter(model: nn.Module, folder: Path | str) -> tuple[AdaptedModel, dict[str, Any]]:
    """Insert the saved adapters into `model` (the same base model) and load their weights, checked by name."""
    from safetensors.torch import load_file

    config = read_adapter_config(folder)
    plan = config["plan"]
    adapted = insert_adapters(model, plan["kind"], plan["targets"], plan["qubits"], plan["qnn_layers"])
    if [list(s) for s in adapted.plan.shapes] != plan["shapes"]:
        raise QscaleUserError(f"{folder}: the adapters were trained on a model with other layer shapes")
    tensors = load_file(str(Path(folder) / WEIGHTS_FILE))
    params = dict(adapted.trainable())
    if set(tensors) != set(params):
        raise QscaleUserError(f"{folder}: saved tensors do not match the adapter's parameters")
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(tensors[name].to(p.device, p.dtype))
    return adapted, config
