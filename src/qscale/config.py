"""The one config layer: the strict pydantic base, the TOML readers and the one-line error naming the key.

Every TOML that qscale reads (a user's study, site or scenario file, or a packaged data file) goes through
here, so an unknown key or a bad value reads the same everywhere: `<source>: bad value for 'a.b': <why>`.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from qscale.errors import QscaleUserError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not silently fall back to a default); assignments are checked."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Frozen(Strict):
    """A Strict record that never changes after loading (data-file entries, scenario ranges)."""

    model_config = ConfigDict(frozen=True)


def format_error(exc: ValidationError, source: str) -> str:
    """The first validation error as one line naming its key (and how many more there are)."""
    err = exc.errors()[0]
    key = ".".join(str(part) for part in err["loc"]) or "<root>"
    if err["type"] == "extra_forbidden":
        return f"{source}: unknown key '{key}'"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    msg = err["msg"].removeprefix("Value error, ")
    return f"{source}: bad value for '{key}': {msg}{more}" if key != "<root>" else f"{source}: {msg}{more}"


def validate(model: type[M], data: Any, source: str) -> M:
    """`model` from `data`, or a QscaleUserError with format_error's line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise QscaleUserError(format_error(exc, source)) from None


def read_toml(path: Path | str, what: str = "config file") -> dict[str, Any]:
    """A user's TOML file as a dict; a missing file or bad TOML is a user error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise QscaleUserError(f"{what} not found: {path}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise QscaleUserError(f"{path}: not valid TOML: {exc}") from None


def packaged_toml(package: str, relative: str) -> dict[str, Any]:
    """A TOML data file shipped inside `package` (e.g. 'qscale.grid', 'data/technologies.toml')."""
    return tomllib.loads(resources.files(package).joinpath(relative).read_text(encoding="utf-8"))
