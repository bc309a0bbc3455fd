"""A block-QUBO solver that sends its circuits through the hybrid runtime.

Why: QUBO quantization solves one block of rows at a time (each row one QAOA circuit), and every block waits for
the previous one's error feedback. Wrapping the solver, rather than editing the quantizer, routes exactly the
circuits `qscale quantize --solver qaoa` would run through the runtime, which counts them, packs them into jobs
and times them against a device model, while the answer stays that of the wrapped solver.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from qscale.coproc.runtime import CircuitSpec, HybridRuntime
from qscale.llm.quant.resources import coupling_rounds
from qscale.llm.quant.solvers import BlockSolution, BlockSolver

ROW_FIELDS = ("L", "const", "scale2", "base", "greedy_bits", "tstar")  # BlockQubo fields with one row per QUBO


def rows_of(problem: Any, start: int, stop: int) -> Any:
    """The same block QUBO restricted to rows start:stop (shared Q, A and code kept)."""
    return dataclasses.replace(problem, **{f: getattr(problem, f)[start:stop] for f in ROW_FIELDS})


def join(parts: list[BlockSolution]) -> BlockSolution:
    """Concatenate row-sliced solutions back into one, in order."""
    if len(parts) == 1:
        return parts[0]
    optimal = None if parts[0].optimal is None else torch.cat([p.optimal for p in parts])
    extra = {k: torch.cat([p.extra[k] for p in parts]) for k in parts[0].extra}
    return BlockSolution(torch.cat([p.bits for p in parts]), torch.cat([p.energy for p in parts]), optimal, extra)


class RuntimeSolver:
    """BlockSolver protocol: each row of a block is one QAOA circuit of depth 1 + p (coupling layers + 1)."""

    def __init__(self, inner: BlockSolver, runtime: HybridRuntime, p: int, shots: int):
        self.inner, self.runtime, self.p, self.shots = inner, runtime, p, shots
        self.name = inner.name
        self.max_variables = inner.max_variables
        self.last_spec: CircuitSpec | None = None
        self.first_problem: Any = None  # kept for re-running its circuits on a noisy backend

    def circuit(self, problem: Any) -> CircuitSpec:
        n = problem.n_variables
        couplings = int(problem.couplings())
        depth = 1 + self.p * (coupling_rounds(n, couplings) + 1)  # as qscale.llm.quant.resources counts it
        return CircuitSpec(n, depth, self.p * couplings)

    def solve(self, problem: Any) -> BlockSolution:
        if self.first_problem is None:
            self.first_problem = problem
        spec = self.last_spec = self.circuit(problem)
        specs = [dataclasses.replace(spec, payload=r) for r in range(problem.rows)]

        def execute(circuits: list[CircuitSpec], shots: int) -> BlockSolution:
            rows = [c.payload for c in circuits]
            return self.inner.solve(rows_of(problem, rows[0], rows[-1] + 1))

        return self.runtime.run(specs, self.shots, execute=execute, combine=join)
