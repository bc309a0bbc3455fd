"""`qscale study`: the main job, every enabled stage into one run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qscale.cli.common import JsonOpt, emit, guarded
from qscale.progress import logger


def register(app: typer.Typer) -> None:
    app.command()(guarded(study))


def study(
    config: Annotated[Path | None, typer.Argument(help="TOML config (default: built-in defaults).")] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder (default runs/<timestamp>/).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Shrink every stage to run in seconds.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the main job: every enabled stage, writing config.toml, results.json and report.html."""
    from qscale.study.run import run_study
    from qscale.study.schema import load_config

    cfg = load_config(config)
    folder, results = run_study(cfg, out, quick, progress=logger("study").info)
    summary = {"run_folder": str(folder), "seconds": results["seconds"], "stages": list(results["stages"])}
    emit(summary, as_json, lambda r: print(f"run folder: {r['run_folder']} ({r['seconds']:.1f} s)"))

