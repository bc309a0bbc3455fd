"""Run the study: each enabled stage in order, then write the run folder all at once.

The folder is assembled under a hidden temporary name and renamed at the end, so a crash or a
user error never leaves a half-written run behind.
"""

from __future__ import annotations

import os
import platform
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import torch

from qscale import __version__
from qscale.energy.ledger import ledger_scope
from qscale.errors import QscaleUserError
from qscale.io import atomic_write_text, dumps
from qscale.llm.models import reuse_loaded_models
from qscale.progress import track
from qscale.study.report import render_report
from qscale.study.schema import StudyConfig, to_toml
from qscale.study.stage import StageOutput
from qscale.study.stages import STAGES


def _memory_gb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):  # not a POSIX system that reports it
        return None


def machine_info() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def prepare_out_dir(out: Path | None, root: Path = Path("runs")) -> Path:
    if out is None:
        out = root / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        suffix = 1
        while out.exists():
            out = out.with_name(f"{out.name.split('.')[0]}.{suffix}")
            suffix += 1
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise QscaleUserError(f"output folder {out} already exists and is not empty")
    return out


def run_study(
    config: StudyConfig, out: Path | None, quick: bool, progress: Callable[[str], None], *, as_given: bool = False
) -> tuple[Path, dict]:
    """as_given: `config` is final (a sweep cell, shrunk before its grid values were laid on): run it unchanged."""
    resolved = config if as_given else config.quick() if quick else config
    out = prepare_out_dir(out)
    config_toml = to_toml(resolved)  # before any stage runs, so a config that cannot be written fails first
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    outputs: list[StageOutput] = []
    enabled = [s for s in STAGES if getattr(resolved, s.name).enabled]
    # stages that load the same model (quantization, qnn, coprocessor: SmolLM2) convert its GGUF once
    with reuse_loaded_models(), track("study stages", total=len(enabled)) as stages_bar:
        for stage in STAGES:
            name, runner = stage.name, stage.run
            stage_cfg = getattr(resolved, name)
            if not stage_cfg.enabled:
                progress(f"stage {name}: disabled in config")
                continue
            progress(f"stage {name}: start")
            stages_bar.update(len(outputs), description=f"study: stage {name}")
            t_stage = time.perf_counter()
            with ledger_scope(f"study:{name}") as ledger:
                output = runner(stage_cfg, resolved.study, progress)
            output.seconds = time.perf_counter() - t_stage
            output.energy = ledger.to_dict()
            outputs.append(output)
            progress(f"stage {name}: done in {output.seconds:.1f} s")
            stages_bar.update(len(outputs), description="study stages")

    header = {
        "qscale_version": __version__,
        "study": resolved.study.name,
        "quick": quick,
        "started_utc": started.isoformat(timespec="seconds"),
        "seconds": time.perf_counter() - t0,
        "machine": machine_info(),
    }
    results = {
        **header,
        "stages": {o.name: {"title": o.title, "seconds": o.seconds, **o.summary, "energy": o.energy} for o in outputs},
        "energy": {
            "energy_j": sum(o.energy["energy_j"] for o in outputs),
            "kinds": sorted({o.energy["kind"] for o in outputs}),
            "note": "this run's own classical hardware, summed over stages; projected QPU energy is per stage",
        },
    }
    report = render_report(f"qscale study: {resolved.study.name}", header, outputs, config_toml)

    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        atomic_write_text(tmp / "config.toml", config_toml)
        atomic_write_text(tmp / "results.json", dumps(results))
        atomic_write_text(tmp / "report.html", report)
        if out.exists():
            out.rmdir()  # empty (checked above)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out, results
