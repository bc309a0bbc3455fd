"""Memory bandwidth of this machine: a STREAM-like copy, the yardstick for memory-bound simulators.

A copy of B bytes counts 2·B moved (B read + B written); the write-allocate read that a cache may add is
not counted, as in STREAM. On CPU we copy with numpy, single-threaded and with one thread per usable core
(numpy releases the GIL while it copies), and report the best; with --device cuda we copy torch tensors
on the GPU.

    python benchmarks/bandwidth.py [--gib 1] [--repeats 5] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import emit, log, median, time_call


def _cpu_copy(n_bytes: int, threads: int, repeats: int) -> dict[str, Any]:
    n = n_bytes // 8
    src = np.ones(n, dtype=np.float64)
    dst = np.zeros(n, dtype=np.float64)  # touched so that page faults are not timed
    bounds = np.linspace(0, n, threads + 1).astype(np.int64)
    pool = ThreadPoolExecutor(threads) if threads > 1 else None

    def copy() -> None:
        if pool is None:
            np.copyto(dst, src)
            return
        futs = [
            pool.submit(np.copyto, dst[bounds[k] : bounds[k + 1]], src[bounds[k] : bounds[k + 1]])
            for k in range(threads)
        ]
        for f in futs:
            f.result()

    times, _ = time_call(copy, repeats=repeats, warmup=1)
    if pool is not None:
        pool.shutdown()
    t = median(times)
    return {"threads": threads, "bytes_per_copy": 2 * n * 8, "seconds": times, "gb_per_s": 2 * n * 8 / t / 1e9}


def _cuda_copy(n_bytes: int, repeats: int) -> dict[str, Any]:
    import torch

    n = n_bytes // 8
    src = torch.ones(n, dtype=torch.float64, device="cuda")
    dst = torch.zeros(n, dtype=torch.float64, device="cuda")

    def copy() -> None:
        dst.copy_(src)
        torch.cuda.synchronize()

    times, _ = time_call(copy, repeats=repeats, warmup=2)
    t = median(times)
    return {
        "device_name": torch.cuda.get_device_name(0),
        "bytes_per_copy": 2 * n * 8,
        "seconds": times,
        "gb_per_s": 2 * n * 8 / t / 1e9,
    }


def measure(gib: float = 1.0, repeats: int = 5, device: str = "cpu", threads: int = 0) -> dict[str, Any]:
    """Copy bandwidth in GB/s (1e9 bytes). 'gb_per_s' is the copy with `threads` threads when given (so a
    run whose simulators are held to N threads is compared with N-thread bandwidth), else the best."""
    n_bytes = int(gib * 2**30)
    if device.startswith("cuda"):
        res = _cuda_copy(n_bytes, repeats)
        return {"device": "cuda", "array_gib": gib, "method": "torch copy_ on GPU", **res}
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    counts = sorted({1, cores, *([threads] if threads > 0 else [])})
    variants = [_cpu_copy(n_bytes, t, repeats) for t in counts]
    if threads > 0:
        best = next(v for v in variants if v["threads"] == threads)
    else:
        best = max(variants, key=lambda v: v["gb_per_s"])
    for v in variants:
        log(f"[bandwidth] copy {gib} GiB, {v['threads']} thread(s): {v['gb_per_s']:.1f} GB/s")
    return {
        "device": "cpu",
        "array_gib": gib,
        "method": "np.copyto float64, read+write counted",
        "variants": variants,
        "gb_per_s": best["gb_per_s"],
        "threads": best["threads"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gib", type=float, default=1.0, help="size of each array in GiB")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="report the copy with this many threads")
    args = ap.parse_args()
    emit(measure(args.gib, args.repeats, args.device, args.threads))


if __name__ == "__main__":
    main()
