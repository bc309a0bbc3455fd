"""Study stage: QAOA on MaxCut, optimised and fixed angles by depth, beside classical solvers."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from qscale.algorithms.qaoa.driver import run_qaoa
from qscale.algorithms.qaoa.problems import make_problem
from qscale.figures import Figure, Table, figure_png, pyplot
from qscale.study.config import Strict, StudySection
from qscale.study.registry import Stage
from qscale.study.stage import StageOutput


class QAOAStage(Strict):
    """QAOA on MaxCut: ratio vs depth for optimised and fixed angles, beside classical solvers."""

    enabled: bool = True
    problem: Literal["maxcut"] = "maxcut"
    graph: str = "regular:3"
    nodes: int = Field(16, ge=2, le=34)
    depths: list[int] = Field(default_factory=lambda: [1, 2, 3], min_length=1)
    restarts: int = Field(4, ge=1, le=64)
    shots: int = Field(1024, ge=1)
    dtype: Literal["complex64", "complex128"] = "complex128"

    def quick(self) -> QAOAStage:
        return self.model_copy(update={"nodes": min(self.nodes, 10), "depths": self.depths[:2], "restarts": 2})


def run(cfg: QAOAStage, study: StudySection, progress) -> StageOutput:
    problem = make_problem(cfg.problem, cfg.graph, cfg.nodes, study.seed)
    p_max = max(cfg.depths)
    common = {"shots": cfg.shots, "seed": study.seed, "device": study.device, "dtype": cfg.dtype}
    progress(f"QAOA: optimising angles up to p={p_max} on {problem.description}")
    optimized = run_qaoa(problem, p_max, mode="optimize", restarts=cfg.restarts, **common).to_json()
    ratios_opt = optimized["optimization"]["ratio_by_depth"]
    fixed: dict[int, dict] = {}
    if problem.regular_degree is not None:
        for p in sorted(set(cfg.depths)):
            progress(f"QAOA: fixed angles at p={p}")
            fixed[p] = run_qaoa(problem, p, mode="fixed", baselines=False, **common).to_json()
    baselines = optimized["classical_baselines"]
    e_min = optimized["optimal_energy"]

    rows = []
    for p in sorted(set(cfg.depths)):
        row = [p, f"{ratios_opt[p - 1]:.4f}"]
        if p in fixed:
            row += [f"{fixed[p]['approximation_ratio']:.4f}", f"{fixed[p]['fixed_angle_guaranteed_ratio']:.4f}"]
        else:
            row += ["-", "-"]
        rows.append(row)
    base_rows = [
        [name, f"{b['energy']:.4g}", f"{b['energy'] / e_min:.4f}" if e_min else "-", f"{b['seconds']:.3g}", b["kind"]]
        for name, b in baselines.items()
    ]
    base_rows.append(
        [
            f"QAOA best of shots (p={p_max})",
            f"{optimized['best_energy']:.4g}",
            f"{optimized['best_energy'] / e_min:.4f}" if e_min else "-",
            f"{optimized['seconds']:.3g}",
            "simulated",
        ]
    )

    summary = {
        "problem": problem.description,
        "n_qubits": problem.n_variables,
        "depths": sorted(set(cfg.depths)),
        "optimized": {
            k: optimized[k]
            for k in (
                "p",
                "gammas",
                "betas",
                "expectation",
                "approximation_ratio",
                "best_energy",
                "best_bitstring",
                "probability_optimal",
                "optimization",
                "seconds",
                "kind",
                "simulator",
            )
        },
        "fixed_angles": {
            str(p): {
                k: r[k]
                for k in (
                    "gammas",
                    "betas",
                    "expectation",
                    "approximation_ratio",
                    "fixed_angle_guaranteed_ratio",
                    "kind",
                )
            }
            for p, r in fixed.items()
        },
        "optimal_energy": e_min,
        "classical_baselines": baselines,
    }
    notes = [
        "QAOA figures are simulated (exact state-vector simulation on this machine), not run on quantum "
        "hardware; their times are simulation times and say nothing about quantum speed.",
        "The approximation ratio of QAOA is of the expected cut; classical solvers report their best cut. "
        "The best-of-shots row compares like with like.",
    ]
    return StageOutput(
        name="qaoa",
        title="QAOA on MaxCut",
        summary=summary,
        figures=[_ratio_plot(cfg.depths, ratios_opt, fixed, baselines, e_min)],
        tables=[
            Table(
                "Approximation ratio by depth (simulated)",
                ["p", "optimised angles", "fixed angles", "fixed-angle guarantee"],
                rows,
            ),
            Table(
                "Best energy found, QAOA beside classical solvers (same problem)",
                ["method", "best energy", "ratio to optimum", "seconds", "kind"],
                base_rows,
            ),
        ],
        notes=notes,
    )


def _ratio_plot(depths, ratios_opt, fixed, baselines, e_min) -> Figure:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6, 3.8))
    ps = np.arange(1, len(ratios_opt) + 1)
    ax.plot(ps, ratios_opt, "o-", label="QAOA, optimised angles (simulated)")
    if fixed:
        fp = sorted(fixed)
        ax.plot(fp, [fixed[p]["approximation_ratio"] for p in fp], "s--", label="QAOA, fixed angles (simulated)")
        ax.plot(
            fp,
            [fixed[p]["fixed_angle_guaranteed_ratio"] for p in fp],
            ":",
            color="gray",
            label="fixed-angle guarantee (Wurtz-Lykov)",
        )
    styles = iter(["-", "-."])
    for name, b in baselines.items():
        if name == "exact" or not e_min:
            continue
        ax.axhline(
            b["energy"] / e_min,
            linestyle=next(styles, "--"),
            color="k",
            alpha=0.6,
            label=f"{name.replace('_', ' ')} (classical, best of reads)",
        )
    ax.set_xlabel("QAOA depth p")
    ax.set_ylabel("approximation ratio")
    ax.set_xticks(ps)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return Figure(
        "Approximation ratio vs depth",
        figure_png(fig),
        "Expected-cut ratio of QAOA (simulated) vs depth, with classical solvers' best cut as lines.",
    )


STAGE = Stage("qaoa", QAOAStage, run)
