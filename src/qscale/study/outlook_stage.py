"""Study stage: the 2030s/2040s outlook (qscale.outlook) with fan charts, tables and honest verdicts."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from qscale.figures import Table
from qscale.outlook.model import DEFAULT_YEARS, run_outlook
from qscale.outlook.plots import outlook_figures
from qscale.outlook.sampling import MAX_SAMPLES
from qscale.outlook.scenarios import check_years
from qscale.study.config import Strict, StudySection
from qscale.study.registry import Stage
from qscale.study.stage import StageOutput

QUICK_SAMPLES = 300


class OutlookStage(Strict):
    """Monte Carlo over the scenario ranges: campus energy, cost, carbon and QPU-vs-classical energy per task."""

    enabled: bool = True
    samples: int = Field(2000, ge=1, le=MAX_SAMPLES)
    seed: int | None = Field(None, ge=0)  # default: the study's seed
    years: list[int] = Field(default_factory=lambda: list(DEFAULT_YEARS), min_length=1)
    scenarios: Path | None = None  # TOML laid over qscale/outlook/data/scenarios.toml

    @field_validator("years")
    @classmethod
    def _years(cls, years: list[int]) -> list[int]:
        return check_years(years)

    def quick(self) -> OutlookStage:
        return self.model_copy(update={"samples": min(self.samples, QUICK_SAMPLES)})


def _fmt(x: float | None, scale: float = 1.0, digits: int = 3) -> str:
    return "-" if x is None else f"{x * scale:.{digits}g}"


def _campus_table(r: dict) -> Table:
    rows = []
    for y in r["years"]:
        c = {f: r["campus"][f][str(y)] for f in ("energy_mwh", "cost_usd_per_mwh", "co2_t_per_year", "quantum_mw")}
        share = r["campus"]["supply_share"][str(y)]
        mix = ", ".join(f"{k} {v:.0%}" for k, v in share.items() if v >= 0.005)
        rows.append([
            y,
            f"{_fmt(c['energy_mwh']['p5'], 1e-6)} / {_fmt(c['energy_mwh']['p50'], 1e-6)} / "
            f"{_fmt(c['energy_mwh']['p95'], 1e-6)}",
            f"{_fmt(c['cost_usd_per_mwh']['p5'])} / {_fmt(c['cost_usd_per_mwh']['p50'])} / "
            f"{_fmt(c['cost_usd_per_mwh']['p95'])}",
            f"{_fmt(c['co2_t_per_year']['p5'], 1e-6)} / {_fmt(c['co2_t_per_year']['p50'], 1e-6)} / "
            f"{_fmt(c['co2_t_per_year']['p95'], 1e-6)}",
            _fmt(c["quantum_mw"]["p50"]),
            mix,
        ])  # fmt: skip
    return Table(
        "Campus by year (projected; p5 / median / p95 over sampled futures)",
        ["year", "energy TWh/yr", "cost USD/MWh", "CO2 Mt/yr", "quantum hall MW (median)", "supply mix (mean)"],
        rows,
    )


def _task_table(r: dict) -> Table:
    rows = []
    for key, t in r["tasks"].items():
        rows.append(
            [key, t["scale"]]
            + [f"{t['p_qpu_saves_energy'][str(y)]:.2f}" for y in r["years"]]
            + [t["first_year_majority_saves"] or "never", "yes" if t["quality_supported"] else "NO (assumed)"]
        )
    return Table(
        "P(QPU energy < classical baseline) per task and year (projected)",
        ["task", "scale", *map(str, r["years"]), "first year > 50 %", "quality parity supported"],
        rows,
    )


def run(cfg: OutlookStage, study: StudySection, progress) -> StageOutput:
    seed = study.seed if cfg.seed is None else cfg.seed
    progress(f"outlook: {cfg.samples} sampled futures, years {', '.join(map(str, cfg.years))}")
    result = run_outlook(samples=cfg.samples, seed=seed, years=cfg.years, scenarios=cfg.scenarios).to_json()
    never = [k for k, t in result["tasks"].items() if max(t["p_qpu_saves_energy"].values(), default=0.0) == 0.0]
    verdicts = [v for v in result["verdicts"] if v.split(":")[0] not in never]
    if never:
        verdicts.insert(0, "In no sampled future does a QPU use less energy than the classical baseline on: "
                        + ", ".join(never) + ".")  # fmt: skip
    notes = [*verdicts, *result["notes"]]
    if result["unsupported_quality_assumptions"]:
        notes.insert(
            0,
            "Unsupported assumption: for " + ", ".join(result["unsupported_quality_assumptions"]) + " no source shows "
            "the quantum run reaching the classical baseline's quality; their energy comparison assumes it does.",
        )
    return StageOutput(
        name="outlook",
        title="Outlook: the 2030s and 2040s",
        # the run records the stage's own time; where the chunks ran is the CLI's concern
        summary={k: v for k, v in result.items() if k not in ("seconds", "execution")},
        figures=outlook_figures(result),
        tables=[_campus_table(result), _task_table(result)],
        notes=notes,
    )


STAGE = Stage("outlook", OutlookStage, run)
