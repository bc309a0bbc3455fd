"""Save a quantized model (safetensors weights + its grid) and load it back, checked.

Folder layout: config.json + model.safetensors + tokenizer files (transformers' own format, so any
transformers user can load the de-quantized model), quant_grid.safetensors (per layer: uint8 codes,
scale, zero, g_idx) and quant_grid.json (bits, group size, method, layers, the dequantization rule).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from qscale.errors import QscaleUserError
from qscale.io import atomic_write_bytes, atomic_write_text, dumps
from qscale.llm.models import LoadedModel, load_causal_lm
from qscale.llm.quant.base import QuantizedWeight
from qscale.llm.quant.runner import LayerResult

GRID_JSON = "quant_grid.json"
GRID_TENSORS = "quant_grid.safetensors"
FORMAT = "qscale-quantized/1"
RULE = "weight[r, c] = scale[r, g_idx[c]] * (codes[r, c] - zero[r, g_idx[c]])"


def save_quantized(loaded: LoadedModel, results: list[LayerResult], meta: dict[str, Any], folder: Path | str) -> Path:
    from safetensors.torch import save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    loaded.model.save_pretrained(folder, safe_serialization=True)
    loaded.tokenizer.save_pretrained(folder)
    tensors: dict[str, torch.Tensor] = {}
    layers: dict[str, Any] = {}
    for r in results:
        q = r.quantized
        for part in ("codes", "scale", "zero", "g_idx"):
            tensors[f"{r.name}.{part}"] = getattr(q, part).detach().cpu().contiguous()
        layers[r.name] = {"shape": list(r.shape), "groups": int(q.scale.shape[1]), "bits": q.bits}
    atomic_write_bytes(folder / GRID_TENSORS, save(tensors))
    first = results[0].quantized if results else None
    info = {
        "format": FORMAT,
        "bits": first.bits if first else None,
        "group_size": first.group_size if first else None,
        "dequantization": RULE,
        "layers": layers,
        **meta,
    }
    atomic_write_text(folder / GRID_JSON, dumps(info) + "\n")
    return folder


def read_grid(folder: Path | str) -> tuple[dict[str, Any], dict[str, QuantizedWeight]]:
    """The grid JSON and, per layer, a QuantizedWeight rebuilt from codes + grid."""
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / GRID_JSON).is_file() or not (folder / GRID_TENSORS).is_file():
        raise QscaleUserError(f"{folder} is not a quantized model folder (no {GRID_JSON} / {GRID_TENSORS})")
    info = json.loads((folder / GRID_JSON).read_text())
    if info.get("format") != FORMAT:
        raise QscaleUserError(f"{folder / GRID_JSON}: unknown format {info.get('format')!r}")
    tensors = load_file(str(folder / GRID_TENSORS))
    layers = {}
    for name, meta in info["layers"].items():
        parts = {p: tensors[f"{name}.{p}"] for p in ("codes", "scale", "zero", "g_idx")}
        q = QuantizedWeight(weight=torch.empty(0), bits=meta["bits"], group_size=info["group_size"], **parts)
        q.weight = q.dequantize()
        layers[name] = q
    return info, layers


def load_quantized(folder: Path | str, device: str = "auto") -> tuple[LoadedModel, dict[str, Any]]:
    """Load the saved model and check every quantized layer's weight against its codes and grid."""
    info, layers = read_grid(folder)
    loaded = load_causal_lm(str(folder), device)
    modules = dict(loaded.model.named_modules())
    for name, q in layers.items():
        weight = modules[name].weight.detach().cpu()
        if weight.shape != q.weight.shape or not torch.allclose(weight, q.weight, rtol=0, atol=1e-6):
            raise QscaleUserError(f"{folder}: weights of {name} do not match their saved grid")
    return loaded, info
