"""Post-training weight quantization of linear layers: round-to-nearest, GPTQ, and GPTQ with QUBO blocks.

All three share one asymmetric min-max grid (grid.py) and one interface (base.LayerQuantizer), so
they differ only in how the integer levels are chosen.
"""

from qscale.llm.quant.base import LayerQuantizer, QuantizedWeight
from qscale.llm.quant.factory import make_quantizer

__all__ = ["LayerQuantizer", "QuantizedWeight", "make_quantizer"]
