"""`qscale outlook`: the 2030s/2040s Monte Carlo as a command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qscale.cli.common import JsonOpt, emit, guarded, seed_option
from qscale.outlook import DEFAULT_YEARS


def register(app: typer.Typer) -> None:
    app.command("outlook")(guarded(outlook_cmd))


def outlook_cmd(
    samples: Annotated[int, typer.Option(help="Sampled futures in the Monte Carlo.")] = 2000,
    seed: Annotated[int, seed_option("Seed of the draws: the same seed gives the same result.")] = 1,
    years: Annotated[str, typer.Option(help="Comma-separated projection years (2025-2060).")] = ",".join(
        map(str, DEFAULT_YEARS)
    ),
    scenarios: Annotated[
        Path | None, typer.Option(help="TOML whose ranges, tasks and meta entries replace the defaults' (same names).")
    ] = None,
    plots: Annotated[Path | None, typer.Option(help="Write the fan charts (PNG) into this folder.")] = None,
    parallel: Annotated[
        bool, typer.Option("--parallel", help="Run the Monte Carlo chunks as Ray tasks (same statistics as serial).")
    ] = False,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster for the chunks: auto or HOST:PORT (implies --parallel).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Scenarios for the 2030s and 2040s: campus energy, cost and carbon, and when a QPU would save energy."""
    from qscale.outlook.model import run_outlook
    from qscale.outlook.scenarios import parse_years

    result = run_outlook(
        samples=samples, seed=seed, years=parse_years(years), scenarios=scenarios, parallel=parallel, address=address
    )
    if plots is not None:
        result.write_plots(plots)

    def human(r: dict) -> None:
        print(
            f"outlook: {r['samples']} sampled futures (seed {r['seed']}, {r['chunks']} chunks, "
            f"{r['execution']['backend']}), all figures projected"
        )
        print("  year   energy TWh/yr p5/p50/p95    cost USD/MWh p50   CO2 Mt/yr p50")
        for y in r["years"]:
            e, c, co2 = (r["campus"][f][str(y)] for f in ("energy_mwh", "cost_usd_per_mwh", "co2_t_per_year"))
            print(
                f"  {y}   {e['p5'] / 1e6:6.2f} / {e['p50'] / 1e6:6.2f} / {e['p95'] / 1e6:6.2f}"
                f"   {c['p50']:8.1f}            {co2['p50'] / 1e6:7.2f}"
            )
        print("  P(QPU uses less energy than the classical baseline):")
        for key, t in r["tasks"].items():
            ps = "  ".join(f"{y}: {t['p_qpu_saves_energy'][str(y)]:.2f}" for y in r["years"])
            flag = "" if t["quality_supported"] else "  (quality assumption unsupported)"
            print(f"    {key:16s} {ps}{flag}")
        for path in r.get("plots", []):
            print(f"  plot: {path}")

    emit(result.to_json(), as_json, human)
