"""A storage controller that smooths a load's power swings as the grid sees them, and its energy books.

Grid side: the grid supplies g = load - s + parasitic, where s is the storage output (MW, + discharging).
Controller: a slow mean m of the load (two cascaded exponential filters), plus the storage's own losses
(filtered the same way) and a slow pull back to the initial stored energy, plus a small allowed wiggle
(load - m clipped to +/- b, b under the band limit) is the target; the grid reference follows it at no more
than the ramp limit. The storage is asked for u = load - reference.
Device: a first-order lag with time constant `response_s`; the controller leads it (it senses the load
continuously and commands what brings the output to u by the end of each step), but the command cannot
exceed the power rating, so a slow device needs headroom to follow fast edges. Energy: charging stores
s*eta_c, discharging draws s/eta_d, standby loses a fraction of the stored energy per hour, and a
parasitic load (e.g. an SMES cryoplant) draws a constant share of the rating from the grid.
Books close exactly: grid energy = load energy + losses + change in stored energy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Device:
    eta_charge: float
    eta_discharge: float
    response_s: float
    standby_per_hour: float
    parasitic_fraction_of_power: float
    soc_lo: float
    soc_hi: float


@dataclass
class Limits:
    ramp_mw_per_s: float
    band_mw: float
    band_hz: tuple[float, float]


@dataclass
class Tuning:
    mean_tau_s: float = 20.0  # slow mean: each of two cascaded filters
    soc_tau_s: float = 60.0  # how fast the controller restores the initial stored energy
    ramp_margin: float = 0.9  # reference ramps at 90 % of the limit
    band_margin: float = 0.5  # wiggle allowed: half the band limit


@dataclass
class Run:
    grid_mw: np.ndarray
    storage_mw: np.ndarray
    energy_mj: np.ndarray  # stored energy at the start of each step, then one more at the end
    max_command_mw: float
    clipped_energy: bool
    conversion_loss_mj: float
    standby_loss_mj: float
    parasitic_mj: float

    @property
    def losses_mj(self) -> float:
        return self.conversion_loss_mj + self.standby_loss_mj + self.parasitic_mj


def band_amplitude(g: np.ndarray, dt: float, band_hz: tuple[float, float], trim: float = 0.1) -> float:
    """Largest |component of g| between band_hz[0] and band_hz[1] (FFT band-pass of the detrended trace).

    The first and last `trim` of the trace are ignored: the FFT treats the trace as periodic.
    """
    n = len(g)
    x = np.arange(n)
    slope, intercept = np.polyfit(x, g, 1)
    spec = np.fft.rfft(g - (slope * x + intercept))
    f = np.fft.rfftfreq(n, dt)
    spec[(f < band_hz[0]) | (f > band_hz[1])] = 0.0
    filtered = np.fft.irfft(spec, n)
    k = int(n * trim)
    return float(np.abs(filtered[k : n - k]).max())


def max_ramp(g: np.ndarray, dt: float) -> float:
    return float(np.abs(np.diff(g)).max() / dt) if len(g) > 1 else 0.0


def simulate(
    load: np.ndarray,
    dt: float,
    dev: Device,
    limits: Limits,
    power_mw: float,
    energy_mj: float | None,
    tune: Tuning | None = None,
    e_init_mj: float = 0.0,
    loss_init_mw: float = 0.0,
) -> Run:
    """Run the controller over `load` with a device of `power_mw` and `energy_mj` (None: unlimited)."""
    tune = tune or Tuning()
    n = len(load)
    a = 1.0 - math.exp(-dt / dev.response_s) if dev.response_s > 0 else 1.0
    alpha = dt / tune.mean_tau_s
    r = tune.ramp_margin * limits.ramp_mw_per_s * dt
    b = tune.band_margin * limits.band_mw
    standby = dev.standby_per_hour / 3600.0 * dt
    parasitic = dev.parasitic_fraction_of_power * power_mw
    e_lo = dev.soc_lo * energy_mj if energy_mj is not None else -math.inf
    e_hi = dev.soc_hi * energy_mj if energy_mj is not None else math.inf

    warm = max(1, min(n, round(tune.mean_tau_s / dt)))
    m1 = m2 = float(np.mean(load[:warm]))  # warm start: the cluster was already running
    e1 = e2 = 0.0
    l1 = l2 = loss_init_mw  # filtered storage losses: the grid covers them so the store does not drift
    energy = e_init_mj
    grid = np.empty(n)
    out = np.empty(n)
    stored = np.empty(n + 1)
    stored[0] = energy
    conv = stand = 0.0
    max_cmd = 0.0
    clipped = False
    ref = None
    s = 0.0
    for k in range(n):
        lk = float(load[k])
        m1 += alpha * (lk - m1)
        m2 += alpha * (m1 - m2)
        e1 += alpha * ((e_init_mj - energy) - e1)
        e2 += alpha * (e1 - e2)
        centre = m2 + l2 + e2 / tune.soc_tau_s  # + MJ/s = MW: lean on the grid to restore the stored energy
        target = centre + min(b, max(-b, lk - centre))
        ref = target if ref is None else ref + min(r, max(-r, target - ref))
        u = lk - ref
        if k == 0:
            s = max(-power_mw, min(power_mw, u))  # steady state before the window
        else:
            cmd = s + (u - s) / a
            max_cmd = max(max_cmd, abs(cmd))
            cmd = max(-power_mw, min(power_mw, cmd))
            s = s + a * (cmd - s)
        # energy limits over this step (standby loss first: it happens whatever the storage does; at the
        # floor the device must draw enough to cover it)
        loss = standby * energy if energy > 0 else 0.0
        above = energy - loss - e_lo
        s_max = above * dev.eta_discharge / dt if above >= 0 else above / (dev.eta_charge * dt)
        s_min = -(e_hi - energy + loss) / (dev.eta_charge * dt)
        if s > s_max:
            s, clipped = s_max, True
        elif s < s_min:
            s, clipped = s_min, True
        s = max(-power_mw, min(power_mw, s))  # the rating wins if holding the floor would need more
        if s >= 0:
            drawn = s / dev.eta_discharge * dt
            step_conv = drawn - s * dt
            delta = -drawn
        else:
            stored_in = -s * dev.eta_charge * dt
            step_conv = -s * dt - stored_in
            delta = stored_in
        conv += step_conv
        stand += loss
        energy += delta - loss
        l1 += alpha * ((step_conv + loss) / dt - l1)
        l2 += alpha * (l1 - l2)
        stored[k + 1] = energy
        out[k] = s
        grid[k] = lk - s + parasitic
    if n:
        max_cmd = max(max_cmd, abs(out[0]))
    return Run(grid, out, stored, max_cmd, clipped, conv, stand, parasitic * dt * n)
