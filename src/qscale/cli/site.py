"""`qscale site` and `qscale stabilize`: the campus supply model and the smoothing of training power swings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qscale.cli.common import JsonOpt, PueOpt, emit, guarded, parse_pue, seed_option
from qscale.errors import QscaleUserError


def register(app: typer.Typer) -> None:
    app.command("site")(guarded(site_cmd))
    app.command("stabilize")(guarded(stabilize_cmd))


def _parse_params(items: list[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise QscaleUserError(f"--rydberg-param must look like name=value, got {item!r}")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise QscaleUserError(f"--rydberg-param {key.strip()} must be a number, got {value!r}") from None
    return out


def _csv_list(text: str | None) -> list[str] | None:
    return None if text is None else [x.strip() for x in text.split(",") if x.strip()]


def _site_overrides(**kw) -> dict:
    """CLI options -> config sections (only the options the user gave)."""
    sections: dict[str, dict] = {}

    def put(section: str, key: str, value) -> None:
        if value is not None:
            sections.setdefault(section, {})[key] = value

    put("run", "hours", kw["hours"])
    put("run", "start_hour", kw["start_hour"])
    put("run", "year", kw["year"])
    put("run", "cost_case", kw["cost_case"])
    put("run", "seed", kw["seed"])
    if kw["smr_integer"]:
        put("run", "smr_integer_modules", True)
    put("carbon", "cap_t_per_year", kw["carbon_cap_t"])
    put("carbon", "price_usd_per_t", kw["carbon_price"])
    put("campus", "training_mw", kw["training_mw"])
    put("campus", "inference_mw", kw["inference_mw"])
    put("campus", "quantum_systems", kw["quantum_systems"])
    put("campus", "pue", kw["pue"])
    put("campus", "quantum_total_kw", kw["quantum_kw"])
    put("supply", "technologies", _csv_list(kw["technologies"]))
    put("supply", "max_import_mw", kw["max_import_mw"])
    put("reliability", "max_unserved_fraction", kw["max_unserved_fraction"])
    put("reliability", "voll_usd_per_mwh", kw["voll"])
    put("profiles", "grid_csv", kw["grid_csv"])
    put("profiles", "solar_csv", kw["solar_csv"])
    put("profiles", "wind_csv", kw["wind_csv"])
    params = _parse_params(kw["rydberg_param"])
    if kw["enable_rydberg"] or params:
        put("rydberg", "enabled", bool(kw["enable_rydberg"]))
        put("rydberg", "params", params)
    return sections


def _site_human(r: dict) -> None:
    tag = "  [speculative, unverified]" if r.get("speculative") else ""
    scaled = " (annualised)" if r["annualised_from_hours"] else ""
    print(f"campus {r['year']} ({r['cost_case']}), {r['hours']} h{scaled}{tag}")
    print("  capacity (MW): " + ", ".join(f"{k} {v:.1f}" for k, v in r["capacities_mw"].items()))
    print("  storage (MWh): " + ", ".join(f"{k} {v:.1f}" for k, v in r["storage_mwh"].items()))
    cpm = r["cost_per_mwh"]
    print(f"  cost {r['total_cost_per_year'] / 1e6:.2f} M$/yr" + (f", {cpm:.1f} $/MWh delivered" if cpm else ""))
    print(f"  CO2 {r['co2_t_per_year']:.0f} t/yr, import share {r['import_share'] or 0:.1%}, ", end="")
    print(f"unserved {r['unserved_mwh']:.1f} MWh")
    print(f"  solved in {r['solve_seconds']:.1f} s ({r['solver']}) [projected]")
    for f in r["flags"]:
        print(f"  FLAG: {f}")
    for n in r["notes"]:
        print(f"  note: {n}")


def _tipping_human(r: dict) -> None:
    lo, hi = r["range"]
    where = f"{r['value']:.4g} {r['unit']}" if r["value"] is not None else f"never within {lo:g}-{hi:g} {r['unit']}"
    print(f"{r['technology']} enters the least-cost campus ({r['year']}, {r['hours']} h) at {r['over']} = {where} "
          f"[projected; {r['solves']} solves, to {r['tolerance']:.0%}]")  # fmt: skip
    if r.get("mix_above"):
        print("  mix just above: " + ", ".join(f"{k} {v:.1f} MW" for k, v in r["mix_above"].items()))
    if r.get("note"):
        print(f"  note: {r['note']}")


def site_cmd(
    config: Annotated[
        Path | None, typer.Option("--config", help="Site config TOML (sections campus, run, ...).")
    ] = None,
    hours: Annotated[int | None, typer.Option(help="Hourly snapshots to model (default 8760, a year).")] = None,
    start_hour: Annotated[int | None, typer.Option(help="First hour of the year to model.")] = None,
    year: Annotated[int | None, typer.Option(help="Calendar year: picks the 2025/2030s/2040s cost set.")] = None,
    cost_case: Annotated[str | None, typer.Option(help="advanced, moderate or conservative (NREL ATB).")] = None,
    carbon_cap_t: Annotated[float | None, typer.Option("--carbon-cap-t", help="Carbon cap, t CO2 per year.")] = None,
    carbon_price: Annotated[float | None, typer.Option("--carbon-price", help="Carbon price, $ per t CO2.")] = None,
    training_mw: Annotated[float | None, typer.Option(help="Training cluster IT power, MW.")] = None,
    inference_mw: Annotated[float | None, typer.Option(help="Inference fleet peak IT power, MW.")] = None,
    quantum_systems: Annotated[int | None, typer.Option(help="Quantum computers in the hall.")] = None,
    quantum_kw: Annotated[float | None, typer.Option(help="Steady quantum-hall load, kW in total.")] = None,
    pue: PueOpt = None,
    technologies: Annotated[
        str | None, typer.Option(help="Comma list: grid,smr,fusion,solar,wind,gas,li-ion,smes,flywheel.")
    ] = None,
    max_import_mw: Annotated[float | None, typer.Option(help="Grid connection limit, MW.")] = None,
    max_unserved_fraction: Annotated[float | None, typer.Option(help="Cap on unserved energy / demand.")] = None,
    voll: Annotated[float | None, typer.Option(help="Value of lost load, $/MWh.")] = None,
    smr_integer: Annotated[bool, typer.Option("--smr-integer", help="Whole 77 MWe SMR modules (MILP, slow).")] = False,
    enable_rydberg: Annotated[
        bool, typer.Option("--enable-rydberg", help="Speculative Rydberg-matter storage (needs every --rydberg-param).")
    ] = False,
    rydberg_param: Annotated[list[str] | None, typer.Option("--rydberg-param", help="name=value, repeatable.")] = None,
    grid_csv: Annotated[
        Path | None, typer.Option(help="CSV: price_usd_per_mwh, co2_t_per_mwh (8760 rows or --hours rows).")
    ] = None,
    solar_csv: Annotated[Path | None, typer.Option(help="CSV: capacity_factor (0-1).")] = None,
    wind_csv: Annotated[Path | None, typer.Option(help="CSV: capacity_factor (0-1).")] = None,
    seed: Annotated[int | None, seed_option("Seed of the synthetic profiles.")] = None,
    plots: Annotated[Path | None, typer.Option("--plots", help="Write PNG figures to this folder.")] = None,
    tipping: Annotated[
        str | None,
        typer.Option(
            help="Find the tipping point of this technology (smr, fusion, wind, solar, li-ion, smes, ...): "
            "where it first gets > 1 MW in the least-cost build."
        ),
    ] = None,
    over: Annotated[
        str | None, typer.Option(help="What --tipping sweeps: carbon_price (default), carbon_cap or capex:TECH.")
    ] = None,
    value_range: Annotated[
        str | None,
        typer.Option(
            "--range", help="LO,HI of the sweep (default 0,1000 $/t; 0 to the uncapped emissions; 0 to today's capex)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Campus supply and storage: capacity expansion and hourly dispatch (PyPSA + HiGHS), or a tipping point."""
    from qscale.grid.config import load_site_config
    from qscale.grid.site import run_site
    from qscale.grid.tipping import check_tech, parse_over, parse_range, tipping_point

    if tipping is None and (over is not None or value_range is not None):
        raise QscaleUserError("--over and --range go with --tipping TECH")
    if tipping is not None:
        check_tech(tipping)
        parse_over(over or "carbon_price", tipping)
        rng = parse_range(value_range)

    overrides = _site_overrides(
        hours=hours,
        start_hour=start_hour,
        year=year,
        cost_case=cost_case,
        seed=seed,
        smr_integer=smr_integer,
        carbon_cap_t=carbon_cap_t,
        carbon_price=carbon_price,
        training_mw=training_mw,
        inference_mw=inference_mw,
        quantum_systems=quantum_systems,
        quantum_kw=quantum_kw,
        pue=None if pue is None else parse_pue(pue).value,
        technologies=technologies,
        max_import_mw=max_import_mw,
        max_unserved_fraction=max_unserved_fraction,
        voll=voll,
        grid_csv=grid_csv,
        solar_csv=solar_csv,
        wind_csv=wind_csv,
        enable_rydberg=enable_rydberg,
        rydberg_param=rydberg_param,
    )
    cfg = load_site_config(config, overrides)
    from qscale.progress import logger

    log = logger("site").info
    if tipping is not None:
        emit(tipping_point(cfg, tipping, over or "carbon_price", rng, log), as_json, _tipping_human)
        return
    result = run_site(cfg, progress=log)
    if plots is not None:
        result.write_plots(plots)
    emit(result.to_json(), as_json, _site_human)


def _stabilize_human(r: dict) -> None:
    print(
        f"cluster {r['cluster_mw']:g} MW swinging +/-{r['swing']:.0%} every {r['period_s']:g} s; "
        f"limits: ramp {r['ramp_limit_mw_per_s']:.3g} MW/s, band {r['band_limit_mw']:.3g} MW in "
        f"{r['band_hz'][0]:g}-{r['band_hz'][1]:g} Hz [projected]"
    )
    b = r["baseline"]
    print(f"  without storage: ramp {b['max_ramp_mw_per_s']:.3g} MW/s, band amplitude {b['band_amplitude_mw']:.3g} MW")
    for name, t in r["technologies"].items():
        if not t["meets_limits"]:
            print(f"  {name}: cannot meet the limits ({t['reason']})")
            continue
        print(
            f"  {name}: {t['required_power_mw']:.2f} MW, {t['required_energy_mwh'] * 1000:.1f} kWh; "
            f"ramp {t['max_ramp_mw_per_s']:.3g} MW/s; losses {t['losses_mw_mean']:.2f} MW mean"
            + (f"; unverified: {', '.join(t['unverified'])}" if t["unverified"] else "")
        )


def stabilize_cmd(
    cluster_mw: Annotated[float, typer.Option(help="Mean power of the training cluster, MW.")] = 100.0,
    swing: Annotated[float | None, typer.Option(help="Swing amplitude, fraction of the mean (0.5 = +/-50%).")] = None,
    period_s: Annotated[float | None, typer.Option(help="Iteration period, s.")] = None,
    duty: Annotated[float | None, typer.Option(help="Fraction of each period at high power.")] = None,
    jitter: Annotated[float | None, typer.Option(help="Standard deviation of the period, fraction.")] = None,
    edge_s: Annotated[float | None, typer.Option(help="Time for a low-high transition, s.")] = None,
    duration_s: Annotated[float, typer.Option(help="Simulated time, s.")] = 120.0,
    dt_s: Annotated[float, typer.Option(help="Time step, s.")] = 0.01,
    quantum_systems: Annotated[int | None, typer.Option(help="Quantum computers adding load steps.")] = None,
    quantum_step_kw: Annotated[float | None, typer.Option(help="Load step per quantum job, kW.")] = None,
    ramp_limit_mw_per_s: Annotated[
        float | None, typer.Option(help="Grid-side ramp limit, MW/s (default 10%/s of the mean).")
    ] = None,
    band_limit_mw: Annotated[
        float | None, typer.Option(help="Largest oscillation amplitude in the band, MW (default 1% of the mean).")
    ] = None,
    band_hz: Annotated[str | None, typer.Option(help="Oscillation band, 'low,high' Hz (default 0.1,20).")] = None,
    technologies: Annotated[
        str, typer.Option(help="Comma list of smes, li-ion, flywheel, supercap.")
    ] = "smes,li-ion,flywheel,supercap",
    seed: Annotated[int, seed_option("Seed for jitter and quantum job times.")] = 1,
    plots: Annotated[Path | None, typer.Option("--plots", help="Write PNG figures to this folder.")] = None,
    trace_csv: Annotated[
        Path | None, typer.Option("--trace-csv", help="Write the load and grid-side traces (CSV) to this file.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Seconds-scale smoothing of AI-training power swings: smallest storage per technology."""
    from qscale.grid.stabilize import TECHNOLOGIES, run_stabilize
    from qscale.grid.swing import default_swing_spec

    spec = default_swing_spec(
        cluster_mw=cluster_mw,
        swing=swing,
        period_s=period_s,
        duty=duty,
        jitter=jitter,
        edge_s=edge_s,
        duration_s=duration_s,
        dt_s=dt_s,
        seed=seed,
        quantum_systems=quantum_systems,
        quantum_step_kw=quantum_step_kw,
    )
    techs = tuple(_csv_list(technologies) or [])
    bad = [t for t in techs if t not in TECHNOLOGIES]
    if bad or not techs:
        raise QscaleUserError(f"--technologies must list some of {', '.join(TECHNOLOGIES)}; got {technologies!r}")
    hz = None
    if band_hz is not None:
        parts = _csv_list(band_hz) or []
        try:
            hz = tuple(float(x) for x in parts)
        except ValueError:
            hz = ()
        if len(hz) != 2:
            raise QscaleUserError(f"--band-hz must be 'low,high' in Hz, got {band_hz!r}")
    result = run_stabilize(spec, ramp_limit_mw_per_s, band_limit_mw, hz, techs)
    if plots is not None:
        result.write_plots(plots)
    if trace_csv is not None:
        result.write_trace_csv(trace_csv)
    emit(result.to_json(), as_json, _stabilize_human)
