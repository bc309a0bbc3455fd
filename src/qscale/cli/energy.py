"""`qscale energy ...`: LLM training/inference estimates, QPU job energy, fault-tolerant estimates, validation.

Every command's JSON carries an "energy" entry: this run's own energy from the ledger (measured or estimated).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qscale.cli.common import JsonOpt, PueOpt, emit, guarded, parse_pue
from qscale.errors import QscaleUserError

if TYPE_CHECKING:
    from qscale.energy.data import Sourced

energy_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Energy and carbon: LLM training and inference, quantum processors, fault-tolerant estimates.",
)

IntensityOpt = Annotated[
    float | None, typer.Option("--intensity-kg-per-kwh", help="Grid carbon intensity, kg CO2e per kWh.")
]
GridOpt = Annotated[str | None, typer.Option("--grid", help="Grid region preset (see `qscale energy list`).")]


def _pue(text: str | None) -> Sourced:
    from qscale.energy import data

    given = parse_pue(text)
    return given if given is not None else data.pue(data.grid_defaults()["pue"])


def register(app: typer.Typer) -> None:
    app.add_typer(energy_app, name="energy")


def _intensity(value: float | None, grid: str | None) -> Sourced:
    from qscale.energy import data
    from qscale.energy.data import Sourced

    if value is not None and grid is not None:
        raise QscaleUserError("give --intensity-kg-per-kwh or --grid, not both")
    if value is not None:
        return Sourced(value=value, source="user input")
    return data.intensity(grid or data.grid_defaults()["intensity"])


def _run(label: str, compute: Callable[[], dict[str, Any]], as_json: bool, human: Callable[[dict], None]) -> None:
    """Run `compute` inside an energy ledger and emit its result with the ledger attached."""
    from qscale.energy.ledger import EnergyLedger, with_ledger

    with EnergyLedger(f"energy {label}") as ledger:
        result = compute()
    emit(with_ledger(result, ledger), as_json, human)


def _print_ledger(r: dict[str, Any]) -> None:
    e = r["energy"]
    print(f"  this run: {e['energy_j']:.3g} J in {e['seconds']:.3g} s [{e['kind']}]")


@energy_app.command()
@guarded
def train(
    params: Annotated[float | None, typer.Option(help="Total parameters (e.g. 175e9).")] = None,
    active_params: Annotated[float | None, typer.Option(help="Active parameters per token (MoE).")] = None,
    tokens: Annotated[float | None, typer.Option(help="Training tokens.")] = None,
    hardware: Annotated[str | None, typer.Option(help="Accelerator (see `qscale energy list`).")] = None,
    devices: Annotated[float | None, typer.Option(help="Number of accelerators.")] = None,
    hw_efficiency: Annotated[
        float | None, typer.Option("--hw-efficiency", "--mfu", help="Achieved / peak FLOP/s (MFU), in (0, 1].")
    ] = None,
    precision: Annotated[str | None, typer.Option(help="Peak FLOP/s precision (default: the device's).")] = None,
    avg_power_w: Annotated[float | None, typer.Option(help="Average power per device, W.")] = None,
    gpu_hours: Annotated[float | None, typer.Option(help="Device-hours (the model-card form).")] = None,
    pue: PueOpt = None,
    intensity_kg_per_kwh: IntensityOpt = None,
    grid: GridOpt = None,
    lifetime_years: Annotated[float, typer.Option(help="Hardware life for embodied carbon.")] = 5.0,
    as_json: JsonOpt = False,
) -> None:
    """Training energy (MWh), time and tCO2e from model size and tokens, or from GPU-hours and power."""
    from qscale.energy.training import train_from_compute, train_from_device_hours

    pue_s, grid_s = _pue(pue), _intensity(intensity_kg_per_kwh, grid)

    def compute() -> dict[str, Any]:
        if gpu_hours is not None:
            given = [
                n
                for n, v in (("--params", params), ("--tokens", tokens), ("--hw-efficiency", hw_efficiency))
                if v is not None
            ]
            if given:
                raise QscaleUserError(f"--gpu-hours excludes {', '.join(given)}: choose one form")
            return train_from_device_hours(
                device_hours=gpu_hours,
                avg_power_w=avg_power_w,
                hardware=hardware,
                devices=devices,
                pue=pue_s,
                intensity=grid_s,
                lifetime_years=lifetime_years,
            ).to_json()
        missing = [
            n
            for n, v in (
                ("--params", params),
                ("--tokens", tokens),
                ("--hardware", hardware),
                ("--devices", devices),
                ("--hw-efficiency", hw_efficiency),
            )
            if v is None
        ]
        if missing:
            raise QscaleUserError(f"missing {', '.join(missing)} (or give --gpu-hours and --avg-power-w)")
        return train_from_compute(
            params=params,
            active_params=active_params,
            tokens=tokens,
            hardware=hardware,
            devices=devices,
            hw_efficiency=hw_efficiency,
            precision=precision,
            avg_power_w=avg_power_w,
            pue=pue_s,
            intensity=grid_s,
            lifetime_years=lifetime_years,
        ).to_json()

    def human(r: dict[str, Any]) -> None:
        days = f"{r['days']:.3g} days, " if r["days"] is not None else ""
        emb = f"{r['co2_embodied_t']:.3g}" if r["co2_embodied_t"] is not None else "n/a"
        print(f"training [{r['kind']}, {r['method']}]: {days}{r['device_hours']:.4g} device-hours")
        print(f"  {r['energy_mwh']:.4g} MWh, {r['co2_t']:.4g} tCO2e operational, {emb} tCO2e embodied")
        _print_ledger(r)

    _run("train", compute, as_json, human)


@energy_app.command()
@guarded
def infer(
    params: Annotated[float, typer.Option(help="Total parameters (e.g. 8e9).")],
    batch: Annotated[float, typer.Option(help="Concurrent requests (decode batch size).")] = 1,
    hardware: Annotated[str, typer.Option(help="Accelerator (see `qscale energy list`).")] = "H100",
    active_params: Annotated[float | None, typer.Option(help="Active parameters per token (MoE).")] = None,
    precision: Annotated[str | None, typer.Option(help="Weight/compute precision (default: the device's).")] = None,
    devices: Annotated[float, typer.Option(help="Accelerators serving one model copy (tensor parallel).")] = 1,
    power_w: Annotated[
        float | None, typer.Option(help="Average power per device, W (default: calibrated model; TDP if none).")
    ] = None,
    mfu: Annotated[
        float | None, typer.Option(help="Kernel FLOP/s efficiency in (0, 1] (default: calibrated; 1 if none).")
    ] = None,
    mbu: Annotated[
        float | None, typer.Option(help="Kernel bandwidth efficiency in (0, 1] (default: calibrated; 1 if none).")
    ] = None,
    input_tokens: Annotated[
        float | None, typer.Option(help="Prompt tokens per request, priced as prefill (default 100; 0 if none).")
    ] = None,
    output_tokens: Annotated[float, typer.Option(help="Generated tokens per request.")] = 256,
    context_tokens: Annotated[
        float | None, typer.Option(help="Mean KV-cache length during decode (default input + output; 0 if none).")
    ] = None,
    kv_bytes_per_token: Annotated[
        float | None, typer.Option(help="KV-cache bytes per token (default from the size; 0 if none).")
    ] = None,
    layers: Annotated[float | None, typer.Option(help="Transformer layers (default from the size).")] = None,
    d_model: Annotated[float | None, typer.Option(help="Hidden width (default from the size).")] = None,
    requests: Annotated[float, typer.Option(help="Requests to total energy_mwh over.")] = 1,
    method: Annotated[str, typer.Option(help="Headline model: roofline or ecologits.")] = "roofline",
    calibration: Annotated[
        str, typer.Option(help="default (fitted to ML.ENERGY measurements) or none (ideal roofline at TDP).")
    ] = "default",
    engine: Annotated[
        str,
        typer.Option(
            help="Serving software: vllm (vLLM 0.11+, 2025; default), vllm-2024 (vLLM 0.4-0.5), transformers "
            "(HF generate, batch 1) or other (shared parameters)."
        ),
    ] = "vllm",
    pue: PueOpt = None,
    intensity_kg_per_kwh: IntensityOpt = None,
    grid: GridOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Inference energy per output token and per request (calibrated roofline or EcoLogits; the other cross-checks)."""
    from qscale.energy.inference import infer as run_infer

    pue_s, grid_s = _pue(pue), _intensity(intensity_kg_per_kwh, grid)

    def compute() -> dict[str, Any]:
        return run_infer(
            params=params,
            batch=batch,
            hardware=hardware,
            active_params=active_params,
            precision=precision,
            devices=devices,
            power_w=power_w,
            mfu=mfu,
            mbu=mbu,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            context_tokens=context_tokens,
            kv_bytes_per_token=kv_bytes_per_token,
            layers=layers,
            d_model=d_model,
            requests=requests,
            method=method,
            calibration_name=calibration,
            engine=engine,
            pue=pue_s,
            intensity=grid_s,
        ).to_json()

    def human(r: dict[str, Any]) -> None:
        x, e = r["cross_check"], r["expected_error"]
        print(
            f"inference [{r['kind']}, model: {r['method']}, calibration: {r['calibration']}]: "
            f"{r['energy_per_token_j']:.4g} J/output token, {r['energy_per_request_j']:.4g} J/request, "
            f"{r['co2_per_request_g']:.3g} gCO2e/request"
        )
        print(f"  expected error: median {e['median_abs']:.0%}, 90th percentile {e['p90_abs']:.0%} ({e['basis']})")
        print(
            f"  {r['power_w_per_device']:.0f} W per device, MBU {r['mbu']:.0%}, MFU {r['mfu']:.0%}, batch {r['batch']}"
        )
        for note in r["notes"]:
            print(f"  note: {note}")
        print(f"  cross-check ({x['model']}): {x['energy_per_token_j']:.4g} J/output token")
        _print_ledger(r)

    _run("infer", compute, as_json, human)


@energy_app.command()
@guarded
def qpu(
    qubits: Annotated[float, typer.Option(help="Qubits used.")],
    two_qubit_depth: Annotated[float, typer.Option(help="Two-qubit gate layers per circuit.")],
    shots: Annotated[float, typer.Option(help="Shots per circuit.")] = 1000,
    modality: Annotated[
        str, typer.Option(help="superconducting, trapped_ion, neutral_atom or photonic.")
    ] = "superconducting",
    circuits: Annotated[float, typer.Option(help="Circuits per iteration.")] = 1,
    iterations: Annotated[float, typer.Option(help="Classical optimisation loop iterations.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Projected time and energy of a quantum job on a modality's hardware, as a low/typical/high range."""
    from qscale.energy.qpu import qpu_job

    def human(r: dict[str, Any]) -> None:
        e, s = r["energy_kwh"], r["seconds"]
        print(
            f"{r['modality']} job [{r['kind']}]: {r['qubits']} qubits, depth {r['two_qubit_depth']}, "
            f"{r['shots']} shots x {r['circuits']} circuits x {r['iterations']} iterations"
        )
        print(
            f"  time {s['typical']:.4g} s ({s['low']:.3g}-{s['high']:.3g}); "
            f"energy {e['typical']:.4g} kWh ({e['low']:.3g}-{e['high']:.3g})"
        )
        _print_ledger(r)

    def compute() -> dict[str, Any]:
        return qpu_job(modality, qubits, two_qubit_depth, shots, circuits, iterations).to_json()

    _run("qpu", compute, as_json, human)


@energy_app.command()
@guarded
def ft(
    logical_qubits: Annotated[float, typer.Option(help="Logical qubits of the algorithm (before layout).")],
    qubit_model: Annotated[
        str, typer.Option(help="qubit_gate_ns_e3/e4, qubit_gate_us_e3/e4, qubit_maj_ns_e4/e6.")
    ] = "qubit_gate_ns_e3",
    qec: Annotated[str, typer.Option(help="surface_code, or floquet_code (Majorana only).")] = "surface_code",
    t_count: Annotated[float, typer.Option(help="T gates.")] = 0,
    rotation_count: Annotated[float, typer.Option(help="Arbitrary-angle single-qubit rotations.")] = 0,
    rotation_depth: Annotated[float | None, typer.Option(help="Layers holding rotations (default: count).")] = None,
    ccz_count: Annotated[float, typer.Option(help="CCZ / Toffoli gates.")] = 0,
    measurement_count: Annotated[float, typer.Option(help="Single-qubit measurements.")] = 0,
    logical_depth: Annotated[float | None, typer.Option(help="Logical depth in cycles, if known (a minimum).")] = None,
    error_budget: Annotated[float, typer.Option(help="Total allowed failure probability.")] = 1e-3,
    target_per_cycle: Annotated[
        float | None, typer.Option(help="Required logical error per qubit per cycle (overrides the budget split).")
    ] = None,
    modality: Annotated[str | None, typer.Option(help="Power model (default: the qubit model's).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fault-tolerant resources (code distance, physical qubits, runtime) and energy, Azure-estimator style."""
    from qscale.energy.ft import estimate_ft

    def compute() -> dict[str, Any]:
        return estimate_ft(
            logical_qubits=logical_qubits,
            qubit_model_name=qubit_model,
            qec=qec,
            t_count=t_count,
            rotation_count=rotation_count,
            rotation_depth=rotation_depth,
            ccz_count=ccz_count,
            measurement_count=measurement_count,
            logical_depth=logical_depth,
            error_budget=error_budget,
            target_per_cycle=target_per_cycle,
            modality_name=modality,
        ).to_json()

    def human(r: dict[str, Any]) -> None:
        e = r["energy_kwh"]
        print(
            f"fault-tolerant estimate [{r['kind']}] with {r['qubit_model']['key']}: code distance "
            f"{r['code_distance']}, {r['physical_qubits_per_logical_qubit']} physical per logical qubit"
        )
        print(
            f"  {r['physical_qubits']:,} physical qubits ({r['t_factories']} T factories), "
            f"runtime {r['runtime_s']:.4g} s"
        )
        print(f"  energy ({r['modality']}): {e['typical']:.4g} kWh ({e['low']:.3g}-{e['high']:.3g})")
        _print_ledger(r)

    _run("ft", compute, as_json, human)


@energy_app.command()
@guarded
def validate(as_json: JsonOpt = False) -> None:
    """qscale's estimates beside published training, inference, QPU and fault-tolerant figures."""
    from qscale.energy.validate import markdown, validation_rows

    def human(r: dict[str, Any]) -> None:
        print(markdown({k: r[k] for k in ("training", "inference", "qpu", "ft")}), end="")
        _print_ledger(r)

    _run("validate", lambda: validation_rows().to_json(), as_json, human)


@energy_app.command(context_settings={"allow_interspersed_args": False})
@guarded
def measure(
    command: Annotated[list[str] | None, typer.Argument(help="The command to run and meter, after --.")] = None,
    interval: Annotated[float, typer.Option("--interval", help="Sampling interval, seconds.")] = 0.5,
    region: Annotated[
        str | None, typer.Option("--region", help="Grid region for the carbon intensity (see `qscale energy list`).")
    ] = None,
    intensity_kg_per_kwh: IntensityOpt = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Append one row in CodeCarbon's emissions.csv columns.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a command and report its energy (GPU by NVML, CPU by RAPL or TDP x utilisation, memory) and carbon.

    The child's exit code is reported and passed on; a failing child is metered all the same.
    """
    from qscale.energy.measure import append_csv, check_csv, codecarbon_row, default_child_stdout
    from qscale.energy.measure import measure as run_measure

    if region is not None and intensity_kg_per_kwh is not None:
        raise QscaleUserError("give --region or --intensity-kg-per-kwh, not both")
    grid_s = _intensity(intensity_kg_per_kwh, region)
    if csv_file is not None:
        check_csv(csv_file)
    result = run_measure(
        list(command or []),
        interval_s=interval,
        intensity=grid_s,
        region=region,
        child_stdout=default_child_stdout(as_json),
    )
    if csv_file is not None:
        append_csv(csv_file, codecarbon_row(result))
    result["csv"] = str(csv_file) if csv_file is not None else None

    def human(r: dict[str, Any]) -> None:
        print(
            f"{' '.join(r['command'])}: exit code {r['exit_code']}, {r['wall_s']:.3g} s, {r['energy_j']:.4g} J "
            f"({r['energy_kwh']:.3g} kWh), {r['co2_kg']:.3g} kg CO2e at {r['intensity_kg_per_kwh']} kg/kWh "
            f"[{r['kind']}]"
        )
        for name, part in r["parts"].items():
            print(f"  {name}: {part['energy_j']:.4g} J [{part['kind']}] {part['method']}")

    emit(result, as_json, human)
    if result["exit_code"] != 0:
        raise typer.Exit(result["exit_code"])


@energy_app.command("list")
@guarded
def list_data(as_json: JsonOpt = False) -> None:
    """Known hardware, grid regions, PUE presets, QPU modalities and fault-tolerant qubit models."""
    from qscale.energy.data import catalog

    def human(r: dict[str, Any]) -> None:
        for section in ("hardware", "grid", "pue", "modalities", "qubit_models"):
            print(f"{section}: " + ", ".join(f"{k} ({v})" for k, v in r[section].items()))

    _run("list", lambda: catalog().to_json(), as_json, human)
