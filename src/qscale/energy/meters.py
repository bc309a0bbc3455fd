"""Hardware energy counters the ledger can read: NVML on NVIDIA GPUs and RAPL under /sys/class/powercap.

Each meter returns a cumulative reading in joules; the ledger takes differences. Both counters are
device-wide: they include other processes and idle draw on the same device, and the output says so.
NVML is reached through `pynvml` (nvidia-ml-py) when importable, else directly through libnvidia-ml by
ctypes; a machine without either simply has no GPU meter.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

POWERCAP = Path("/sys/class/powercap")


class Meter(Protocol):
    name: str
    domain: str  # "gpu" or "cpu": which part of the machine the counter covers
    method: str

    def read_j(self) -> float: ...


@dataclass
class NvmlMeter:
    """One GPU's total-energy counter (millijoules since the driver loaded; Volta and newer)."""

    index: int
    name: str
    _backend: Any
    domain: str = "gpu"
    method: str = "NVML nvmlDeviceGetTotalEnergyConsumption (device-wide, includes idle and other processes)"

    def read_j(self) -> float:
        return self._backend.energy_mj(self.index) / 1000.0


class _PyNvml:
    def __init__(self) -> None:
        import pynvml  # nvidia-ml-py

        self._nv = pynvml
        pynvml.nvmlInit()
        self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]

    def count(self) -> int:
        return len(self._handles)

    def name(self, i: int) -> str:
        raw = self._nv.nvmlDeviceGetName(self._handles[i])
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    def energy_mj(self, i: int) -> float:
        return float(self._nv.nvmlDeviceGetTotalEnergyConsumption(self._handles[i]))

    def power_mw(self, i: int) -> float:
        return float(self._nv.nvmlDeviceGetPowerUsage(self._handles[i]))


class _CtypesNvml:
    """The four NVML calls the ledger needs, without the Python bindings."""

    def __init__(self) -> None:
        self._lib = ctypes.CDLL("libnvidia-ml.so.1")
        self._check(self._lib.nvmlInit_v2())
        n = ctypes.c_uint(0)
        self._check(self._lib.nvmlDeviceGetCount_v2(ctypes.byref(n)))
        self._handles = []
        for i in range(n.value):
            handle = ctypes.c_void_p()
            self._check(self._lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(i), ctypes.byref(handle)))
            self._handles.append(handle)

    @staticmethod
    def _check(code: int) -> None:
        if code != 0:
            raise OSError(f"NVML call failed with code {code}")

    def count(self) -> int:
        return len(self._handles)

    def name(self, i: int) -> str:
        buf = ctypes.create_string_buffer(96)
        self._check(self._lib.nvmlDeviceGetName(self._handles[i], buf, ctypes.c_uint(96)))
        return buf.value.decode(errors="replace")

    def energy_mj(self, i: int) -> float:
        value = ctypes.c_ulonglong(0)
        self._check(self._lib.nvmlDeviceGetTotalEnergyConsumption(self._handles[i], ctypes.byref(value)))
        return float(value.value)

    def power_mw(self, i: int) -> float:
        value = ctypes.c_uint(0)
        self._check(self._lib.nvmlDeviceGetPowerUsage(self._handles[i], ctypes.byref(value)))
        return float(value.value)


def nvml_meters() -> list[NvmlMeter]:
    """A meter per NVIDIA GPU whose energy counter answers; none when NVML is absent or unsupported."""
    for backend_cls in (_PyNvml, _CtypesNvml):
        try:
            backend = backend_cls()
            meters = [NvmlMeter(i, f"gpu{i} ({backend.name(i)})", backend) for i in range(backend.count())]
            for m in meters:
                m.read_j()  # pre-Volta GPUs answer NOT_SUPPORTED here
            return meters
        except Exception:  # no library, no driver, no device or no counter: try the next way, then give up
            continue
    return []


@dataclass
class NvmlPowerProbe:
    """One GPU's instantaneous board power (milliwatts), for GPUs without the total-energy counter: the
    caller samples it and integrates over time."""

    index: int
    name: str
    _backend: Any
    domain: str = "gpu"
    method: str = "NVML nvmlDeviceGetPowerUsage sampled and integrated over time (device-wide)"

    def read_w(self) -> float:
        return self._backend.power_mw(self.index) / 1000.0


def nvml_power_probes() -> list[NvmlPowerProbe]:
    """A power probe per NVIDIA GPU whose power reading answers; none when NVML is absent."""
    for backend_cls in (_PyNvml, _CtypesNvml):
        try:
            backend = backend_cls()
            probes = [NvmlPowerProbe(i, f"gpu{i} ({backend.name(i)})", backend) for i in range(backend.count())]
            for p in probes:
                p.read_w()
            return probes
        except Exception:  # no library, driver, device or power sensor
            continue
    return []


@dataclass
class RaplMeter:
    """One RAPL package zone (microjoules, wrapping at max_energy_range_uj)."""

    path: Path
    name: str
    domain: str = "cpu"
    method: str = "RAPL package counter under /sys/class/powercap (socket-wide, includes other processes)"
    _last_raw: int | None = None
    _total_uj: int = 0

    def _raw(self) -> int:
        return int((self.path / "energy_uj").read_text().strip())

    def read_j(self) -> float:
        raw = self._raw()
        if self._last_raw is not None:
            delta = raw - self._last_raw
            if delta < 0:  # the counter wrapped
                delta += int((self.path / "max_energy_range_uj").read_text().strip())
            self._total_uj += delta
        self._last_raw = raw
        return self._total_uj / 1e6


def rapl_meters(root: Path = POWERCAP) -> list[RaplMeter]:
    """Top-level package zones that this user can read (subzones would double-count)."""
    meters = []
    if not root.is_dir():
        return meters
    for zone in sorted(root.glob("*-rapl:*")):
        if zone.name.count(":") != 1:
            continue  # a subzone (core, uncore, dram) is inside its package
        try:
            label = (zone / "name").read_text().strip()
            if not label.startswith("package"):
                continue  # psys covers the packages too
            meter = RaplMeter(zone, f"cpu {label} ({zone.name})")
            meter.read_j()
            meters.append(meter)
        except (OSError, ValueError):
            continue  # not readable without root on most kernels since 2020
    return meters
