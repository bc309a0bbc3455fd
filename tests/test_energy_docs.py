"""docs/energy.md's validation tables are generated, and must match what qscale computes now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_validation_tables_are_up_to_date():
    proc = subprocess.run(
        [sys.executable, str(DOCS / "energy_validation.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_stale_tables_are_detected(tmp_path):
    stale = tmp_path / "energy.md"
    text = (DOCS / "energy.md").read_text(encoding="utf-8").replace("| GPT-3 175B |", "| GPT-3 175B (edited) |")
    stale.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(DOCS / "energy_validation.py"), "--check", "--doc", str(stale)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
