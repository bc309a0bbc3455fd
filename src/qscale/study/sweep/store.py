"""A sweep's folder on disk: finished cells, failed cells, and the lock that keeps two sweeps out of one folder.

    <out>/cells/<id>/    config.toml, results.json, report.html (as `qscale study` writes them), cell.json, log.txt
    <out>/failed/<id>/   error.json, log.txt (replaced by the next try; removed once the cell succeeds)

A cell's folder appears in one rename of a fully written staging folder next to it, so `cells/<id>/` either
holds a whole run or does not exist: a killed sweep leaves at most a `.partial` staging folder, which the
next sweep removes. A cell counts as finished when `cells/<id>/results.json` exists.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qscale.errors import QscaleUserError
from qscale.io import atomic_write_bytes, atomic_write_text, dumps

PARTIAL = ".partial"


class SweepStore:
    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.cells = self.out / "cells"
        self.failed = self.out / "failed"

    def cell_dir(self, cid: str) -> Path:
        return self.cells / cid

    def is_finished(self, cid: str) -> bool:
        return (self.cells / cid / "results.json").is_file()

    def results(self, cid: str) -> dict | None:
        path = self.cells / cid / "results.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def cell_meta(self, cid: str) -> dict | None:
        path = self.cells / cid / "cell.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Create the folder and hold its lock; a second sweep writing into the same folder is a user error."""
        self.out.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.out / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise QscaleUserError(f"another sweep is writing into {self.out}") from None
            self._remove_partials()
            yield
        finally:
            os.close(fd)

    def _remove_partials(self) -> None:
        for parent in (self.cells, self.failed):
            if parent.is_dir():
                for p in parent.iterdir():
                    if p.name.endswith(PARTIAL):
                        shutil.rmtree(p, ignore_errors=True)

    def _publish(self, parent: Path, cid: str, files: dict[str, bytes]) -> Path:
        parent.mkdir(parents=True, exist_ok=True)
        staging = parent / f".{cid}.{uuid.uuid4().hex[:8]}{PARTIAL}"
        staging.mkdir()
        try:
            for name, data in files.items():
                atomic_write_bytes(staging / name, data)
            final = parent / cid
            if final.exists():
                shutil.rmtree(final)  # an older try of the same cell (failed/) or a stray folder
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return final

    def write_done(self, cid: str, files: dict[str, bytes], meta: dict[str, Any], log: str) -> Path:
        payload = dict(files) | {"cell.json": dumps(meta).encode(), "log.txt": log.encode()}
        final = self._publish(self.cells, cid, payload)
        shutil.rmtree(self.failed / cid, ignore_errors=True)
        return final

    def write_failed(self, cid: str, meta: dict[str, Any], log: str) -> Path:
        return self._publish(self.failed, cid, {"error.json": dumps(meta).encode(), "log.txt": log.encode()})

    def write_text(self, name: str, text: str) -> Path:
        path = self.out / name
        atomic_write_text(path, text)
        return path
