"""`QuantumLayer`: a parameterised quantum circuit as a batched, trainable PyTorch module.

A drop-in block for hybrid models: (B, n_in) real features in, (B, n_out) expectation values out,
trainable `weights`, gradients with respect to both. Exact mode simulates the state (fast kernel in
`kernel`, autograd for gradients); shot mode (`shots=N`) or an external `executor` returns
estimates as a QPU would, with parameter-shift gradients (`shots`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from qscale.errors import QscaleUserError
from qscale.qnn.layer.ansatz import (
    ANSATZE,
    ENCODINGS,
    build_circuit,
    check_choice,
    encoding_matrices,
    layer_rotations,
)
from qscale.qnn.layer.kernel import ExactPlan, amplitude_state, state_copies
from qscale.qnn.layer.readout import parse_readout
from qscale.qnn.layer.shots import Executor, ShiftedExpectation, ShotSampler
from qscale.quantum.device import real_dtype, resolve_dtype
from qscale.quantum.memory import check_memory


def _positive_int(value: object, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < minimum:
        raise QscaleUserError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class QuantumLayer(nn.Module):
    """A variational quantum circuit layer: input (B, n_in) -> output (B, n_out).

    Circuit, for each input row x: encode x, then `n_layers` ansatz layers (with `reupload=True` the
    encoding is repeated before every ansatz layer), then measure the read-out observables.

    Args:
        n_qubits: circuit width n (>= 1).
        n_layers: number of ansatz layers L.
        encoding: "angle_x" / "angle_y" (RX(x_i) / RY(x_i) on qubit i), "angle_z" (H then RZ(x_i) on
            qubit i), with n_in <= n_qubits and qubits without a feature left in |0>; or "amplitude"
            (the zero-padded, normalised input as the 2^n amplitudes; n_in <= 2^n; no re-uploading).
        ansatz: "strongly_entangling" (PennyLane StronglyEntanglingLayers: weights (L, n, 3),
            Rot(φ,θ,ω) = RZ(ω)RY(θ)RZ(φ) on each qubit, then CNOT i -> (i+r) mod n, r = (l mod (n-1)) + 1),
            "basic" (weights (L, n): RY on each qubit then a CNOT ring), or "hardware_efficient"
            (weights (L, n, 2): RY then RZ on each qubit, then a CZ chain (i, i+1)).
        readout: Pauli strings in Qiskit order (rightmost letter = qubit 0); default <Z_i> for every
            qubit i, so output i is qubit i.
        reupload: re-encode the input before every ansatz layer (data re-uploading).
        dtype: torch.complex64 (default) or torch.complex128 for the simulated state.
        shots: None for exact expectations; N for estimates from N measurements per circuit and
            observable, with parameter-shift gradients.
        seed: seeds the weight initialisation (uniform in [0, 2π), as PennyLane's TorchLayer) and the
            shot sampling.
        executor: a qscale executor (qscale.quantum.executor; its `expectations` of the bound circuits), or
            any callable `executor(batch: CircuitBatch) -> array (C, n_out)`; see
            `qscale.qnn.layer.shots.CircuitBatch`. It receives C circuits as encoding angles
            `batch.inputs` (C, n_slots, n_in), weights `batch.weights` (C, *weights.shape), the
            observables and shots, and can build bound Qiskit circuits with `batch.circuits()`.
            Gradients then use the parameter-shift rule through the same executor.

    Qubit 0 is the least significant bit of a basis index (Qiskit's order). With `angle_x` and
    `strongly_entangling`, PennyLane's AngleEmbedding(rotation="X") + StronglyEntanglingLayers +
    expval(PauliZ(i)) on wire i gives output i here, with the same weights.
    """

    def __init__(
        self,
        n_qubits: int,
        n_layers: int = 1,
        encoding: str = "angle_x",
        ansatz: str = "strongly_entangling",
        readout: list[str] | None = None,
        reupload: bool = False,
        dtype: torch.dtype | str = torch.complex64,
        shots: int | None = None,
        seed: int | None = None,
        executor: Executor | None = None,
    ) -> None:
        super().__init__()
        self.n_qubits = _positive_int(n_qubits, "n_qubits")
        self.n_layers = _positive_int(n_layers, "n_layers")
        self.encoding = check_choice(encoding, ENCODINGS, "encoding")
        self.ansatz = check_choice(ansatz, tuple(ANSATZE), "ansatz")
        self._ansatz = ANSATZE[self.ansatz]
        self.reupload = bool(reupload)
        if self.reupload and self.encoding == "amplitude":
            raise QscaleUserError("amplitude encoding cannot be re-uploaded: use an angle encoding with reupload")
        self.dtype = resolve_dtype(dtype)
        self.shots = None if shots is None else _positive_int(shots, "shots")
        if executor is not None and not (callable(executor) or hasattr(executor, "expectations")):
            raise QscaleUserError("executor must be a qscale executor or a callable taking a CircuitBatch")
        self.seed = seed
        n = self.n_qubits
        # guard before any 2^n table exists: one state plus the index/sign tables
        table_bytes = 2**n * (8 * self.n_layers + real_dtype(self.dtype).itemsize * (n + 2))
        check_memory(
            n,
            1,
            self.dtype,
            torch.device("cpu"),
            copies=2 + math.ceil(table_bytes / (2**n * 8)),
            what="QuantumLayer state and tables",
        )
        self.readout = parse_readout(readout, n)
        self.n_out = len(self.readout)
        self.n_in_max = 2**n if self.encoding == "amplitude" else n
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        shape = self._ansatz.weight_shape(self.n_layers, n)
        w = torch.rand(shape, generator=gen, dtype=torch.float64) * (2 * math.pi)
        self.weights = nn.Parameter(w.to(real_dtype(self.dtype)))
        self._seeds = np.random.default_rng(seed)
        self._executor: Executor | None = executor
        if self.shots is not None and executor is None:
            self._executor = ShotSampler(None if seed is None else seed + 1)
        self._plans: dict[tuple, ExactPlan] = {}

    # -- public ---------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return (
            f"n_qubits={self.n_qubits}, n_layers={self.n_layers}, encoding={self.encoding!r}, "
            f"ansatz={self.ansatz!r}, n_out={self.n_out}, reupload={self.reupload}, shots={self.shots}"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n_in) or (n_in,) real input -> (B, n_out) or (n_out,) expectations, in x's float dtype."""
        x, squeeze, out_dtype = self._check_input(x)
        if self._executor is not None:
            out = ShiftedExpectation.apply(x, self.weights, self)
        else:
            out = self._exact(x, self.weights)
        out = out.to(out_dtype)
        return out[0] if squeeze else out

    def to_qiskit(self, x_row: object):
        """The bound Qiskit QuantumCircuit of one input row (n_in values), with the current weights."""
        x = self._row(x_row)
        return self._qiskit_slots(self._slots(x[None])[0], self.weights.detach().cpu().double().numpy())

    def to_qasm3(self, x_row: object) -> str:
        """OpenQASM 3 text of `to_qiskit(x_row)` (equal up to a global phase)."""
        from qiskit import qasm3, transpile

        qc = self.to_qiskit(x_row)
        if self.encoding == "amplitude":
            qc = transpile(qc, basis_gates=["u", "cx", "rz", "ry", "rx"], optimization_level=0)
        return qasm3.dumps(qc)

    # -- input checks ---------------------------------------------------------------------------
    def _check_input(self, x: object) -> tuple[torch.Tensor, bool, torch.dtype]:
        if not isinstance(x, torch.Tensor):
            raise QscaleUserError(f"QuantumLayer input must be a torch.Tensor, got {type(x).__name__}")
        if x.is_complex():
            raise QscaleUserError("QuantumLayer input must be real")
        squeeze = x.ndim == 1
        if squeeze:
            x = x[None]
        if x.ndim != 2 or x.shape[0] < 1 or not 1 <= x.shape[1] <= self.n_in_max:
            raise QscaleUserError(
                f"QuantumLayer input must be (batch, n_in) with 1 <= n_in <= {self.n_in_max}, got {tuple(x.shape)}"
            )
        if x.device != self.weights.device:
            raise QscaleUserError(f"input is on {x.device} but the QuantumLayer is on {self.weights.device}")
        if not bool(torch.isfinite(x).all()):
            raise QscaleUserError("QuantumLayer input contains NaN or infinite values")
        out_dtype = x.dtype if x.is_floating_point() else real_dtype(self.dtype)
        x = x.to(real_dtype(self.dtype))
        if self.encoding == "amplitude" and bool((x.abs().sum(1) == 0).any()):
            raise QscaleUserError("amplitude encoding needs a non-zero input row (it is normalised)")
        return x, squeeze, out_dtype

    def _row(self, x_row: object) -> np.ndarray:
        if isinstance(x_row, torch.Tensor):
            x_row = x_row.detach().cpu().double().numpy()
        try:
            x = np.asarray(x_row, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise QscaleUserError(f"input row must be real numbers: {exc}") from None
        if not 1 <= x.size <= self.n_in_max or not np.all(np.isfinite(x)):
            raise QscaleUserError(f"input row must hold 1..{self.n_in_max} finite values, got {x.size}")
        return x

    # -- exact simulation -----------------------------------------------------------------------
    def _plan(self, device: torch.device) -> ExactPlan:
        key = (device, self.dtype)
        if key not in self._plans:
            self._plans[key] = ExactPlan(self.n_qubits, self._ansatz, self.n_layers, self.readout, self.dtype, device)
        return self._plans[key]

    def _exact(self, x: torch.Tensor, weights: torch.Tensor, slots: torch.Tensor | None = None) -> torch.Tensor:
        """(B, n_out) exact expectations; `slots` (B, S, n_in) gives each encoding slot its own angles."""
        n, B = self.n_qubits, x.shape[0]
        check_memory(n, B, self.dtype, x.device, copies=state_copies(self.n_layers), what="QuantumLayer batch")
        plan = self._plan(x.device)
        weights = weights.to(real_dtype(self.dtype))  # e.g. after module.double() on a complex64 layer
        U = layer_rotations(self._ansatz, weights, self.dtype)
        w3 = weights.unsqueeze(-1) if self._ansatz.squeeze else weights
        if self.encoding == "amplitude":
            return plan.run(w3, U, psi0=amplitude_state(x, n, self.dtype)).T
        E0 = self._encoding_gates(x if slots is None else slots[:, 0])  # (n, 2, 2, B)
        enc: list[torch.Tensor | None] | None = None
        if self.reupload:
            enc = [E0 if slots is None else self._encoding_gates(slots[:, s]) for s in range(self.n_layers)]
        return plan.run(w3, U, v0=E0[:, :, 0, :], enc=enc).T

    def _encoding_gates(self, x: torch.Tensor) -> torch.Tensor:
        """(n, 2, 2, B) encoding gate of every qubit (identity where there is no feature)."""
        B, n_in = x.shape
        E = encoding_matrices(self.encoding, x.T, self.dtype).permute(0, 2, 3, 1)  # (n_in, 2, 2, B)
        if n_in < self.n_qubits:
            eye = torch.eye(2, dtype=self.dtype, device=x.device)[None, :, :, None]
            E = torch.cat((E, eye.expand(self.n_qubits - n_in, 2, 2, B)), 0)
        return E

    # -- helpers for estimated execution (shots.py) -----------------------------------------------
    def _slots(self, x: np.ndarray) -> np.ndarray:
        """(B, S, n_in): the angles of each encoding slot (S = n_layers with re-uploading, else 1)."""
        S = self.n_layers if self.reupload else 1
        return np.repeat(np.asarray(x, dtype=np.float64)[:, None, :], S, axis=1)

    def _exact_slots(self, inputs: np.ndarray, weights: np.ndarray) -> torch.Tensor:
        """Exact (C, n_out) for per-row slot angles and weights, run in blocks of equal weights."""
        dev, rd = self.weights.device, real_dtype(self.dtype)
        C = inputs.shape[0]
        flat = weights.reshape(C, -1)
        out, start = [], 0
        while start < C:
            stop = start + 1
            while stop < C and np.array_equal(flat[stop], flat[start]):
                stop += 1
            sl = torch.as_tensor(inputs[start:stop], dtype=rd, device=dev)
            w = torch.as_tensor(np.array(weights[start]), dtype=rd, device=dev)
            out.append(self._exact(sl[:, 0], w, slots=sl))
            start = stop
        return torch.cat(out)

    def _qiskit_slots(self, slots: np.ndarray, weights: np.ndarray):
        """Bound Qiskit circuit for one row's slot angles (S, n_in) and weights."""
        from qiskit import QuantumCircuit
        from qiskit.circuit.library import StatePreparation

        from qscale.quantum.export import to_qiskit

        n = self.n_qubits
        if self.encoding == "amplitude":
            amp = np.zeros(2**n)
            amp[: slots.shape[1]] = slots[0]
            qc = QuantumCircuit(n)
            qc.append(StatePreparation(amp / np.linalg.norm(amp)), range(n))
            return qc.compose(to_qiskit(build_circuit(n, self.encoding, self._ansatz, weights, None, False)))
        return to_qiskit(build_circuit(n, self.encoding, self._ansatz, weights, slots, self.reupload))


__all__: Sequence[str] = ("QuantumLayer",)
