"""The physics of LLM serving energy: time of a decode step from its FLOPs and bytes, GPU power from how busy
the step keeps the GPU, and the batch that fits beside the KV cache.

Why this shape: the ideal roofline (every byte at peak bandwidth, every FLOP at peak, power = TDP) misses
what published measurements show (ML.ENERGY Leaderboard; Chung et al., arXiv 2505.06371 and 2601.22076):
real kernels reach a fraction of peak, the serving software leaves the GPU idle between kernels, power sits
between a static floor and TDP, and the KV cache and attention grow with the context. Each of those is one
term below, with a few free parameters per GPU and per serving engine (fitted in inference_fit.py).

One decode step of B sequences, each reading a KV cache of c tokens, on n tensor-parallel GPUs:

    linear layers   t_lin = smax(W / (n·BW·η_m), 2·P_act·B / (n·F·η_c))         W = weight bytes
    attention       t_att = smax(B·c·kv / (n·BW·η_a), 4·L·d·c·B / (n·F·η_c))    kv = KV bytes per token
    tensor parallel t_tp  = 2·L·(α + 2(n−1)/n · 2·B·d / link)                    (n > 1; ring all-reduce)
    software        t_sw  = t_0 + L·t_layer + B·t_seq        (scheduling, kernel launches, sampling)
    step = t_lin + t_att + t_tp + t_sw, or max(t_lin + t_att + t_tp, t_sw) when the engine overlaps CPU work

smax(a, b) = (a^k + b^k)^(1/k) is a smooth roofline (k = 1.25). Power of each GPU:

    P = P_s + (TDP − P_s)·(ℓ_m·(memory-bound time + t_tp) + compute-bound time) / step,  at most TDP

so software time draws only the static floor P_s. Prefill of a request of i prompt tokens: 2·P_act·i +
2·L·d·i² FLOPs at F·η_c, at TDP. Energy per output token of a request with o output tokens
= (n·P·step·o/B + n·TDP·t_prefill) / o. The achieved MBU and MFU (bytes and FLOPs of the step over what peak
bandwidth and peak FLOP/s would move and do in the step) follow from the terms, so they fall at small batch
and for small models, where software time dominates, as measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qscale.energy.data import Accelerator

BYTES_PER_PARAM = {"fp64": 8, "fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "fp4": 0.5}
KV_BYTES_PER_ELEMENT = 2.0  # vLLM and transformers keep the KV cache in 16-bit unless told otherwise
ACTIVATION_BYTES = 2.0  # 16-bit activations in tensor-parallel all-reduces
GPU_MEMORY_UTILIZATION = 0.9  # vLLM's default share of GPU memory it may use (weights + KV cache)
RESERVED_BYTES_PER_DEVICE = 2e9  # activations, CUDA graphs and workspace (assumed)
LAYERS_COEFF, LAYERS_EXP = 18.3, 0.327  # layers ≈ 18.3·(params/1e9)^0.327, fit to inference_models.toml
DEFAULT_KV_DIM = 1024  # 8 KV heads × 128 (Llama 3, Qwen3, Mistral 7B/Nemo/Large)


@dataclass(frozen=True)
class Architecture:
    """What the time and memory terms need to know of a model."""

    params: float
    active_params: float
    layers: int
    d_model: int
    kv_bytes_per_token: float
    bytes_per_param: float

    @property
    def weight_bytes(self) -> float:
        return self.params * self.bytes_per_param


@dataclass(frozen=True)
class HardwareFit:
    """Per-GPU free parameters: static power (W), power level of memory-bound work (fraction of the dynamic
    range), and the fractions of peak bandwidth (weight streaming, attention over the KV cache) and of peak
    FLOP/s that decode kernels reach."""

    static_w: float
    mem_level: float
    eta_mem: float
    eta_att: float
    eta_cmp: float


@dataclass(frozen=True)
class EngineFit:
    """Per-serving-engine free parameters (seconds): fixed per step, per layer per step, per sequence per
    step, and per tensor-parallel all-reduce; `overlap` says whether CPU work runs beside the GPU's."""

    step_s: float
    layer_s: float
    seq_s: float
    allreduce_s: float
    overlap: bool


def default_architecture(params: float) -> tuple[int, int, float]:
    """(layers, d_model, KV bytes per token) of a typical dense model of `params` parameters.

    Layers follow qscale's fit to the 26 architectures in data/inference_models.toml; d_model then comes
    from params ≈ 12·L·d²; the KV cache assumes 8 KV heads of 128 (grouped-query attention) in 16 bits.
    """
    layers = max(1, round(LAYERS_COEFF * (params / 1e9) ** LAYERS_EXP))
    d_model = max(64, round(math.sqrt(params / (12.0 * layers))))
    return layers, d_model, 2.0 * layers * DEFAULT_KV_DIM * KV_BYTES_PER_ELEMENT


@dataclass(frozen=True)
class Step:
    """One decode step: its time split, what it moved and computed, and the power it drew per device."""

    seconds: float
    linear_s: float
    attention_s: float
    tp_s: float
    software_s: float
    bytes_per_device: float
    flops_per_device: float
    power_w_per_device: float
    mbu: float
    mfu: float
    bound: str


# Sharpness of the smooth roofline: k = 1 adds memory and compute time, k -> inf is the sharp max(). 1.25 had the
# lowest error on the fit rows among k in {1, 1.25, 1.5, 2, 3, inf} (docs/energy.md, "Inference model").
ROOFLINE_K = 1.25
LOW_PRECISION = ("fp8", "int8", "fp4")


def serving_peak(acc: Accelerator, precision: str) -> tuple[float, str]:
    """Peak FLOP/s the calibrated model divides by, and the precision it is quoted at.

    Weights stored in 8 bits or fewer halve (or quarter) the bytes a step reads, but in ML.ENERGY's FP8 runs
    (Llama-3.1-405B-FP8 on H100 and B200) the compute-bound steps ran no faster than BF16 ones would: vLLM's
    FP8 linear layers quantize activations per token at run time. So compute is priced at the BF16 peak.
    """
    if precision in LOW_PRECISION and "bf16" in acc.peak_flops:
        return acc.peak_flops["bf16"], "bf16"
    return acc.peak(precision)


def _busy(t_mem: float, t_cmp: float) -> tuple[float, float, float]:
    """(time, memory-bound part, compute-bound part) of kernels limited by memory and compute: the smooth
    roofline (t_m^k + t_c^k)^(1/k), split between the two regimes in proportion to t^k. Real kernels slow
    down before the sharp roofline's corner (tiles half-filled, memory and math not fully overlapped)."""
    k = ROOFLINE_K
    a, b = t_mem**k, t_cmp**k
    if a + b == 0.0:
        return 0.0, 0.0, 0.0
    t = (a + b) ** (1.0 / k)
    return t, t * a / (a + b), t * b / (a + b)


def decode_step(
    arch: Architecture,
    acc: Accelerator,
    peak_flops: float,
    hw: HardwareFit,
    eng: EngineFit,
    *,
    batch: float,
    context: float,
    devices: int,
) -> Step:
    """Time and per-device power of one decode step (see the module docstring for the equations)."""
    n = devices
    bw = acc.memory_bandwidth_gb_s * 1e9
    kv_bytes = batch * context * arch.kv_bytes_per_token
    lin_flops = 2.0 * arch.active_params * batch
    att_flops = 4.0 * arch.layers * arch.d_model * context * batch
    t_lin, lin_mem, lin_cmp = _busy(
        arch.weight_bytes / (n * bw * hw.eta_mem), lin_flops / (n * peak_flops * hw.eta_cmp)
    )
    t_att, att_mem, att_cmp = _busy(kv_bytes / (n * bw * hw.eta_att), att_flops / (n * peak_flops * hw.eta_cmp))
    t_tp = 0.0
    if n > 1:
        link = (acc.interconnect_gb_s or acc.memory_bandwidth_gb_s / 10.0) * 1e9
        volume = 2.0 * (n - 1) / n * ACTIVATION_BYTES * batch * arch.d_model
        t_tp = 2.0 * arch.layers * (eng.allreduce_s + volume / link)
    t_sw = eng.step_s + arch.layers * eng.layer_s + batch * eng.seq_s
    gpu = t_lin + t_att + t_tp
    step = max(gpu, t_sw) if eng.overlap else gpu + t_sw
    tdp = acc.tdp_w or 0.0
    level = (hw.mem_level * (lin_mem + att_mem + t_tp) + lin_cmp + att_cmp) / step
    power = min(tdp, hw.static_w + (tdp - hw.static_w) * level)
    moved = (arch.weight_bytes + kv_bytes) / n
    computed = (lin_flops + att_flops) / n
    return Step(
        seconds=step,
        linear_s=t_lin,
        attention_s=t_att,
        tp_s=t_tp,
        software_s=t_sw,
        bytes_per_device=moved,
        flops_per_device=computed,
        power_w_per_device=power,
        mbu=moved / (step * bw),
        mfu=computed / (step * peak_flops),
        bound="software" if t_sw > gpu else ("memory" if lin_mem + att_mem >= lin_cmp + att_cmp else "compute"),
    )


def prefill_seconds(
    arch: Architecture, peak_flops: float, hw: HardwareFit, *, input_tokens: float, devices: int
) -> float:
    """Compute-bound prefill of one request: 2·P_act·i + 2·L·d·i² FLOPs (causal attention) at F·η_c."""
    flops = 2.0 * arch.active_params * input_tokens + 2.0 * arch.layers * arch.d_model * input_tokens**2
    return flops / (devices * peak_flops * hw.eta_cmp)


def kv_capacity_tokens(arch: Architecture, acc: Accelerator, devices: int) -> float:
    """Tokens of KV cache that fit beside the weights (vLLM's 90 % memory share, 2 GB per device reserved)."""
    usable = devices * (acc.memory_gb * 1e9 * GPU_MEMORY_UTILIZATION - RESERVED_BYTES_PER_DEVICE)
    return max(0.0, usable - arch.weight_bytes) / arch.kv_bytes_per_token if arch.kv_bytes_per_token else math.inf


def weights_fit(arch: Architecture, acc: Accelerator, devices: int) -> tuple[bool, float, float]:
    """(fits, weight bytes, usable bytes) for the weights alone on `devices` GPUs."""
    usable = devices * (acc.memory_gb * 1e9 * GPU_MEMORY_UTILIZATION - RESERVED_BYTES_PER_DEVICE)
    return arch.weight_bytes < usable, arch.weight_bytes, usable


@dataclass(frozen=True)
class Estimate:
    """Energy per output token and per request, with the decode step and prefill behind them."""

    step: Step
    prefill_s_per_request: float
    prefill_j_per_request: float
    decode_j_per_token: float
    energy_per_token_j: float
    energy_per_request_j: float
    seconds_per_request: float


def estimate(
    arch: Architecture,
    acc: Accelerator,
    peak_flops: float,
    hw: HardwareFit,
    eng: EngineFit,
    *,
    batch: float,
    input_tokens: float,
    output_tokens: float,
    context: float,
    devices: int,
    power_w: float | None = None,
) -> Estimate:
    """GPU energy (no facility overhead) per output token and per request; `power_w` fixes the power."""
    step = decode_step(arch, acc, peak_flops, hw, eng, batch=batch, context=context, devices=devices)
    p_decode = power_w if power_w is not None else step.power_w_per_device
    p_prefill = power_w if power_w is not None else (acc.tdp_w or p_decode)
    t_pre = prefill_seconds(arch, peak_flops, hw, input_tokens=input_tokens, devices=devices)
    decode_token = devices * p_decode * step.seconds / batch
    prefill_req = devices * p_prefill * t_pre
    per_request = decode_token * output_tokens + prefill_req
    return Estimate(
        step=step,
        prefill_s_per_request=t_pre,
        prefill_j_per_request=prefill_req,
        decode_j_per_token=decode_token,
        energy_per_token_j=per_request / output_tokens,
        energy_per_request_j=per_request,
        seconds_per_request=t_pre + step.seconds * output_tokens,
    )


def ideal_roofline(
    arch: Architecture,
    acc: Accelerator,
    peak_flops: float,
    *,
    batch: float,
    input_tokens: float,
    output_tokens: float,
    context: float,
    devices: int,
    power_w: float,
    mfu: float = 1.0,
    mbu: float = 1.0,
) -> dict[str, float | str | bool]:
    """The uncalibrated roofline (`--calibration none`): each decode step moves the weights and the KV cache at
    peak bandwidth × mbu or does 2·P_act·B FLOPs at peak × mfu, whichever is slower, at a fixed power per device;
    prefill is compute-bound. With mfu = mbu = 1 and TDP it is the fast-hardware, high-power corner."""
    kv_total = batch * context * arch.kv_bytes_per_token
    bandwidth = acc.memory_bandwidth_gb_s * 1e9 * devices * mbu
    compute = peak_flops * devices * mfu
    t_memory = (arch.weight_bytes + kv_total) / bandwidth
    t_compute = 2.0 * arch.active_params * batch / compute
    step = max(t_memory, t_compute)
    prefill_per_request = 2.0 * arch.active_params * input_tokens / compute
    batch_seconds = batch * prefill_per_request + output_tokens * step
    watts = power_w * devices
    needed = arch.weight_bytes + kv_total
    return {
        "step_seconds": step,
        "bound": "memory" if t_memory >= t_compute else "compute",
        "output_tokens_per_second": batch / step,
        "energy_per_token_j": watts * step / batch,
        "prefill_j_per_request": watts * prefill_per_request,
        "energy_per_request_j": watts * batch_seconds / batch,
        "seconds_per_batch": batch_seconds,
        "memory_needed_gb": needed / 1e9,
        "fits_in_memory": needed / 1e9 <= acc.memory_gb * devices,
        "mbu": (arch.weight_bytes + kv_total) / devices / (step * acc.memory_bandwidth_gb_s * 1e9),
        "mfu": t_compute * mfu / step,
    }
