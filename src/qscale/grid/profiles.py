"""Hourly profiles for the campus: workload loads, solar/wind availability, grid price and carbon intensity.

The synthetic defaults are illustrative shapes (labelled `assumed`), deterministic for a seed, built for a
whole 8760-hour year and then cut to the modelled window so a short window keeps its season. Users bring
real data as CSV files, checked strictly: a profile of the wrong length or with a gap is an error, never
padded or interpolated.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from scipy.special import ndtr

from qscale.errors import QscaleUserError

YEAR_HOURS = 8760


def hour_of_year() -> np.ndarray:
    return np.arange(YEAR_HOURS)


def training_profile(mw: float, every_days: float, outage_hours: int, outage_level: float) -> np.ndarray:
    """Flat cluster power with scheduled maintenance windows (one every `every_days`, at `outage_level`)."""
    h = hour_of_year()
    p = np.full(YEAR_HOURS, float(mw))
    if outage_hours > 0 and mw > 0:
        period = every_days * 24.0
        starts = np.arange(period / 2, YEAR_HOURS, period)  # first window mid-period, then every period
        for s in starts:
            p[(h >= s) & (h < s + outage_hours)] = mw * outage_level
    return p


def inference_profile(peak_mw: float, min_fraction: float, weekend_factor: float = 0.85) -> np.ndarray:
    """Diurnal serving load: trough at 04:00, peak at 16:00, lower at weekends (1 Jan taken as a Monday)."""
    h = hour_of_year()
    hod = h % 24
    shape = 0.5 * (1.0 - np.cos(2.0 * np.pi * (hod - 4) / 24.0))
    p = peak_mw * (min_fraction + (1.0 - min_fraction) * shape)
    weekend = (h // 24) % 7 >= 5
    p[weekend] *= weekend_factor
    return p


def quantum_profile(systems: int, steady_kw: float, burst_kw: float, duty: float, seed: int) -> np.ndarray:
    """Quantum hall in MW: steady cryogenics/lasers per system plus job bursts (hourly mean of busy systems)."""
    rng = np.random.default_rng(seed + 7)
    busy = rng.binomial(systems, duty, size=YEAR_HOURS) if systems > 0 else np.zeros(YEAR_HOURS)
    return (systems * steady_kw + busy * burst_kw) / 1000.0


def tidy(cf: np.ndarray) -> np.ndarray:
    """Round availability to 1e-4 and zero out values under 1e-3: tiny matrix entries slow the LP solver."""
    out = np.round(np.asarray(cf, dtype=float), 4)
    out[out < 1e-3] = 0.0
    return out


def _scale_to_cf(raw: np.ndarray, cf: float) -> np.ndarray:
    """Scale a non-negative shape, clipped at 1, so its mean is `cf` (bisection on the scale)."""
    if not 0.0 < cf < 1.0:
        raise QscaleUserError(f"capacity factor must be in (0, 1), got {cf}")
    lo, hi = 0.0, 1.0
    while np.clip(raw * hi, 0.0, 1.0).mean() < cf:
        hi *= 2.0
        if hi > 1e6:
            raise QscaleUserError("profile shape is too small to reach the requested capacity factor")
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.clip(raw * mid, 0.0, 1.0).mean() < cf else (lo, mid)
    return np.clip(raw * hi, 0.0, 1.0)


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """Unit-variance AR(1) series."""
    x = np.empty(n)
    x[0] = rng.standard_normal()
    noise = rng.standard_normal(n) * math.sqrt(1.0 - phi * phi)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + noise[i]
    return x


def solar_profile(cf: float, seed: int, latitude_deg: float = 35.0) -> np.ndarray:
    """Clear-sky sun elevation at a mid-latitude site times a daily cloudiness factor, scaled to `cf`."""
    h = hour_of_year()
    doy = h // 24 + 1
    hod = h % 24 + 0.5
    lat = math.radians(latitude_deg)
    decl = np.radians(23.44) * np.sin(2.0 * np.pi * (284 + doy) / 365.0)
    omega = np.radians(15.0 * (hod - 12.0))
    sin_elev = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(omega)
    clear = np.clip(sin_elev, 0.0, None) ** 0.7  # tracking flattens the daily shape
    rng = np.random.default_rng(seed + 11)
    daily = np.clip(0.75 + 0.2 * _ar1(rng, 366, 0.6), 0.15, 1.0)
    return _scale_to_cf(clear * daily[h // 24], cf)


def wind_profile(cf: float, seed: int) -> np.ndarray:
    """Weibull(k=2) wind speeds with hour-to-hour persistence and a winter peak, through a power curve."""
    h = hour_of_year()
    rng = np.random.default_rng(seed + 13)
    u = ndtr(_ar1(rng, YEAR_HOURS, 0.97))
    speed = np.sqrt(-np.log1p(-np.clip(u, 0.0, 1.0 - 1e-12)))  # Weibull k=2, unit scale
    seasonal = 1.0 + 0.15 * np.cos(2.0 * np.pi * (h / 24.0 - 15.0) / 365.0)
    raw = speed * seasonal

    def curve(v: np.ndarray) -> np.ndarray:  # cut-in 3, rated 12, cut-out 25 m/s
        out = np.clip((v**3 - 27.0) / (12.0**3 - 27.0), 0.0, 1.0)
        out[v >= 25.0] = 0.0
        return out

    lo, hi = 0.1, 40.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if curve(raw * mid).mean() < cf else (lo, mid)
    return curve(raw * hi)


def grid_price_profile(mean_usd_per_mwh: float, seed: int) -> np.ndarray:
    """Evening-peaking, summer/winter-peaking price with noise; its mean is exactly the given mean."""
    h = hour_of_year()
    hod, doy = h % 24, h / 24.0
    daily = np.cos(2.0 * np.pi * (hod - 18) / 24.0)
    seasonal = 0.5 * np.cos(2.0 * np.pi * (doy - 200) / 365.0) + 0.5 * np.cos(4.0 * np.pi * (doy - 20) / 365.0)
    rng = np.random.default_rng(seed + 17)
    shape = 1.0 + 0.3 * daily + 0.1 * seasonal + 0.05 * rng.standard_normal(YEAR_HOURS)
    return mean_usd_per_mwh * shape / shape.mean()


def grid_co2_profile(mean_t_per_mwh: float, seed: int) -> np.ndarray:
    """Carbon intensity lower at midday (solar on the grid) and higher in the evening; mean as given."""
    h = hour_of_year()
    hod = h % 24
    midday = np.clip(np.cos(2.0 * np.pi * (hod - 13) / 24.0), 0.0, None)
    evening = np.cos(2.0 * np.pi * (hod - 20) / 24.0)
    rng = np.random.default_rng(seed + 19)
    shape = np.clip(1.0 - 0.2 * midday + 0.05 * evening + 0.03 * rng.standard_normal(YEAR_HOURS), 0.05, None)
    return mean_t_per_mwh * shape / shape.mean()


def read_profile_csv(
    path: Path, columns: dict[str, tuple[float | None, float | None]], hours: int, start_hour: int
) -> dict[str, np.ndarray]:
    """Read named columns from a CSV with a header; rows must be a whole year (8760) or exactly `hours`.

    `columns` maps a column name to its allowed (min, max). An optional `hour` column must count up by
    one; a missing hour, a blank cell or a non-number is reported as a gap, with its row.
    """
    path = Path(path)
    if not path.is_file():
        raise QscaleUserError(f"profile file not found: {path}")
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise QscaleUserError(f"{path}: cannot read ({exc})") from None
    if not rows:
        raise QscaleUserError(f"{path}: empty file")
    header = [c.strip().lower() for c in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise QscaleUserError(f"{path}: missing column(s) {', '.join(missing)} (header: {', '.join(header)})")
    body = [r for r in rows[1:] if any(cell.strip() for cell in r)]
    if len(body) != len(rows) - 1:
        first_blank = next(i for i, r in enumerate(rows[1:], start=2) if not any(c.strip() for c in r))
        raise QscaleUserError(f"{path}: gap: blank line at line {first_blank}")
    n = len(body)
    if n not in (YEAR_HOURS, hours):
        raise QscaleUserError(f"{path}: has {n} rows; need {YEAR_HOURS} (a whole year) or {hours} (the modelled hours)")
    out: dict[str, np.ndarray] = {}
    for name, (vmin, vmax) in columns.items():
        idx = header.index(name)
        vals = np.empty(n)
        for i, row in enumerate(body):
            cell = row[idx].strip() if idx < len(row) else ""
            try:
                value = float(cell)
            except ValueError:
                value = float("nan")
            if not math.isfinite(value):
                raise QscaleUserError(f"{path}: gap: line {i + 2}, column {name!r} has no valid number ({cell!r})")
            if (vmin is not None and value < vmin) or (vmax is not None and value > vmax):
                raise QscaleUserError(f"{path}: line {i + 2}, column {name!r} = {value} is outside [{vmin}, {vmax}]")
            vals[i] = value
        out[name] = vals
    if "hour" in header:
        idx = header.index("hour")
        try:
            hrs = [int(float(r[idx])) for r in body]
        except (ValueError, IndexError):
            raise QscaleUserError(f"{path}: column 'hour' must hold integers") from None
        for i in range(1, n):
            if hrs[i] != hrs[i - 1] + 1:
                raise QscaleUserError(f"{path}: gap: hour {hrs[i - 1]} is followed by hour {hrs[i]} (line {i + 2})")
    if n == YEAR_HOURS:
        out = {k: v[start_hour : start_hour + hours] for k, v in out.items()}
    return out
