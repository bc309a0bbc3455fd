"""What every `qscale` command shares: `guarded`, `emit`, the `--json`/`--device` options and the stderr console.

These live apart from qscale.cli so that sub-command modules (qscale.energy.cli, qscale.grid.cli, ...) can import
them at module level: qscale.cli imports those modules to register their commands, so importing qscale.cli from
them would be circular and forced lazy `from qscale.cli import emit` inside every command. Keep this module light
(no numpy, torch or other heavy imports at module level): `qscale --help` imports it.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any

import typer
from rich.console import Console

from qscale.errors import QscaleUserError
from qscale.io import dumps

err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout (logs go to stderr).")]
DeviceOpt = Annotated[str, typer.Option(help="cpu, cuda or auto (CUDA when available).")]
BackendOpt = Annotated[str, typer.Option(help="Where circuits run: exact (qscale, default), aer, fake_<device> "
                                         "(IBM snapshot noise, e.g. fake_fez) or module:callable (a V2 primitive).")]


def guarded(fn: Callable) -> Callable:
    """Map QscaleUserError to exit code 2 with a one-line reason, anything else to exit code 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from qscale.energy.ledger import ledger_scope

        try:
            with ledger_scope(fn.__name__):
                return fn(*args, **kwargs)
        except QscaleUserError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            sys.stderr.write(f"error: {reason}\n")
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:
            sys.stderr.write(f"internal error: {type(exc).__name__}: {exc}\n")
            traceback.print_exc(file=sys.stderr)
            raise typer.Exit(1) from None

    return wrapper


def emit(result: dict, as_json: bool, human: Callable[[dict], None]) -> None:
    """Print the result; every command's result carries the energy ledger of its own run."""
    from qscale.energy.ledger import with_ledger

    if "energy" not in result:
        result = with_ledger(result)
    if as_json:
        sys.stdout.write(dumps(result) + "\n")
    else:
        human(result)
