"""What every `qscale` command shares: `guarded`, `emit`, the stderr console and the shared options.

Each shared option (`--json`, `--device`, `--seed`, `--pue`) and the comma-separated number parser are defined
here once, so that a flag means the same under every command. Keep this module light (no numpy, torch or other
heavy imports at module level): `qscale --help` imports it.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from qscale.errors import QscaleUserError
from qscale.io import dumps

if TYPE_CHECKING:
    from qscale.energy.data import Sourced

err = Console(stderr=True)

DEVICE_HELP = "cpu, cuda or auto (CUDA when available)."


def device_option(help: str = DEVICE_HELP) -> Any:
    """`--device`; a command may say what the device runs (the values are always cpu, cuda, auto)."""
    return typer.Option("--device", help=help)


def seed_option(help: str) -> Any:
    """`--seed`; each command says what its seed draws."""
    return typer.Option("--seed", help=help)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout (logs go to stderr).")]
DeviceOpt = Annotated[str, device_option()]
BackendOpt = Annotated[str, typer.Option(help="Where circuits run: exact (qscale, default), aer, fake_<device> "
                                         "(IBM snapshot noise, e.g. fake_fez) or module:callable (a V2 primitive).")]
PueOpt = Annotated[
    str | None, typer.Option("--pue", help="Facility PUE (>= 1) or a preset: google-fleet, industry-average, none.")
]


def parse_pue(text: str | None) -> Sourced | None:
    """`--pue` as a sourced value: a number is the user's, anything else names a preset; None when not given."""
    if text is None:
        return None
    from qscale.energy import data
    from qscale.energy.data import Sourced

    try:
        return Sourced(value=float(text), source="user input")
    except ValueError:
        return data.pue(text)


def parse_floats(text: str | None, name: str, *, nonempty: bool = False) -> list[float] | None:
    """A comma-separated list of numbers (None stays None); `nonempty` rejects a list with no number."""
    if text is None:
        return None
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise QscaleUserError(f"{name} must be comma-separated numbers, got {text!r}") from None
    if nonempty and not values:
        raise QscaleUserError(f"{name} needs at least one number")
    return values


def guarded(fn: Callable) -> Callable:
    """Map QscaleUserError to exit code 2 with a one-line reason, anything else to exit code 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from qscale.energy.ledger import ledger_scope
        from qscale.progress import configure, current_verbosity

        if kwargs.get("as_json"):  # one JSON object on stdout, and on stderr nothing but errors
            configure(current_verbosity(), as_json=True)
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


def emit(result: dict, as_json: bool, human: Callable[[dict], None], ledger_key: str = "energy") -> None:
    """Print a driver's `to_json()`; every command's result carries the energy ledger of its own run.

    The ledger goes under `ledger_key` unless the result already has that key (the energy commands attach their
    own ledger); `qscale vqe` names its eigenvalue `energy` and so files the ledger as `energy_ledger`.
    """
    from qscale.energy.ledger import current_ledger

    ledger = current_ledger()
    if ledger_key not in result and ledger is not None:
        result = {**result, ledger_key: ledger.to_dict()}
    if as_json:
        sys.stdout.write(dumps(result) + "\n")
    else:
        human(result)
