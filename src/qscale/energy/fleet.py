"""How an inference fleet's power follows its traffic, from the calibrated serving model.

A campus sizes its serving GPUs for the peak request rate and keeps them on; when traffic falls, each model
copy runs a smaller batch. Its power does not fall in proportion: the static floor stays, and a smaller batch
keeps the GPU busier per token (ML.ENERGY v3, Llama-3.1-70B on 4 H100: 2,354 W at batch 255 and 2,184 W at
batch 128, 93 %). `qscale site` and `qscale outlook` take their inference load's diurnal trough from here
instead of assuming power proportional to traffic.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from qscale.energy.data import Sourced
from qscale.energy.inference import infer

TRAFFIC_TROUGH = 0.5  # request rate at the diurnal trough / at the peak (assumed, the site's old power trough)
# Llama-3.1-70B on four H100s at a peak batch of 256 and ~400 output tokens: an ML.ENERGY v3 configuration
REFERENCE: dict[str, Any] = {
    "params": 70.6e9,
    "hardware": "H100",
    "devices": 4,
    "peak_batch": 256,
    "input_tokens": 100,
    "output_tokens": 400,
}


def serving_power(batch: int, deployment: dict[str, Any]) -> float:
    """GPU power (W, all devices of one model copy) at `batch` concurrent sequences (calibrated model)."""
    r = infer(
        params=deployment["params"],
        hardware=deployment["hardware"],
        devices=deployment["devices"],
        batch=batch,
        input_tokens=deployment["input_tokens"],
        output_tokens=deployment["output_tokens"],
        pue=1.0,
        intensity=0.0,
    ).to_json()
    return float(r["power_w_per_device"]) * deployment["devices"]


def serving_power_fraction(traffic_fraction: float, deployment: dict[str, Any] | None = None) -> float:
    """Power at `traffic_fraction` of the peak request rate over power at the peak (same GPUs, smaller batch)."""
    dep = deployment or REFERENCE
    peak = dep["peak_batch"]
    low = max(1, round(peak * traffic_fraction))
    return serving_power(low, dep) / serving_power(peak, dep)


@cache
def inference_trough() -> Sourced:
    """The inference load's power at the traffic trough as a share of its peak, with its source."""
    value = round(serving_power_fraction(TRAFFIC_TROUGH), 3)
    return Sourced(
        value=value,
        source=(
            f"qscale.energy.fleet: calibrated serving model (fitted to ML.ENERGY measurements), Llama-3.1-70B on "
            f"4 H100 at batch {REFERENCE['peak_batch']} vs {round(REFERENCE['peak_batch'] * TRAFFIC_TROUGH)} "
            f"(traffic trough {TRAFFIC_TROUGH:.0%}, assumed)"
        ),
    )
