"""`qscale offload`: where should a task's quantum part run, priced in time, energy and quality.

The domain logic is in qscale.coproc (planner.py). Options are checked before any probe runs, so bad input
fails at once with exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qscale.cli.common import JsonOpt, emit, guarded


def register(app: typer.Typer) -> None:
    app.command("offload")(guarded(offload_cmd))  # co-processor: where a task's quantum part should run


def offload_cmd(
    task: Annotated[str, typer.Option(help="quantize, vqe-h2, born, qpca, qnn-step or qnn-token.")],
    era: Annotated[str | None, typer.Option(help="today, 2030s or 2040s (default: all three).")] = None,
    modality: Annotated[
        str | None, typer.Option(help="superconducting, trapped_ion, neutral_atom or photonic (default: all).")
    ] = None,
    scenario: Annotated[str, typer.Option(help="low, typical or high end of the device ranges.")] = "typical",
    figures: Annotated[Path | None, typer.Option(help="Write the probe run's timeline (Gantt PNG) here.")] = None,
    devices: Annotated[
        Path | None,
        typer.Option(help="TOML of device models in coproc/devices.toml's format: added, or replacing a built-in "
                     "device of the same name."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Price a task on this CPU, a GPU, today's QPUs and fault-tolerant QPUs of the 2030s/2040s, and decide."""
    from qscale.coproc.devices import load_devices_file
    from qscale.coproc.planner import check, plan

    check(task, era, modality, scenario)
    extra = load_devices_file(devices) if devices is not None else None
    result = plan(task, era, modality, scenario, extra)
    if figures is not None:
        from qscale.coproc.timeline import gantt
        from qscale.coproc.workloads import probe_timeline

        tl = probe_timeline(task)
        if tl is not None:
            result["figures"] = {"probe_timeline": str(gantt(tl, Path(figures) / f"offload_{task}_timeline.png"))}

    def human(r: dict[str, Any]) -> None:
        print(f"offload {r['task']}: {r['description']} (QPU rows projected; CPU measured)")
        for wl in r["workloads"]:
            print(
                f"  workload [{wl['scope']}]: {wl['circuits']:,} circuits of {wl['qubits']} qubits, depth "
                f"{wl['two_qubit_depth']:,}, {wl['shots']:,} shots, {wl['iterations']:,} dependent rounds"
            )
        print(f"  {'scope':28s} {'platform':13s} {'era':6s} {'wall s':>11s} {'energy J':>11s}  decision")
        for row in r["rows"]:
            wall = f"{row['wall_s']:.3g}" if row.get("wall_s") is not None else "-"
            energy = f"{row['energy_j']:.3g}" if row.get("energy_j") is not None else "-"
            print(
                f"  {row['scope'][:28]:28s} {row['platform']:13s} {row['era']:6s} {wall:>11s} {energy:>11s}  "
                f"{row['decision']}: {row.get('reason', '')}"
            )
            be = row.get("break_even")
            if be and be.get("all_time_factor") is not None:
                print(f"  {'':28s} break-even: all time parameters {be['all_time_factor']:.3g}x lower")
        print(f"  requirement: {r['requirement']}")

    emit(result, as_json, human)
