"""Sequential, layer-by-layer quantization of a decoder model, as GPTQ runs it.

Inputs to block 0 are recorded once; each block then sees the outputs of the already-quantized blocks
before it. Inside a block the linear layers are quantized in execution order, grouped by shared input
(for Llama: q/k/v, then o, then gate/up, then down), and each group's Hessian is recorded with the
earlier groups of the same block already quantized. Only the forward pass up to the group's input runs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import Any

import torch
from torch import nn

from qscale.errors import QscaleUserError
from qscale.llm.quant.base import LayerQuantizer, QuantizedWeight
from qscale.llm.quant.hessian import HessianAccumulator, relative_error


class _StopForwardError(Exception):
    """Raised by a hook to end a forward pass once the input we need has been seen."""


@dataclass
class LayerResult:
    name: str
    shape: tuple[int, int]
    relative_error: float
    seconds: float
    stats: dict[str, Any]
    quantized: QuantizedWeight = field(repr=False)


def decoder_blocks(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """The transformer blocks: the first ModuleList named '...layers' (model.model.layers for Llama)."""
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and name.split(".")[-1] in ("layers", "h", "blocks") and len(module):
            return name, module
    raise QscaleUserError("could not find the transformer blocks of this model (no '.layers' module list)")


def select_layers(model: nn.Module, pattern: str = "*") -> list[str]:
    """Names of the blocks' linear layers that match the fnmatch pattern (e.g. 'model.layers.0.*')."""
    prefix, blocks = decoder_blocks(model)
    names = [
        f"{prefix}.{i}.{sub}"
        for i, block in enumerate(blocks)
        for sub, module in block.named_modules()
        if isinstance(module, nn.Linear)
    ]
    chosen = [n for n in names if fnmatch(n, pattern)]
    if not chosen:
        raise QscaleUserError(
            f"--layers {pattern!r} matches no linear layer of the transformer blocks "
            f"(names look like {names[0]!r})" if names else "the model's blocks have no linear layers"
        )
    return chosen


def check_finite(model: nn.Module) -> None:
    """A NaN or inf anywhere would make every later number meaningless: refuse before quantizing."""
    for name, param in model.named_parameters():
        if not torch.isfinite(param).all():
            raise QscaleUserError(f"weight {name} contains NaN or infinite values")


def _block_output(out: Any) -> torch.Tensor:
    return out[0] if isinstance(out, tuple | list) else out


@torch.no_grad()
def capture_block_inputs(
    model: nn.Module, block: nn.Module, windows: torch.Tensor, batch_size: int
) -> list[tuple[torch.Tensor, dict[str, Any]]]:
    """(hidden states, keyword arguments) entering the first block, one pair per calibration batch."""
    device = next(model.parameters()).device
    captured: list[tuple[torch.Tensor, dict[str, Any]]] = []

    def hook(_module: nn.Module, args: tuple, kwargs: dict) -> None:
        hidden = args[0] if args else kwargs.pop("hidden_states")
        captured.append((hidden.detach(), {k: v for k, v in kwargs.items() if k != "hidden_states"}))
        raise _StopForwardError

    handle = block.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        for start in range(0, windows.shape[0], batch_size):
            with contextlib.suppress(_StopForwardError):
                model(input_ids=windows[start : start + batch_size].to(device), use_cache=False)
    finally:
        handle.remove()
    return captured


def _linear_children(block: nn.Module) -> dict[str, nn.Linear]:
    return {name: m for name, m in block.named_modules() if isinstance(m, nn.Linear)}


@torch.no_grad()
def execution_groups(block: nn.Module, hidden: torch.Tensor, kwargs: dict[str, Any]) -> list[list[str]]:
    """The block's linear layers in the order they run, consecutive ones fed the same tensor grouped.

    "Same" is object identity, with every input kept alive until the pass ends: comparing storage
    addresses would let a freed input's memory, reused by the next one, merge unrelated layers.
    """
    order: list[tuple[str, torch.Tensor]] = []
    handles = [
        m.register_forward_pre_hook(lambda _m, args, name=name: order.append((name, args[0])))
        for name, m in _linear_children(block).items()
    ]
    try:
        block(hidden[:1], **_first_of_batch(kwargs))
    finally:
        for h in handles:
            h.remove()
    groups: list[list[str]] = []
    previous: torch.Tensor | None = None
    for name, x in order:
        if groups and x is previous and name not in groups[-1]:
            groups[-1].append(name)
        elif not any(name in g for g in groups):
            groups.append([name])
        previous = x
    return groups


def _first_of_batch(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for a batch of one (tensors with a batch dimension > 1 are sliced)."""

    def cut(v: Any) -> Any:
        if isinstance(v, torch.Tensor) and v.ndim > 0 and v.shape[0] > 1:
            return v[:1]
        if isinstance(v, tuple):
            return tuple(cut(x) for x in v)
        return v

    return {k: cut(v) for k, v in kwargs.items()}


@torch.no_grad()
def record_hessian(
    block: nn.Module, module: nn.Linear, inputs: list[tuple[torch.Tensor, dict[str, Any]]]
) -> torch.Tensor:
    """H = 2XXᵀ/n of `module`'s inputs over all batches, running the block only up to that module."""
    acc = HessianAccumulator(module.in_features, module.weight.device)

    def hook(_m: nn.Module, args: tuple) -> None:
        acc.add(args[0])
        raise _StopForwardError

    handle = module.register_forward_pre_hook(hook)
    try:
        for hidden, kwargs in inputs:
            with contextlib.suppress(_StopForwardError):
                block(hidden, **kwargs)
    finally:
        handle.remove()
    return acc.hessian


@torch.no_grad()
def record_block(
    block: nn.Module, modules: dict[str, nn.Linear], inputs: list[tuple[torch.Tensor, dict[str, Any]]]
) -> tuple[dict[str, torch.Tensor], list[tuple[torch.Tensor, dict[str, Any]]]]:
    """Every module's input Hessian and the block's outputs from one full pass over the batches.

    One pass serves every layer whose input does not depend on another layer's quantization still to come:
    a data-free method (all weights quantized first) or the one-pass recording order.
    """
    accs = {name: HessianAccumulator(m.in_features, m.weight.device) for name, m in modules.items()}
    handles = [m.register_forward_pre_hook(lambda _m, args, acc=accs[name]: acc.add(args[0]))
               for name, m in modules.items()]  # fmt: skip
    try:
        outputs = [(_block_output(block(h, **kw)), kw) for h, kw in inputs]
    finally:
        for h in handles:
            h.remove()
    return {name: acc.hessian for name, acc in accs.items()}, outputs


def quantize_model(
    model: nn.Module, windows: torch.Tensor, make: Callable[[], LayerQuantizer], pattern: str = "*",
    batch_size: int = 8, on_layer: Callable[[str, int, int], None] | None = None, true_sequential: bool = True,
) -> list[LayerResult]:
    """Quantize every selected linear layer in place, sequentially; returns one LayerResult per layer.

    true_sequential=False records every group's Hessian of a block before quantizing any of its layers (the
    order llmcompressor's sequential pipeline uses), instead of after the block's earlier groups are quantized.
    A data-free method (round-to-nearest) quantizes a block's layers first and records each layer's Hessian
    (for its reported error) and the block's output in one pass: the same numbers as the sequential order.
    """
    check_finite(model)
    selected = select_layers(model, pattern)
    prefix, blocks = decoder_blocks(model)
    model.eval()
    data_free = not make().needs_hessian
    inputs = capture_block_inputs(model, blocks[0], windows, batch_size)
    by_block = {i: [n for n in selected if n.startswith(f"{prefix}.{i}.")] for i in range(len(blocks))}
    last = max(i for i, names in by_block.items() if names)
    results: list[LayerResult] = []
    started = 0

    def quantize(name: str, module: nn.Linear, H: torch.Tensor | None) -> LayerResult:
        nonlocal started
        if on_layer is not None:
            on_layer(name, started, len(selected))
        started += 1
        return _quantize_linear(name, module, H, make)

    for i in range(last + 1):
        block, outputs = blocks[i], None
        if by_block[i]:
            full = f"{prefix}.{i}."
            linears = _linear_children(block)
            wanted = [sub for sub in linears if full + sub in by_block[i]]
            groups = [g for g in execution_groups(block, *inputs[0]) if set(g) & set(wanted)]
            one = lambda sub, H, full=full, linears=linears: quantize(full + sub, linears[sub], H)  # noqa: E731
            done, outputs = _quantize_block(block, linears, groups, wanted, inputs, one, data_free, true_sequential)
            results += done
        if i < last:
            with torch.no_grad():
                inputs = outputs or [(_block_output(block(h, **kw)), kw) for h, kw in inputs]
    if on_layer is not None:
        on_layer("", len(results), len(selected))
    return results


def _quantize_block(
    block: nn.Module, linears: dict[str, nn.Linear], groups: list[list[str]], wanted: list[str], inputs: list,
    quantize: Callable[[str, torch.Tensor | None], LayerResult], data_free: bool, true_sequential: bool,
) -> tuple[list[LayerResult], list | None]:
    """The block's wanted layers group by group, and the block's outputs when they are already known.

    True-sequential: each group's Hessian is recorded after the block's earlier groups are quantized. One pass
    records every group's Hessian up front instead: llmcompressor's order, or a data-free method, which
    quantizes the block first so that the pass also gives each layer's error inputs and the block's output.
    """  # fmt: skip
    originals = {sub: linears[sub].weight.detach().clone() for sub in wanted} if data_free else {}
    done = {sub: quantize(sub, None) for sub in wanted} if data_free else {}  # before the pass: its inputs
    one_pass = data_free or not true_sequential
    hessians, outputs = record_block(block, {g[0]: linears[g[0]] for g in groups}, inputs) if one_pass else ({}, None)
    out = []
    for group in groups:
        H = hessians[group[0]] if one_pass else record_hessian(block, linears[group[0]], inputs)
        for sub in (s for s in group if s in wanted):
            if data_free:  # the error on the inputs the layer sees inside the quantized block
                done[sub].relative_error = relative_error(originals[sub], done[sub].quantized.weight, H)
            out.append(done[sub] if data_free else quantize(sub, H))
    return out, outputs if data_free else None


def _quantize_linear(
    name: str, module: nn.Linear, H: torch.Tensor | None, make: Callable[[], LayerQuantizer]
) -> LayerResult:
    original = module.weight.detach().clone()
    start = time.perf_counter()
    quantizer = make().fit(original, H)
    seconds = time.perf_counter() - start
    module.weight.data.copy_(quantizer.weight_.to(module.weight.dtype))
    rel = relative_error(original, quantizer.weight_, H) if H is not None else float("nan")
    return LayerResult(name, tuple(original.shape), rel, seconds, quantizer.stats_, quantizer.quantized_)
