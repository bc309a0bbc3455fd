"""Save a quantized model as a compressed-tensors `pack-quantized` checkpoint: the format the field serves.

This is what llmcompressor writes, what transformers loads (with the `compressed-tensors` package) and what
vLLM serves. qscale's grid (asymmetric min-max per row or per group of columns, levels 0..2^b−1, value =
scale·(level − zero)) is compressed-tensors' `int` type with `symmetric: false` and strategy `channel` or
`group`: its signed levels are qscale's minus 2^(b−1), and so are its zero points, so the products match.
compressed-tensors packs both the levels and the zero points into int32 (its own `pack_to_int32`).

One deviation from a plain llmcompressor checkpoint, for transformers: with transformers 5.24 and
compressed-tensors 0.20, loading an asymmetric pack-quantized model in compressed form fails on the packed
zero point's shape (the loader builds its empty compressed module with the unpacked shape; llm-compressor
issue #1618). The saved `quantization_config` therefore carries `"dequantize": true`, transformers' own
option to decompress every weight to float on load (on the CPU, no kernel needed); it is an extra key
beside the compressed-tensors fields.

Folder: config.json (with quantization_config), model.safetensors (weight_packed, weight_scale,
weight_zero_point, weight_shape per quantized Linear; everything else as transformers saves it), the
tokenizer, generation_config.json and qscale_quantize.json (how qscale made it: method, solver, seed, ...).
The folder is written under a temporary name beside it and renamed when complete (qscale.io.atomic_folder).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch

from qscale.errors import QscaleUserError
from qscale.io import atomic_folder, atomic_write_text, dumps
from qscale.llm.models import LoadedModel
from qscale.llm.quant.runner import LayerResult

FORMAT = "pack-quantized"
META_JSON = "qscale_quantize.json"


def quantization_config(bits: int, group_size: int | None, act_order: bool, ignore: list[str]) -> Any:
    """compressed-tensors' QuantizationConfig for qscale's grid on every Linear layer not in `ignore`.

    actorder "weight" (alias "static") records that columns were visited in activation order during
    calibration only: the stored groups are contiguous column ranges, no g_idx (see hessian.act_order_perm).
    """
    from compressed_tensors.quantization import QuantizationArgs, QuantizationConfig, QuantizationScheme

    weights = QuantizationArgs(
        num_bits=bits, type="int", symmetric=False, strategy="group" if group_size else "channel",
        group_size=group_size, actorder="weight" if act_order and group_size else None, observer="minmax",
    )
    scheme = QuantizationScheme(targets=["Linear"], weights=weights)
    return QuantizationConfig(config_groups={"group_0": scheme}, ignore=ignore, format=FORMAT)


def save_quantized(loaded: LoadedModel, results: list[LayerResult], meta: dict[str, Any], folder: Path | str) -> Path:
    """Write `loaded` (whose quantized layers hold their de-quantized weights) as a pack-quantized checkpoint."""
    folder = Path(folder)
    if not results:
        raise QscaleUserError("nothing was quantized, so there is nothing to save")
    with atomic_folder(folder) as tmp:
        _write(loaded, results, meta, tmp)
    return folder


def _write(loaded: LoadedModel, results: list[LayerResult], meta: dict[str, Any], folder: Path) -> None:
    from compressed_tensors.compressors import ModelCompressor
    from compressed_tensors.compressors.pack_quantized.helpers import unpack_from_int32
    from compressed_tensors.quantization import apply_quantization_config

    first = results[0].quantized
    bits, group_size = first.bits, first.group_size
    if any(r.quantized.bits != bits or r.quantized.group_size != group_size for r in results):
        raise ValueError("one checkpoint holds one grid: every layer must have the same bits and group size")
    model = copy.deepcopy(loaded.model).to("cpu")
    done = {r.name: r.quantized for r in results}
    linear = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    config = quantization_config(bits, group_size, bool(meta.get("act_order")), [n for n in linear if n not in done])
    apply_quantization_config(model, config, show_progress=False)
    modules = dict(model.named_modules())
    offset = 2 ** (bits - 1)  # compressed-tensors' int levels are signed: -2^(b-1) .. 2^(b-1)-1
    for name, q in done.items():
        module = modules[name]
        if q.scale.shape != module.weight_scale.shape or not torch.equal(q.g_idx, _column_groups(q)):
            raise ValueError(f"{name}: its grid is not {config.config_groups['group_0'].weights.strategy}-wise")
        with torch.no_grad():
            module.weight.copy_(q.weight)
            module.weight_scale.copy_(q.scale)
            module.weight_zero_point.copy_((q.zero - offset).to(module.weight_zero_point.dtype))
    compressor = ModelCompressor.from_pretrained_model(model, FORMAT)
    compressor.compress_model(model)
    for name, q in done.items():  # the packed levels must be qscale's, level for level
        module = modules[name]
        codes = unpack_from_int32(module.weight_packed, bits, module.weight_shape).to(torch.int16) + offset
        if not torch.equal(codes, q.codes.to(torch.int16)):
            raise RuntimeError(f"{name}: packed levels differ from the quantizer's")
    model.save_pretrained(folder, safe_serialization=True)
    loaded.tokenizer.save_pretrained(folder)
    compressor.update_config(str(folder))
    cfg_path = folder / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["quantization_config"]["dequantize"] = True  # see the module docstring
    atomic_write_text(cfg_path, json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    info = {"format": f"compressed-tensors {FORMAT}", "bits": bits, "group_size": group_size,
            "layers": list(done), **meta}  # fmt: skip
    atomic_write_text(folder / META_JSON, dumps(info) + "\n")


def _column_groups(q: Any) -> torch.Tensor:
    """The g_idx a checkpoint without one implies: column c in group c // group_size (all 0 per row)."""
    cols = q.codes.shape[1]
    return torch.arange(cols) // q.group_size if q.group_size else torch.zeros(cols, dtype=torch.long)


def read_meta(folder: Path | str) -> dict[str, Any]:
    """What qscale recorded beside a checkpoint it saved (method, bits, layers, ...)."""
    path = Path(folder) / META_JSON
    if not path.is_file():
        raise QscaleUserError(f"{folder} was not saved by qscale quantize (no {META_JSON})")
    return json.loads(path.read_text())
