"""File output that never leaves a half-written file, JSON that accepts numpy/torch values, and the result base.

`Result` is what every driver returns (`run_qaoa`, `run_qpca`, `run_vqe`, `run_born`, `run_quantize`, `run_site`,
`run_stabilize`, `run_outlook`, the energy estimators): the CLI prints `result.to_json()` and the study stages
read it, so a command's JSON is decided in one place, its driver.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/torch scalars and arrays (recursively) into plain JSON types; NaN/inf become None."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # torch tensor, without importing torch here
        obj = obj.detach().cpu().numpy()
    # nor numpy (~0.1 s on every light CLI command): only a numpy value needs it, and then it is already loaded
    np = None
    if type(obj).__module__.partition(".")[0] == "numpy":
        import numpy as np

        if isinstance(obj, np.ndarray):
            return to_jsonable(obj.tolist())
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
    if isinstance(obj, float) or (np is not None and isinstance(obj, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


@dataclass
class Result:
    """A driver's answer: `report` is its JSON contract; payloads that are not JSON are a subclass's attributes.

    The report stays a mapping because which keys it holds depends on the inputs (a backend run adds its own,
    a regular graph adds the fixed-angle guarantee) and the CLI prints them in the order the driver wrote them.
    A subclass adds typed attributes for what callers need beside it (a trained model, traces, a solved
    network) instead of returning a tuple. Values may still be numpy/torch scalars: `dumps` converts them.
    """

    report: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict the CLI prints and the study stores (the report itself, not a copy)."""
        return self.report


def dumps(obj: Any, indent: int | None = 2) -> str:
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers see all or nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(folder: Path | str) -> Iterator[Path]:
    """Yield a hidden temporary folder beside `folder`; on success it becomes `folder`, on error it is removed.

    Readers (and a crash) see the whole folder or none. `folder` must not exist or be empty
    (validation.check_new_folder, checked before the work).
    """
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        if folder.exists():
            folder.rmdir()
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
