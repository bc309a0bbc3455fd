"""Cross-validate qscale's inference calibration the way it is used: on models, GPU types and data releases
the fit did not see.

    PYTHONPATH=src python scripts/cross_validate_inference.py   # rewrites data/inference_crossval.json

Schemes (every row of data/inference_measurements.json, both splits):
- in-sample: fit on every row, score every row;
- leave-one-model-out: for each architecture (fine-tunes and renamed copies of the same weights count as one),
  fit on the other rows, score its rows;
- leave-one-GPU-type-out: for each GPU, fit without any of its rows (it then gets the shared parameters);
- leave-one-release-out: for each ML.ENERGY release (v1 2023, v2 2024, v3 2025), fit without it (its serving
  engine then gets the shared engine parameters).
Afterwards run `python docs/energy_validation.py` to regenerate the tables in docs/energy.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from qscale.energy.inference_calibration import measurements, model_architectures
from qscale.energy.inference_crossval import SCHEMES, crossval_table, dump
from qscale.energy.inference_fit import fit, row_errors

OUT = Path(__file__).resolve().parents[1] / "src" / "qscale" / "energy" / "data" / "inference_crossval.json"


def _architecture(model: str) -> str:
    a = model_architectures()[model]
    return f"{a['params'] / 1e9:.3g}B/{a['layers']}L/{a['d_model']}d"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = measurements()
    t0 = time.perf_counter()
    full, facts = fit(rows)
    errors: dict[str, dict[int, float]] = {"in-sample": {r["id"]: r["error"] for r in row_errors(full, rows)}}
    keys = {
        "leave-one-model-out": lambda r: _architecture(r["model"]),
        "leave-one-GPU-type-out": lambda r: r["gpu"],
        "leave-one-release-out": lambda r: r["source"],
    }
    for scheme, key in keys.items():
        errors[scheme] = {}
        for group in sorted({key(r) for r in rows}):
            train = [r for r in rows if key(r) != group]
            test = [r for r in rows if key(r) == group]
            cal, _ = fit(train, x0=facts["x"])
            errors[scheme].update({r["id"]: r["error"] for r in row_errors(cal, test)})
            print(f"{scheme:24s} {group:18s} {len(test):4d} rows  {time.perf_counter() - t0:6.0f} s", file=sys.stderr)
    assert list(errors) == list(SCHEMES)
    args.out.write_text(dump(crossval_table(rows, errors)), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
