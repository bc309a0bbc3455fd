"""Estimated (finite-shot or external) execution of a `QuantumLayer`, with parameter-shift gradients.

This is the setting a QPU gives: each circuit returns estimates, never a state, so gradients come from
the parameter-shift rule. Every angle here (input encodings and weights) enters a single Pauli rotation
R(θ) = exp(-iθP/2), for which d<O>/dθ = (<O>(θ + π/2) − <O>(θ − π/2)) / 2 exactly.

The execution backend is pluggable (`executor`): a qscale executor (`qscale.quantum.executor`, e.g.
`qscale.primitives.executor.make_executor("fake_fez")`, asked for `expectations` of the batch's bound Qiskit
circuits), or a callable taking a `CircuitBatch` and returning a (C, n_out) array of estimates. Without one,
`ShotSampler` samples from the exact simulator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from qscale.errors import QscaleUserError

# The QuantumLayer (qscale.qnn.layer) that owns the circuits; typed as a Module so that layer.py can import
# this module without a cycle.
QuantumLayer = torch.nn.Module


@dataclass
class CircuitBatch:
    """C circuits of one `QuantumLayer` to execute: the request an `executor` receives.

    Row c is the layer's circuit whose encoding gates of slot l get the angles `inputs[c, l]` (one slot,
    or one per ansatz layer with data re-uploading; for amplitude encoding, the raw input row) and whose
    ansatz gets `weights[c]`. Rows differ in parameter-shift batches, where one angle is moved by ±π/2.
    `observables` are Pauli strings in Qiskit order (rightmost letter = qubit 0); `shots` is the number of
    measurements per circuit and observable (None: the executor's own choice or exact values); `seed` is
    a per-request seed drawn from the layer's seed. The executor returns an array-like of shape
    (C, len(observables)) of estimated expectations <O>.
    """

    layer: QuantumLayer
    inputs: np.ndarray  # (C, n_slots, n_in) float64
    weights: np.ndarray  # (C, *weights_shape) float64
    observables: tuple[str, ...]
    shots: int | None
    seed: int | None = None
    _cache: dict[int, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def circuit(self, c: int):
        """Row c as a bound Qiskit QuantumCircuit (no measurements)."""
        if c not in self._cache:
            self._cache[c] = self.layer._qiskit_slots(self.inputs[c], self.weights[c])
        return self._cache[c]

    def circuits(self) -> list:
        return [self.circuit(c) for c in range(len(self))]


Executor = Callable[[CircuitBatch], Any]


class ShotSampler:
    """Default executor: exact expectations, then N simulated measurements per circuit and observable.

    Each observable's N outcomes are ±1 with P(+1) = (1 + <O>)/2, which is the exact distribution of a
    measurement in that observable's eigenbasis, so the estimate is binomial and unbiased.
    """

    def __init__(self, seed: int | None) -> None:
        self.generator = np.random.default_rng(seed)

    def __call__(self, batch: CircuitBatch) -> np.ndarray:
        with torch.no_grad():
            exact = batch.layer._exact_slots(batch.inputs, batch.weights).cpu().numpy().astype(np.float64)
        if batch.shots is None:
            return exact
        p = np.clip((1.0 + exact) / 2.0, 0.0, 1.0)
        return 2.0 * self.generator.binomial(batch.shots, p) / batch.shots - 1.0


def execute(layer: QuantumLayer, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(C, n_out) estimates for encoding angles x (C, n_slots, n_in) and weight rows w (C, *shape)."""
    seed = int(layer._seeds.integers(2**31))
    batch = CircuitBatch(layer, x, w, tuple(layer.readout), layer.shots, seed)
    ex = layer._executor
    if hasattr(ex, "expectations"):  # a qscale executor (qscale.quantum.executor): bound circuits and observables
        out = np.asarray(ex.expectations(batch.circuits(), [list(batch.observables)] * len(batch), batch.shots))
    else:
        out = np.asarray(ex(batch), dtype=np.float64)
    out = out.astype(np.float64, copy=False)
    if out.shape != (x.shape[0], layer.n_out):
        raise QscaleUserError(f"executor returned shape {out.shape}, expected {(x.shape[0], layer.n_out)}")
    return out


class ShiftedExpectation(torch.autograd.Function):
    """Forward: estimates from the executor. Backward: parameter-shift rule, also through the executor.

    All shifted circuits go out as one batch: for each weight, 2·B rows (the whole batch at θ ± π/2);
    for each input feature and encoding slot, 2·B rows (every sample's own angle shifted). A re-uploaded
    feature sits in several gates, so its derivative is the sum of the per-slot shift derivatives.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weights: torch.Tensor, layer: QuantumLayer) -> torch.Tensor:
        xs = layer._slots(x.detach().cpu().double().numpy())
        wn = weights.detach().cpu().double().numpy()
        out = execute(layer, xs, np.broadcast_to(wn, (xs.shape[0], *wn.shape)))
        ctx.layer = layer
        ctx.save_for_backward(x, weights)
        return torch.as_tensor(out, dtype=x.dtype, device=x.device)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        x, weights = ctx.saved_tensors
        layer: QuantumLayer = ctx.layer
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if need_x and layer.encoding == "amplitude":
            raise QscaleUserError("shot mode has no parameter-shift gradient for amplitude-encoded inputs")
        xs = layer._slots(x.detach().cpu().double().numpy())  # (B, S, n_in)
        wn = weights.detach().cpu().double().numpy()
        g = grad_out.detach().cpu().double().numpy()  # (B, n_out)
        B, S, n_in = xs.shape
        w_rows = np.broadcast_to(wn, (B, *wn.shape))
        rows_x, rows_w = [], []
        n_w = wn.size if need_w else 0
        for k in range(n_w):
            for sign in (1.0, -1.0):
                w2 = wn.reshape(-1).copy()
                w2[k] += sign * math.pi / 2
                rows_x.append(xs)
                rows_w.append(np.broadcast_to(w2.reshape(wn.shape), w_rows.shape))
        slots = [(s, k) for s in range(S) for k in range(n_in)] if need_x else []
        for s, k in slots:
            for sign in (1.0, -1.0):
                x2 = xs.copy()
                x2[:, s, k] += sign * math.pi / 2
                rows_x.append(x2)
                rows_w.append(w_rows)
        if not rows_x:
            return None, None, None
        est = execute(layer, np.concatenate(rows_x), np.concatenate(rows_w))
        est = est.reshape(n_w + len(slots), 2, B, -1)
        deriv = (est[:, 0] - est[:, 1]) / 2.0  # (P, B, n_out)
        gw = gx = None
        if need_w:
            gw = torch.as_tensor(np.einsum("pbo,bo->p", deriv[:n_w], g).reshape(wn.shape), dtype=weights.dtype)
            gw = gw.to(weights.device)
        if need_x:
            gxn = np.zeros((B, n_in))
            for (_s, k), d in zip(slots, deriv[n_w:], strict=True):
                gxn[:, k] += (d * g).sum(-1)
            gx = torch.as_tensor(gxn[:, : x.shape[1]], dtype=x.dtype, device=x.device)
        return gx, gw, None
