"""What running the `qaoa` block solver on quantum hardware would take: circuits, qubits, gates, depth, shots.

Counted from the QUBOs the run actually built. Assumes all-to-all connectivity with a native RZZ gate
(no SWAP routing), one RZZ per nonzero coupling per QAOA layer, RZ for the linear terms (free to run
alongside), one RX layer per mixer and an initial Hadamard layer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any


def coupling_rounds(qubits: int, couplings: int) -> int:
    """Layers of parallel RZZ gates: n−1 (n even) or n (n odd) for a complete graph (its edge
    chromatic number); otherwise Vizing's bound, at most n."""
    if couplings == 0:
        return 0
    if couplings == qubits * (qubits - 1) // 2:
        return qubits - 1 if qubits % 2 == 0 else qubits
    return min(couplings, qubits)


def merge_shapes(shape_lists: Iterable[list[dict[str, int]]]) -> list[dict[str, int]]:
    total: Counter[tuple[int, int]] = Counter()
    for shapes in shape_lists:
        for s in shapes:
            total[(s["qubits"], s["couplings"])] += s["circuits"]
    return [{"qubits": q, "couplings": c, "circuits": n} for (q, c), n in sorted(total.items())]


def qaoa_resources(shapes: list[dict[str, int]], p: int, shots: int) -> dict[str, Any]:
    """Totals over block-QUBOs given as [{'qubits', 'couplings', 'circuits'}] (one circuit per row-block)."""
    circuits = sum(s["circuits"] for s in shapes)
    depth = {(s["qubits"], s["couplings"]): 1 + p * (coupling_rounds(s["qubits"], s["couplings"]) + 1) for s in shapes}
    return {
        "kind": "projected",
        "assumptions": "all-to-all connectivity, native RZZ, no SWAP routing, no error correction; depth counts "
        "the Hadamard layer, p x (parallel RZZ layers + 1 RX layer), RZ run alongside the RZZ layers",
        "p": p,
        "circuits": circuits,
        "qubits_per_circuit": max((s["qubits"] for s in shapes), default=0),
        "two_qubit_gates_per_circuit": max((p * s["couplings"] for s in shapes), default=0),
        "two_qubit_gates_total": sum(p * s["couplings"] * s["circuits"] for s in shapes),
        "depth_per_circuit": max(depth.values(), default=0),
        "shots_per_circuit": shots,
        "shots_total": circuits * shots,
        "shapes": [s | {"depth": depth[(s["qubits"], s["couplings"])]} for s in shapes],
    }
