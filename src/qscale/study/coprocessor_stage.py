"""Study stage: the quantum-classical co-processor (qscale.coproc): offload decisions and runtime timelines."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from pydantic import Field, field_validator

from qscale.coproc.devices import ERAS, SCENARIOS
from qscale.figures import Figure, Table
from qscale.study.config import Strict, StudySection
from qscale.study.registry import Stage
from qscale.study.stage import StageOutput

QUICK_TASKS = ["vqe-h2"]


class CoprocessorStage(Strict):
    """Price each task's measured workload on CPU, GPU, today's QPUs and FT QPUs; show a runtime timeline."""

    enabled: bool = True
    tasks: list[str] = Field(default_factory=lambda: ["vqe-h2", "quantize"], min_length=1)
    era: str | None = None  # None: today, 2030s and 2040s
    modality: str | None = None  # None: every modality
    scenario: str = "typical"
    overlap_rows: int = Field(16, ge=0, le=576)  # rows per layer in the q/k/v overlap demo; 0 skips it

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, tasks: list[str]) -> list[str]:
        from qscale.coproc.workloads import tasks as known

        bad = [t for t in tasks if t not in known()]
        if bad:
            raise ValueError(f"unknown task(s) {', '.join(bad)}; known: {', '.join(known())}")
        return tasks

    @field_validator("era")
    @classmethod
    def _era(cls, era: str | None) -> str | None:
        if era is not None and era not in ERAS:
            raise ValueError(f"era must be one of {', '.join(ERAS)}")
        return era

    @field_validator("scenario")
    @classmethod
    def _scenario(cls, scenario: str) -> str:
        if scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}")
        return scenario

    def quick(self) -> CoprocessorStage:
        return self.model_copy(
            update={"tasks": [t for t in self.tasks if t in QUICK_TASKS] or QUICK_TASKS, "overlap_rows": 0}
        )


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _rows_table(plans: list[dict[str, Any]]) -> Table:
    rows = []
    for p in plans:
        for r in p["rows"]:
            q = r.get("quality", {})
            rows.append(
                [
                    p["task"],
                    r["scope"][:40],
                    r["platform"],
                    r["era"],
                    _fmt(r.get("wall_s")),
                    _fmt(r.get("energy_j")),
                    _fmt(q.get("value")),
                    r["decision"],
                    r.get("reason", ""),
                ]
            )
    return Table(
        "Offload decisions (CPU measured; GPU and QPU rows projected; quality simulated)",
        ["task", "scope", "platform", "era", "wall s", "energy J", "quality", "decision", "reason"],
        rows,
    )


def _break_even_table(plans: list[dict[str, Any]]) -> Table:
    """Per QPU row: the smallest single-parameter factor, the all-parameter factor, power and 2q error needed."""
    from qscale.coproc.breakeven import LABELS

    rows = []
    for p in plans:
        for r in p["rows"]:
            be = r.get("break_even")
            if not be:
                continue
            single = [(f, k) for k, f in be["time"].items() if f is not None]
            f, k = min(single) if single else (None, None)
            rows.append([p["task"], r["scope"][:30], r["platform"], r["era"],
                         f"{LABELS[k]} {_fmt(f)}x" if k else "none suffices", _fmt(be["all_time_factor"]),
                         _fmt(be["energy"].get("qpu_power_w")), _fmt(be["two_qubit_error"])])  # fmt: skip
    return Table(
        "Break-even requirements: factor each QPU parameter must shrink by to tie the CPU (projected, 1 %)",
        ["task", "scope", "platform", "era", "one time parameter", "all time parameters", "QPU power (energy)",
         "2q error for quality"],
        rows,
    )  # fmt: skip


def _png(path: Path | str) -> bytes:
    return Path(path).read_bytes()


def run(cfg: CoprocessorStage, study: StudySection, progress) -> StageOutput:
    from qscale.coproc.overlap import demo
    from qscale.coproc.planner import plan
    from qscale.coproc.timeline import gantt
    from qscale.coproc.workloads import probe_timeline

    plans = []
    for task in cfg.tasks:
        progress(f"coprocessor: measuring and pricing {task}")
        plans.append(plan(task, cfg.era, cfg.modality, cfg.scenario))
    figures: list[Figure] = []
    summary: dict[str, Any] = {"plans": plans}
    with TemporaryDirectory() as tmp:
        tl = probe_timeline(cfg.tasks[0])
        if tl is not None:
            png = gantt(tl, Path(tmp) / "probe.png", f"{cfg.tasks[0]}: the probe run's circuits on {tl['device']}")
            figures.append(
                Figure(
                    f"Runtime timeline: {cfg.tasks[0]} probe",
                    _png(png),
                    "host lane measured, job overhead and QPU lanes modelled (devices.toml, typical)",
                )
            )
        if cfg.overlap_rows:
            progress("coprocessor: q/k/v overlap demo")
            ov = demo(cfg.overlap_rows, Path(tmp))
            summary["overlap"] = {k: v for k, v in ov.items() if k not in ("timeline", "figures")}
            for key, caption in (
                ("sequential", "q, k, v quantized one after another"),
                ("overlapped", "q, k, v on one host thread each: GPTQ work overlaps QPU jobs"),
            ):
                figures.append(Figure(f"Timeline, {key}", _png(ov["figures"][key]), caption))
    notes = [
        "Workloads are measured from qscale's own small runs of each task (circuits counted by the runtime), then "
        "scaled as each workload's source says; QPU times and energies are projections from coproc/devices.toml.",
        *[
            f"{p['task']}: offload to {', '.join(p['offload'])}"
            if p["offload"]
            else f"{p['task']}: no QPU row beats the classical best on time, energy and quality together"
            for p in plans
        ],
        *[f"Requirement: {p['requirement']}" for p in plans],
    ]
    if "overlap" in summary:
        o = summary["overlap"]
        notes.append(
            f"Overlap demo: makespan {o['sequential']['makespan_s']:.0f} s sequential vs "
            f"{o['overlapped']['makespan_s']:.0f} s overlapped (modelled device clock), same weights: "
            f"{o['same_weights']}"
        )
    return StageOutput(
        name="coprocessor",
        title="Co-processor: where the quantum parts should run",
        summary=summary,
        figures=figures,
        tables=[_rows_table(plans), _break_even_table(plans)],
        notes=notes,
    )


STAGE = Stage("coprocessor", CoprocessorStage, run)
