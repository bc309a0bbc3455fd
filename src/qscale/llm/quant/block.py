"""One block's QUBOs (all rows at once) and the per-layer tally of how the block solver did.

The data every other part of the QUBO quantizer works on: the solvers solve a BlockQubo, the refinement
builds new ones around the current levels, and the quantizer (qubo.py) builds them from GPTQ's state and
tallies the outcomes. Kept apart from qubo.py so those modules depend on it and not on each other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch


@dataclass
class BlockQubo:
    """The QUBOs of one block, all rows at once. Energies are in grid steps² unless scaled by `scale2`."""

    Q: torch.Tensor  # (n, n) float64 symmetric, shared by all rows
    L: torch.Tensor  # (rows, n) float64 row-specific linear terms
    const: torch.Tensor  # (rows,) float64
    scale2: torch.Tensor  # (rows,) grid scale², turns energies into weight units (the OBS loss)
    base: torch.Tensor  # (rows, k) lowest level of each weight's box
    code: torch.Tensor  # (k, n): level = base + code @ bits
    greedy_bits: torch.Tensor  # (rows, n) GPTQ's choice for the block, inside the box
    A: torch.Tensor  # (k, k) ([H⁻¹]_BB)⁻¹
    tstar: torch.Tensor  # (rows, k) unquantized position in grid steps above `base`

    @property
    def n_variables(self) -> int:
        return self.Q.shape[0]

    @property
    def rows(self) -> int:
        return self.L.shape[0]

    def levels(self, bits: torch.Tensor) -> torch.Tensor:
        return self.base + bits.to(self.code.dtype) @ self.code.T

    def energy(self, bits: torch.Tensor) -> torch.Tensor:
        """xᵀQx + L·x + c per row (grid steps²)."""
        x = bits.to(self.Q.dtype)
        return ((x @ self.Q) * x).sum(1) + (self.L * x).sum(1) + self.const

    def couplings(self) -> torch.Tensor:
        """Nonzero couplings of the QUBO (= RZZ gates per QAOA layer), as a 0-d tensor (no device sync)."""
        iu = torch.triu_indices(self.n_variables, self.n_variables, 1, device=self.Q.device)
        return (self.Q[iu[0], iu[1]].abs() > 1e-12 * self.Q.diagonal().abs().max()).sum()


@cache
def level_code(k: int, vars_per_weight: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """C (k, k·m): weight j's level offset is Σ_i 2^i·x[j·m + i] (variable j·m+i is qubit j·m+i).

    Cached (every block of a layer asks for the same one), so treat it as read-only.
    """
    powers = 2.0 ** torch.arange(vars_per_weight, dtype=dtype)
    return torch.kron(torch.eye(k, dtype=dtype), powers.unsqueeze(0))


def to_bits(offsets: torch.Tensor, vars_per_weight: int) -> torch.Tensor:
    """Level offsets (rows, k) in 0..2^m−1 to binary variables (rows, k·m), least significant first."""
    off = offsets.to(torch.long)
    bits = [(off >> i) & 1 for i in range(vars_per_weight)]
    return torch.stack(bits, dim=2).reshape(off.shape[0], -1).to(torch.float64)


def box_base(target: torch.Tensor, must_contain: torch.Tensor, vars_per_weight: int, maxq: int) -> torch.Tensor:
    """Lowest level of each weight's box of 2^m levels: around `target`, shifted to hold `must_contain`."""
    width = 2**vars_per_weight - 1
    base = torch.floor(target) - (2 ** (vars_per_weight - 1) - 1)
    base = torch.minimum(torch.maximum(base, must_contain - width), must_contain)
    return torch.clamp(base, 0, maxq - width)


def build_block_qubo(
    w_block: torch.Tensor, u_block: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, maxq: int,
    vars_per_weight: int, greedy_levels: torch.Tensor,
) -> BlockQubo:
    """QUBOs for a block: w_block (rows, k) current weights, u_block (k, k) GPTQ's U_BB, per-row grid."""
    s, z = scale.to(torch.float64).unsqueeze(1), zero.to(torch.float64).unsqueeze(1)
    t = w_block.to(torch.float64) / s + z
    g = greedy_levels.to(torch.float64)
    base = box_base(t, g, vars_per_weight, maxq)
    U = u_block.to(torch.float64)
    eye = torch.eye(U.shape[0], dtype=U.dtype, device=U.device)
    uinv = torch.linalg.solve_triangular(U, eye, upper=True)
    A = uinv @ uinv.T
    A = (A + A.T) / 2
    C = level_code(U.shape[0], vars_per_weight).to(U.device)
    tstar = t - base
    tA = tstar @ A
    return BlockQubo(
        Q=C.T @ A @ C, L=-2.0 * tA @ C, const=(tA * tstar).sum(1), scale2=(s**2).squeeze(1), base=base, code=C,
        greedy_bits=to_bits(g - base, vars_per_weight), A=A, tstar=tstar,
    )


def row_bqm(problem: BlockQubo, row: int, weight_units: bool = True):
    """dimod BQM of one row's block QUBO; variables 0..n−1 (= qubits); energy = OBS loss if weight_units."""
    import dimod

    n = problem.n_variables
    factor = float(problem.scale2[row]) if weight_units else 1.0
    Q, L = problem.Q.cpu().numpy() * factor, problem.L[row].cpu().numpy() * factor
    linear = {i: float(Q[i, i] + L[i]) for i in range(n)}
    quadratic = {(i, j): float(2 * Q[i, j]) for i in range(n) for j in range(i + 1, n)}
    return dimod.BinaryQuadraticModel(linear, quadratic, float(problem.const[row]) * factor, dimod.BINARY)


def all_row_bqms(problem: BlockQubo, weight_units: bool = True) -> list:
    return [row_bqm(problem, r, weight_units) for r in range(problem.rows)]



class BlockTally:
    """Per-layer counts for the JSON (how often the solver beat GPTQ, QAOA success, QUBO shapes).

    Kept as device tensors and read once per layer, so a GPU never waits on a block.
    """

    def __init__(self, rows: int, device: torch.device):
        z = {"dtype": torch.float64, "device": device}
        self.loss = torch.zeros(rows, **z)
        self.counts = torch.zeros(7, **z)  # improved, worse, shifted, optimal, random optimal, p_opt sum, gain
        self.qubos = 0
        self.has_optimal = False
        self.shapes: list[tuple[int, torch.Tensor, int]] = []

    def add(
        self, prob: BlockQubo, sol: Any, e_greedy: torch.Tensor, e_solver: torch.Tensor, keep: torch.Tensor,
        low: torch.Tensor, greedy: torch.Tensor,
    ) -> None:
        self.qubos += prob.rows
        outside = (greedy.double() < low) | (greedy.double() > low + 1)  # GPTQ left the round-down/up box
        parts = [
            ((e_solver < e_greedy) & ~keep).sum(),
            ((e_solver > e_greedy) & ~keep).sum(),
            outside.any(dim=1).sum(),
        ]
        if sol.optimal is not None:
            self.has_optimal = True
            zero = torch.zeros((), device=self.counts.device)
            parts += [
                sol.optimal.sum(),
                sol.extra["random_optimal"].sum() if "random_optimal" in sol.extra else zero,
                sol.extra["p_optimal"].sum() if "p_optimal" in sol.extra else zero,
            ]
        else:
            parts += [torch.zeros((), device=self.counts.device)] * 3
        parts.append((((e_greedy - e_solver) * prob.scale2)[~keep]).sum())
        self.counts += torch.stack([p.to(torch.float64) for p in parts])
        self.shapes.append((prob.n_variables, prob.couplings(), prob.rows))

    def summary(self) -> dict[str, Any]:
        n = max(self.qubos, 1)
        improved, worse, shifted, optimal, random_optimal, p_opt, gain = self.counts.tolist()
        shapes: Counter[tuple[int, int]] = Counter()
        nnz = torch.stack([c for _, c, _ in self.shapes]).tolist() if self.shapes else []
        for (q, _, rows), c in zip(self.shapes, nnz, strict=True):
            shapes[(q, int(c))] += rows
        out: dict[str, Any] = {
            "obs_loss": float(self.loss.sum()),
            "block_qubos": self.qubos,
            "better_than_gptq_fraction": improved / n,
            "worse_than_gptq_fraction": worse / n,
            "obs_gain_over_gptq_blocks": gain,
            "gptq_outside_floor_ceil_fraction": shifted / n,
            "qubo_shapes": [{"qubits": q, "couplings": c, "circuits": k} for (q, c), k in sorted(shapes.items())],
        }
        if self.has_optimal:
            out["optimal_count"] = int(optimal)
            out["random_optimal_count"] = int(random_optimal)
            out["p_optimal_sum"] = p_opt
        return out
