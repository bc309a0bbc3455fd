"""QUBO/Ising models (dimod BQMs) as QAOA cost diagonals, in the qubit order of docs/design.md.

Variables map to qubits in sorted label order; qubit q is bit q of the basis index (Qiskit's order);
a BINARY x = 1 is |1>, a SPIN s = 1 - 2x. The diagonal holds the full BQM energy, offset included.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Hashable, Sequence
from pathlib import Path

import dimod
import numpy as np
import torch

from qscale.errors import QscaleUserError
from qscale.quantum._kernels import diag_extend
from qscale.quantum.memory import check_memory

_LOW_BITS = 12  # the doubling splits each new variable's terms into low-bit and high-bit tables


def variable_order(bqm: dimod.BinaryQuadraticModel) -> list[Hashable]:
    """Labels in qubit order: sorted; labels that do not sort together (e.g. 1 and 'a') fall back to
    sorting by (type name, repr(label)), with a warning, so the order never depends on insertion order.
    """
    labels = list(bqm.variables)
    try:
        return sorted(labels)
    except TypeError:
        warnings.warn(
            "BQM labels are not mutually sortable; qubits follow the order of (type name, repr(label))",
            UserWarning,
            stacklevel=2,
        )
        return sorted(labels, key=lambda v: (type(v).__name__, repr(v)))


def _check_order(bqm: dimod.BinaryQuadraticModel, order: Sequence[Hashable]) -> list[Hashable]:
    order = list(order)
    if len(order) != bqm.num_variables or set(order) != set(bqm.variables):
        raise QscaleUserError("variable order must list every BQM variable exactly once")
    return order


def _binary_terms(bqm: dimod.BinaryQuadraticModel) -> tuple[float, dict, dict]:
    """Offset, linear and adjacency of the energy in qubit bits b (SPIN s = 1 - 2b, not dimod's 2x - 1)."""
    if bqm.vartype is dimod.BINARY:
        return float(bqm.offset), dict(bqm.linear), {v: dict(bqm.adj[v]) for v in bqm.variables}
    offset = float(bqm.offset) + sum(bqm.linear.values()) + sum(bqm.quadratic.values())
    linear = {v: -2.0 * h - 2.0 * sum(bqm.adj[v].values()) for v, h in bqm.linear.items()}
    adj = {v: {u: 4.0 * j for u, j in bqm.adj[v].items()} for v in bqm.variables}
    return offset, linear, adj


def cost_diagonal(
    bqm: dimod.BinaryQuadraticModel,
    dtype: np.dtype | type = np.float64,
    order: Sequence[Hashable] | None = None,
) -> np.ndarray:
    """The BQM energy of every basis state, as a vector of length 2^n.

    Built by doubling: the energies of states whose highest set bit is q are the energies of the
    lower 2^q states plus the terms of variable q (linear bias and couplings to lower qubits), taken
    from two small tables over the low and high bits. One read and one write per entry, in parallel,
    and no n x 2^n bit matrix.
    """
    order = variable_order(bqm) if order is None else _check_order(bqm, order)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise QscaleUserError(f"cost diagonal dtype must be a float type, got {dtype}")
    n = len(order)
    if n:
        check_memory(
            n,
            1,
            torch.float64 if dtype.itemsize == 8 else torch.float32,
            torch.device("cpu"),
            copies=1,
            what="cost diagonal",
        )
    offset, linear, adj = _binary_terms(bqm)
    pos = {v: q for q, v in enumerate(order)}
    out = np.empty(1 << n, dtype=dtype)
    out[0] = offset
    for q, v in enumerate(order):
        lower = {pos[u]: bias for u, bias in adj[v].items() if pos[u] < q}
        m = min(q, _LOW_BITS)
        g_lo = _partial_sums(float(linear[v]), [lower.get(j, 0.0) for j in range(m)], dtype)
        g_hi = _partial_sums(0.0, [lower.get(j, 0.0) for j in range(m, q)], dtype)
        diag_extend(out, q, g_lo, g_hi, m)
    return out


def _partial_sums(first: float, weights: list[float], dtype: np.dtype) -> np.ndarray:
    """Vector over 2^len(weights) bit patterns y of first + sum_j weights[j]·bit_j(y), by doubling."""
    g = np.empty(1 << len(weights), dtype=dtype)
    g[0] = first
    for j, w in enumerate(weights):
        np.add(g[: 1 << j], w, out=g[1 << j : 2 << j])
    return g


def sample_from_index(
    index: int, order: Sequence[Hashable], vartype: dimod.Vartype | str = dimod.BINARY
) -> dict[Hashable, int]:
    """The variable assignment of a basis index (bit q is the variable order[q])."""
    vartype = dimod.as_vartype(vartype)
    bits = {v: (int(index) >> q) & 1 for q, v in enumerate(order)}
    if vartype is dimod.SPIN:
        return {v: 1 - 2 * x for v, x in bits.items()}
    return bits


def bqm_from_json(path: str | Path) -> dimod.BinaryQuadraticModel:
    """Read a BQM written by `BinaryQuadraticModel.to_serializable()`; a bad file is a user error."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QscaleUserError(f"cannot read QUBO file {path}: {exc}") from exc
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise QscaleUserError(f"QUBO file {path} is not valid JSON: {exc}") from exc
    if not isinstance(obj, dict) or obj.get("type") != "BinaryQuadraticModel":
        raise QscaleUserError(
            f"QUBO file {path} is not a serialized dimod BinaryQuadraticModel "
            '(expected a JSON object with "type": "BinaryQuadraticModel")'
        )
    try:
        return dimod.BinaryQuadraticModel.from_serializable(obj)
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        raise QscaleUserError(f"QUBO file {path} is malformed: {type(exc).__name__}: {exc}") from exc
