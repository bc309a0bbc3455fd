"""2030s/2040s outlook: a Monte Carlo over sourced ranges for campus energy, cost and carbon, and for whether a
quantum co-processor would save energy on each of qscale's quantum tasks.

`run_outlook` and `load_scenarios` are imported on first use, so registering the CLI command stays cheap.
"""

from typing import Any

DEFAULT_YEARS = (2030, 2035, 2040, 2045)

__all__ = ["DEFAULT_YEARS", "load_scenarios", "run_outlook"]


def __getattr__(name: str) -> Any:
    if name == "run_outlook":
        from qscale.outlook.model import run_outlook

        return run_outlook
    if name == "load_scenarios":
        from qscale.outlook.scenarios import load_scenarios

        return load_scenarios
    raise AttributeError(f"module 'qscale.outlook' has no attribute {name!r}")
