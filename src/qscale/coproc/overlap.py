"""Demo: host work overlapping QPU jobs in the quantization path.

The layers of one execution group (q_proj, k_proj, v_proj of a block read the same input, so they share one
Hessian) are quantized independently. Run one after another, the host idles while each block's QUBOs are on the
QPU and the QPU idles while the host does GPTQ's column updates and builds the next block's QUBOs. Run on one
thread per layer, one layer's GPTQ work proceeds while another layer's circuits run. Both runs go through the
same runtime model; the answer per layer is the same (each layer keeps its own seeded solver).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import torch

from qscale.coproc.recording import RecordingExecutor
from qscale.coproc.runtime import HybridRuntime

GROUP = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj")


def _quantize(W: torch.Tensor, H: torch.Tensor, rt: HybridRuntime, p: int, shots: int, block: int) -> torch.Tensor:
    from qscale.llm.quant.factory import make_quantizer
    from qscale.llm.quant.solvers import make_solver

    solver = make_solver("qaoa", p=p, shots=shots, seed=0, executor=RecordingExecutor(rt, shots))
    return make_quantizer("qubo", bits=4, block=block, refine=0, solver=solver).fit(W, H).weight_


def run_group(weights: list[torch.Tensor], H: torch.Tensor, overlap: bool, device: str = "heron", p: int = 2,
              shots: int = 256, block: int = 8) -> tuple[dict[str, Any], list[torch.Tensor]]:  # fmt: skip
    """Quantize `weights` (sharing Hessian H) sequentially or one thread each; returns (timeline, weights)."""
    out: list[torch.Tensor | None] = [None] * len(weights)
    with HybridRuntime(device) as rt:
        if overlap:
            errors: list[BaseException] = []

            def work(i: int) -> None:
                try:
                    out[i] = _quantize(weights[i], H, rt, p, shots, block)
                except BaseException as exc:  # surfaced below, in the caller's thread
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(i,), name=f"layer-{i}") for i in range(len(weights))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
        else:
            for i, W in enumerate(weights):
                out[i] = _quantize(W, H, rt, p, shots, block)
    return rt.timeline(), [w for w in out if w is not None]


def demo(rows: int = 16, figure_dir: Path | None = None) -> dict[str, Any]:
    """SmolLM2 block 0's attention inputs, `rows` rows of each of q/k/v: sequential vs overlapped."""
    from qscale.coproc.timeline import gantt
    from qscale.coproc.workloads import _quant_inputs

    _, H, _, _ = _quant_inputs()
    weights = [_layer_weight(f"model.layers.0.{name}")[:rows] for name in GROUP]
    seq, w_seq = run_group(weights, H, overlap=False)
    par, w_par = run_group(weights, H, overlap=True)
    same = all(torch.equal(a, b) for a, b in zip(w_seq, w_par, strict=True))
    out: dict[str, Any] = {
        "layers": [f"model.layers.0.{n}" for n in GROUP],
        "rows_per_layer": rows,
        "sequential": _summary(seq),
        "overlapped": _summary(par),
        "speedup_makespan": seq["makespan_s"] / par["makespan_s"] if par["makespan_s"] else None,
        "same_weights": same,
        "kind": "host time measured, device time modelled (heron, typical)",
        "timeline": par,
    }
    if figure_dir is not None:
        out["figures"] = {
            "sequential": str(gantt(seq, Path(figure_dir) / "timeline_sequential.png", "q/k/v one after another")),
            "overlapped": str(gantt(par, Path(figure_dir) / "timeline_overlapped.png", "q/k/v on one thread each")),
        }
    return out


def _layer_weight(name: str) -> torch.Tensor:
    from qscale.coproc.workloads import loaded_model

    return loaded_model().model.get_submodule(name).weight.detach().float().clone()


def _summary(tl: dict[str, Any]) -> dict[str, Any]:
    return {k: tl[k] for k in ("makespan_s", "utilisation", "submissions", "circuits", "device_s", "host_work_s")}
