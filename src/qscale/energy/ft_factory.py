"""T factories designed the way the Azure Quantum Resource Estimator designs them.

Why a module of its own: the factory is where a simpler search over-counted physical qubits by 3-29 % against
the estimator. This one follows the estimator's model (Beverland et al., arXiv 2211.07629, appendix C; the
round-based factory and the exhaustive search in github.com/microsoft/qsharp resource_estimator):
- two 15-to-1 units (RM prep, space efficient; data/ft.toml); a factory is 1-3 rounds, each round one unit
  type at one code distance, distances non-decreasing, only the first round on bare physical qubits;
- a unit may run on qubits whose Clifford error is at most 10 % of the physical T error;
- each round's unit count is the least n whose Binomial(n, 1 - failure) yield meets the next round's input
  needs with probability >= 1 - 0.01 / rounds; the qubits of the factory are its largest round (rounds reuse
  space), its duration the sum of the rounds';
- for each choice of units and earlier distances the last round takes the smallest distance that reaches the
  target T error; the caller keeps the candidate of least qubit-time per T state that fits its time.
Times are integer nanoseconds, as in the estimator, so that ceilings agree.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
from scipy.special import bdtr

from qscale.energy.data import ft_table

MAX_UNITS = 10**7  # a round that needs more units than this is treated as impossible


@dataclass(frozen=True)
class Unit:
    name: str
    inputs: int
    outputs: int
    physical_qubits: int
    physical_cycles: int
    logical_qubits: int
    logical_cycles: int


@dataclass(frozen=True)
class Level:
    """The qubits a round runs on: bare physical qubits (distance 1) or surface-code patches at a distance."""

    code_distance: int
    qubits_per_unit_qubit: int
    cycle_ns: int
    clifford_error: float


@dataclass(frozen=True)
class Round:
    unit: str
    code_distance: int
    units: int
    physical_qubits: int
    duration_ns: int
    failure_probability: float
    output_error: float


@dataclass(frozen=True)
class Factory:
    rounds: tuple[Round, ...]
    physical_qubits: int
    duration_ns: int
    t_states_per_run: int
    input_t_states_per_run: int
    output_error: float

    @property
    def normalized_volume(self) -> float:
        """Physical qubit-nanoseconds per T state: the figure the estimator minimises."""
        return self.physical_qubits * self.duration_ns / self.t_states_per_run

    def as_dict(self, source: str) -> dict:
        return {
            "units_per_round": [r.units for r in self.rounds],
            "unit_per_round": [r.unit for r in self.rounds],
            "code_distance_per_round": [r.code_distance for r in self.rounds],
            "physical_qubits_per_round": [r.physical_qubits for r in self.rounds],
            "seconds_per_round": [r.duration_ns * 1e-9 for r in self.rounds],
            "failure_probability_per_round": [r.failure_probability for r in self.rounds],
            "physical_qubits": self.physical_qubits,
            "seconds": self.duration_ns * 1e-9,
            "t_states_per_run": self.t_states_per_run,
            "input_t_states_per_run": self.input_t_states_per_run,
            "output_error": self.output_error,
            "qubit_seconds_per_t_state": self.normalized_volume * 1e-9,
            "source": source,
        }


@cache
def units() -> tuple[Unit, ...]:
    return tuple(
        Unit(**{k: v for k, v in raw.items() if k != "source"}) for raw in ft_table("distillation_units").values()
    )


def settings() -> dict:
    return ft_table("distillation")


def _enough(n: int, k: int, failure: float, budget: float) -> bool:
    """Do n units deliver at least k good outputs with probability >= 1 - budget (their budget-quantile >= k)?"""
    return k <= n and (k == 0 or bdtr(k - 1, n, 1.0 - failure) < budget)


def units_needed(needed: int, failure: float, outputs: int, budget: float) -> tuple[int, int]:
    """The least unit count whose yield (the budget-quantile of Binomial(n, 1 - failure)) reaches `needed`,
    and that yield in states (doubling, then bisection, as the estimator sizes a round)."""
    k = math.ceil(needed / outputs)
    n = k
    while not _enough(n, k, failure, budget):
        n *= 2
        if n >= MAX_UNITS:
            raise OverflowError("unreasonably many distillation units")
    lo, hi = n // 2, n
    while lo < hi:
        mid = (lo + hi) // 2
        if _enough(mid, k, failure, budget):
            hi = mid
        else:
            lo = mid + 1
    cdf = bdtr(np.arange(k, hi + 1), hi, 1.0 - failure)
    return hi, (k + int(np.searchsorted(cdf, budget, side="left"))) * outputs


def _errors(chain: Sequence[tuple[Unit, Level]], t_error: float) -> list[tuple[float, float]] | None:
    """(failure, output error) per round, or None where a round fails always or makes states worse."""
    z, out = t_error, []
    for _, level in chain:
        c = level.clifford_error
        fail, z_next = 15 * z + 356 * c, 35 * z**3 + 7.1 * c
        if z_next > z or not 0 < fail < 1:
            return None
        out.append((fail, z_next))
        z = z_next
    return out


@lru_cache(maxsize=65536)
def build(chain: tuple[tuple[Unit, Level], ...], t_error: float) -> Factory | None:
    """The factory of these (unit, level) rounds, unit counts sized back from one output state."""
    errs = _errors(chain, t_error)
    if errs is None:
        return None
    budget = settings()["failure_budget"] / len(chain)
    counts: list[tuple[int, int]] = []
    needed = chain[-1][0].outputs
    try:
        for (unit, _), (fail, _) in zip(reversed(chain), reversed(errs), strict=True):
            n, made = units_needed(needed, fail, unit.outputs, budget)
            counts.append((n, made))
            needed = n * unit.inputs
    except OverflowError:
        return None
    counts.reverse()
    rounds = []
    for i, ((unit, level), (fail, z), (n, _)) in enumerate(zip(chain, errs, counts, strict=True)):
        physical = i == 0 and level.code_distance == 1
        per_unit = unit.physical_qubits if physical else unit.logical_qubits
        cycles = unit.physical_cycles if physical else unit.logical_cycles
        rounds.append(
            Round(unit.name, level.code_distance, n, n * per_unit * level.qubits_per_unit_qubit,
                  cycles * level.cycle_ns, fail, z)
        )  # fmt: skip
    return Factory(
        rounds=tuple(rounds),
        physical_qubits=max(r.physical_qubits for r in rounds),
        duration_ns=sum(r.duration_ns for r in rounds),
        t_states_per_run=counts[-1][1],
        input_t_states_per_run=counts[0][0] * chain[0][0].inputs,
        output_error=errs[-1][1],
    )


def candidates(level: Callable[[int], Level], t_error: float, target: float, max_distance: int) -> list[Factory]:
    """Every factory of the search that reaches `target` with rounds at distances <= max_distance."""
    limit = settings()["max_clifford_to_t_error"] * t_error
    levels = [lv for d in (1, *range(3, max_distance + 1, 2)) if (lv := level(d)).clifford_error <= limit]
    logical = [lv for lv in levels if lv.code_distance > 1]
    found: list[Factory] = []
    for n_rounds in range(1, settings()["max_rounds"] + 1):
        for chosen in itertools.product(units(), repeat=n_rounds):
            for prefix in _prefixes(levels, logical, n_rounds - 1):
                tail = [lv for lv in logical if not prefix or lv.code_distance >= prefix[-1].code_distance]
                f = _first_reaching(list(zip(chosen, prefix, strict=False)), chosen[-1], tail, t_error, target)
                if f is not None:
                    found.append(f)
    return found


def _prefixes(levels: list[Level], logical: list[Level], length: int):
    """Non-decreasing level sequences for the rounds before the last; only the first may be physical."""
    if length == 0:
        yield ()
        return
    for first in levels:
        rest = [lv for lv in logical if lv.code_distance >= max(first.code_distance, 3)]
        for tail in itertools.combinations_with_replacement(rest, length - 1):
            yield (first, *tail)


def _first_reaching(
    head: list[tuple[Unit, Level]], unit: Unit, tail: list[Level], t_error: float, target: float
) -> Factory | None:
    """The last round at the smallest distance whose factory reaches the target (its error falls with d)."""
    if not head and not tail:
        return None

    def ok(i: int) -> bool:
        errs = _errors([*head, (unit, tail[i])], t_error)
        return errs is not None and errs[-1][1] <= target

    lo, hi = 0, len(tail)
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    if lo == len(tail):
        return None
    return build((*head, (unit, tail[lo])), t_error)


def pick(found: Sequence[Factory], max_duration_ns: float) -> Factory | None:
    """The least qubit-time per T state among those that finish within max_duration_ns."""
    fits = [f for f in found if f.duration_ns <= max_duration_ns]
    return min(fits, key=lambda f: f.normalized_volume, default=None)
