"""Refit qscale's inference calibration to the packaged ML.ENERGY measurements, reproducibly.

    PYTHONPATH=src python scripts/fit_inference.py            # rewrites data/inference_calibration.toml
    PYTHONPATH=src python scripts/fit_inference.py --dry-run  # prints the summary only

Fits on the rows marked "fit" in data/inference_measurements.json (the hold-out models are never seen),
then scores every row; afterwards run `python docs/energy_validation.py` to regenerate docs/energy.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qscale.energy.inference_calibration import calibration_from_dict, measurements
from qscale.energy.inference_fit import calibration_toml, error_summaries, fit, row_errors

OUT = Path(__file__).resolve().parents[1] / "src" / "qscale" / "energy" / "data" / "inference_calibration.toml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--dry-run", action="store_true", help="print the error summary, write nothing")
    args = parser.parse_args(argv)
    rows = measurements()
    cal, facts = fit([r for r in rows if r["split"] == "fit"])
    scored = row_errors(cal, rows)
    text = calibration_toml(cal, facts, rows, scored)
    import tomllib

    cal = calibration_from_dict(tomllib.loads(text))  # what the package will read back (rounded to 6 digits)
    scored = row_errors(cal, rows)
    text = calibration_toml(cal, facts, rows, scored)
    for name, summary in error_summaries(scored).items():
        if " " not in name:
            print(f"{name:15s} {summary}", file=sys.stderr)
    if not args.dry_run:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
