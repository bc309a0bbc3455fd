"""Quantizers by name: the one place that knows every method (base.py stays below its subclasses)."""

from __future__ import annotations

from typing import Any

from qscale.errors import QscaleUserError
from qscale.llm.quant.base import LayerQuantizer
from qscale.llm.quant.gptq import GPTQQuantizer
from qscale.llm.quant.qubo import QUBOQuantizer
from qscale.llm.quant.rtn import RTNQuantizer

METHODS: dict[str, type[LayerQuantizer]] = {"rtn": RTNQuantizer, "gptq": GPTQQuantizer, "qubo": QUBOQuantizer}


def make_quantizer(method: str, **options: Any) -> LayerQuantizer:
    """Build a quantizer by name: 'rtn', 'gptq' or 'qubo' (options go to its constructor)."""
    if method not in METHODS:
        raise QscaleUserError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    return METHODS[method](**options)
