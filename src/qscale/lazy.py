"""Lazy package exports: `qscale.coproc`, `qscale.energy` and `qscale.primitives` name their public objects
without importing the modules that hold them, so `qscale --help` and `import qscale.x` stay cheap."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_getattr(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module-level `__getattr__` for `package`: `exports` maps a name to the module that defines it
    (absolute, or relative to `package` when it has no dot)."""

    def getattr_(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target = exports[name]
        return getattr(import_module(target if "." in target else f"{package}.{target}"), name)

    return getattr_
