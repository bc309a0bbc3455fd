"""QUBO/Ising models (dimod BQMs) as QAOA cost diagonals, in the qubit order of docs/design.md.

Variables map to qubits in sorted label order; qubit q is bit q of the basis index (Qiskit's order);
a BINARY x = 1 is |1>, a SPIN s = 1 - 2x. The diagonal holds the full BQM energy, offset included.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dimod
import numpy as np
import torch
from numba import get_num_threads

from qscale.errors import QscaleUserError
from qscale.quantum import _kernels as kern
from qscale.quantum._kernels import diag_extend
from qscale.quantum.memory import check_memory

_LOW_BITS = 12  # the doubling splits each new variable's terms into low-bit and high-bit tables
_CHUNK_BITS = 16  # low bits of one chunk when an integer cost is streamed from the QUBO
MAX_LEVELS = 65536  # a level index wider than uint16 is no smaller than a float32 diagonal


@dataclass(frozen=True)
class LevelEncoding:
    """The diagonal as small integers: diag[x] == values[index[x]] (to rounding)."""

    index: np.ndarray  # uint8 or uint16, length 2^n
    values: np.ndarray  # float64, the cost of each level (equally spaced)


@dataclass(frozen=True)
class IntegerCost:
    """A BQM whose energy is offset + scale·K(x) with K(x) = Σ a_i x_i + Σ_(i<j) B_ij x_i x_j in integers
    (x = qubit bits, qubit order). Lets the level index of every state be computed exactly, chunk by
    chunk, without a float diagonal."""

    offset: float
    scale: float
    linear: np.ndarray  # int64 (n,)
    coupling: np.ndarray  # int64 (n, n), symmetric, zero diagonal

    @property
    def n(self) -> int:
        return int(self.linear.size)

    def level_bound(self) -> int:
        """An upper bound on the number of distinct levels (from the coefficients alone, no enumeration)."""
        pos = int(np.clip(self.linear, 0, None).sum() + np.clip(np.triu(self.coupling, 1), 0, None).sum())
        neg = int(np.clip(self.linear, None, 0).sum() + np.clip(np.triu(self.coupling, 1), None, 0).sum())
        return pos - neg + 1


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


def integer_cost(bqm: dimod.BinaryQuadraticModel, order: Sequence[Hashable] | None = None) -> IntegerCost | None:
    """The BQM as offset + scale·(integer polynomial), or None when its coefficients share no common step.

    The step is the float gcd of the coefficients; the model is accepted only when rebuilding every
    coefficient from it errs, summed over all terms, by at most 64 ulps of the largest energy, the same
    tolerance `integer_levels` applies entry by entry to a materialised diagonal.
    """
    order = variable_order(bqm) if order is None else _check_order(bqm, order)
    n = len(order)
    offset, linear, adj = _binary_terms(bqm)
    pos = {v: q for q, v in enumerate(order)}
    lin = np.array([float(linear[v]) for v in order], dtype=np.float64)
    quad = np.zeros((n, n), dtype=np.float64)
    for v in order:
        for u, bias in adj[v].items():
            quad[pos[v], pos[u]] = float(bias)
    coeffs = np.concatenate([lin, quad[np.triu_indices(n, 1)]])
    nz = np.unique(np.abs(coeffs[coeffs != 0.0]))
    if not np.all(np.isfinite(coeffs)) or not math.isfinite(offset):
        return None
    if nz.size == 0:
        return IntegerCost(offset, 1.0, np.zeros(n, np.int64), np.zeros((n, n), np.int64))
    tol = float(nz[-1]) * 1e-9
    g = float(nz[0])
    for v in nz[1:]:
        x, y = float(v), g
        while y > tol:
            x, y = y, math.fmod(x, y)
        g = x
    if g <= tol:
        return None
    ints = np.rint(coeffs / g)
    if np.abs(ints).sum() > 2.0**40:
        return None
    size = max(abs(offset) + float(np.abs(coeffs).sum()), 1e-300)
    if float(np.abs(coeffs - ints * g).sum()) > 64 * np.finfo(np.float64).eps * size:
        return None
    a = np.rint(lin / g).astype(np.int64)
    B = np.rint(quad / g).astype(np.int64)
    return IntegerCost(float(offset), g, a, B)


def stream_levels(cost: IntegerCost, max_levels: int = MAX_LEVELS) -> tuple[LevelEncoding, int] | None:
    """The level index of every state and the first optimal state, enumerated from the integer model chunk
    by chunk: memory is the index alone (1 or 2 bytes per state), no float diagonal. One pass when the
    coefficient bound on the span fits `max_levels`, else a range pass first. None when the energies
    span more than `max_levels` levels."""
    n = cost.n
    m = min(n, _CHUNK_BITS)
    m1 = m // 2
    klow = np.zeros(1 << m, dtype=np.int64)
    for q in range(m):  # doubling over the low variables: K restricted to them
        w = cost.coupling[q, :q]
        bits = (np.arange(1 << q)[:, None] >> np.arange(q)[None, :]) & 1 if q else np.zeros((1, 0), np.int64)
        klow[1 << q : 2 << q] = klow[: 1 << q] + cost.linear[q] + bits @ w
    nth = get_num_threads()
    kmin, kmax, karg = np.zeros(nth, np.int64), np.zeros(nth, np.int64), np.zeros(nth, np.int64)
    bound = cost.level_bound()
    k0 = int(np.clip(cost.linear, None, 0).sum() + np.clip(np.triu(cost.coupling, 1), None, 0).sum())
    index = None
    if bound <= max_levels:  # one pass: index relative to the lower bound, then shifted to the minimum
        check_memory(n, 1, torch.uint8 if bound <= 256 else torch.int16, torch.device("cpu"), 1, "cost level index")
        index = np.empty(1 << n, dtype=np.uint8 if bound <= 256 else np.uint16)
        kern.int_cost_scan(n, m, m1, cost.linear, cost.coupling, klow, k0, index, True, kmin, kmax, karg)
    else:  # range first: the bound is loose and the true span may still fit
        dummy = np.zeros(1, np.uint8)
        kern.int_cost_scan(n, m, m1, cost.linear, cost.coupling, klow, 0, dummy, False, kmin, kmax, karg)
    live = karg >= 0  # threads that had no chunk report -1
    lo, hi = int(kmin[live].min()), int(kmax[live].max())
    levels = hi - lo + 1
    if levels > max_levels:
        return None
    argmin = int(karg[live][kmin[live] == lo].min())
    if index is None:
        check_memory(n, 1, torch.uint8 if levels <= 256 else torch.int16, torch.device("cpu"), 1, "cost level index")
        index = np.empty(1 << n, dtype=np.uint8 if levels <= 256 else np.uint16)
        kern.int_cost_scan(n, m, m1, cost.linear, cost.coupling, klow, lo, index, True, kmin, kmax, karg)
    elif lo > k0:
        np.subtract(index, index.dtype.type(lo - k0), out=index)
    values = cost.offset + cost.scale * np.arange(lo, hi + 1, dtype=np.float64)
    return LevelEncoding(index=index, values=values), argmin


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
