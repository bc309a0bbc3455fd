"""QAOA on a precomputed cost diagonal: phase layers and uniform X mixers, batched over angle sets.

Conventions (docs/design.md): start in |+>^n; layer l applies exp(-i·γ_l·C) then exp(-i·β_l·Σ X_i); qubit 0
is the least significant bit of a basis index; bitstrings are written as Qiskit writes them (rightmost
character = qubit 0).

Two backends compute the same thing:
* "numba" (CPU): cache-blocked in-place kernels in `_kernels.py`; the phase uses a per-layer table
  when the diagonal takes few equally spaced values (integer costs), else a vectorizable sin/cos.
  Memory: one planar state (plus a second for gradients) and the cost as a 1- or 2-byte level index
  when it is integer (built from the QUBO without a float diagonal by `from_bqm`), else the float64
  diagonal. The last final state is kept, so expectation, sampling, top-k and the probability of the
  optimum at the same angles cost one simulation and streaming passes, with no state-sized temporaries.
* "torch" (CUDA, also runs on CPU): the mixer on groups of k qubits as one dense 2^k x 2^k matmul with
  the Kronecker product of RX gates, the phase as an elementwise multiply; differentiable by autograd.
Gradients use the adjoint method on either backend (two state vectors, whatever the depth p).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from numba import get_num_threads

from qscale.errors import QscaleUserError
from qscale.quantum import _kernels as kern
from qscale.quantum.device import real_dtype, resolve_device, resolve_dtype
from qscale.quantum.memory import check_memory
from qscale.quantum.qubo import LevelEncoding

__all__ = ["LevelEncoding", "QAOASimulator", "TopK", "integer_levels"]

_VEC_PAD = 24  # elements between the real and imaginary planes (avoids cache-set aliasing)
_ROW_PAD = 8  # elements between gathered rows in the high-pass buffer
_SAMPLE_BLOCK = 1 << 14  # amplitudes per block of the streamed cumulative sum used for sampling
#: Resident memory besides states and cost (interpreter, torch, numba, kernel buffers), for the guard.
OVERHEAD_BYTES = 1 << 30


@dataclass(frozen=True)
class TopK:
    """The k most probable basis states of one angle set."""

    bitstrings: list[str]
    indices: np.ndarray
    probabilities: np.ndarray
    energies: np.ndarray


def integer_levels(diag: np.ndarray, max_levels: int = 65536) -> LevelEncoding | None:
    """Encode the diagonal as lo + scale·v with integer v < max_levels, or None when it is not.

    The spacing is the float gcd of sampled values, pinned to the exact extremes; every entry is
    then checked, so a wrong guess only costs the fallback to the float path.
    """
    lo, hi = float(diag.min()), float(diag.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    span = hi - lo
    size = max(abs(lo), abs(hi), span, 1e-300)
    if span == 0.0:
        levels = 1
    else:
        sample = np.unique(diag[:: max(1, diag.size // 65536)] - lo)
        sample = sample[sample > span * 1e-12]
        if sample.size == 0:
            return None
        g = float(sample[0])
        tol = span * 1e-9
        for v in sample[1:256]:
            a, b = float(v), g
            while b > tol:
                a, b = b, math.fmod(a, b)
            g = a
        levels = round(span / g) + 1
        if levels > max_levels or levels < 2:
            return None
    scale = span / (levels - 1) if levels > 1 else 1.0
    index = np.empty(diag.size, dtype=np.uint8 if levels <= 256 else np.uint16)
    worst = np.zeros(get_num_threads())
    kern.encode_levels(np.ascontiguousarray(diag, dtype=np.float64), lo, scale, index, worst)
    if worst.max() > 64 * np.finfo(np.float64).eps * size:
        return None
    return LevelEncoding(index=index, values=lo + scale * np.arange(levels, dtype=np.float64))


def _mixer_constants(beta: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per angle: the scaled-rotation constant k, whether the cot form (swapped outputs) is used,
    and the layer's scalar factor sigma ((cos β)^n or (-i·sin β)^n)."""
    c, s = np.cos(beta), np.sin(beta)
    swap = np.abs(s) > np.abs(c)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(swap, -c / s, s / c)
    sigma = np.where(swap, (-1j * s) ** n, (c + 0j) ** n)
    return k, swap, sigma


def _as_angles(gammas, betas) -> tuple[np.ndarray, np.ndarray, bool]:
    """(B, p) float64 copies of the angles and whether the input was a single 1-D set."""
    g = gammas.detach().cpu().numpy() if isinstance(gammas, torch.Tensor) else np.asarray(gammas)
    b = betas.detach().cpu().numpy() if isinstance(betas, torch.Tensor) else np.asarray(betas)
    g = np.asarray(g, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if g.shape != b.shape or g.ndim not in (1, 2):
        raise QscaleUserError(f"gammas and betas must have the same shape (p,) or (B, p); got {g.shape}, {b.shape}")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(b))):
        raise QscaleUserError("QAOA angles must be finite")
    single = g.ndim == 1
    return np.atleast_2d(g), np.atleast_2d(b), single


class QAOASimulator:
    """QAOA state vectors, expectations, gradients and samples for one cost diagonal."""

    def __init__(
        self,
        diag: np.ndarray | torch.Tensor | LevelEncoding,
        device: str | torch.device = "auto",
        dtype: str | torch.dtype = "complex128",
        backend: str = "auto",
        *,
        low_qubits: int = 14,
        group_qubits: int = 10,
        lanes: int = 128,
        torch_group: int | None = None,
        phase_table: bool = True,
    ) -> None:
        given = diag if isinstance(diag, LevelEncoding) else None
        if given is not None:
            size = given.index.size
            if given.index.ndim != 1 or size < 2 or size & (size - 1):
                raise QscaleUserError(f"level index must have length 2^n (n >= 1), got {given.index.shape}")
            self._diag: np.ndarray | None = None
        else:
            d = diag.detach().cpu().numpy() if isinstance(diag, torch.Tensor) else np.asarray(diag)
            if d.ndim != 1 or d.size < 2 or d.size & (d.size - 1):
                raise QscaleUserError(f"cost diagonal must be a 1-D array of length 2^n (n >= 1), got shape {d.shape}")
            self._diag = np.ascontiguousarray(d, dtype=np.float64)
            if not np.all(np.isfinite(self._diag)):
                raise QscaleUserError("cost diagonal contains non-finite values")
            size = self._diag.size
        self.n_qubits = int(size).bit_length() - 1
        self.dim = int(size)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        self.real_dtype = real_dtype(self.dtype)
        if backend == "auto":
            backend = "numba" if self.device.type == "cpu" else "torch"
        if backend not in ("numba", "torch"):
            raise QscaleUserError(f"unknown QAOA backend {backend!r}: use numba, torch or auto")
        if backend == "numba" and self.device.type != "cpu":
            raise QscaleUserError("the numba backend runs on the CPU only; use backend='torch' on CUDA")
        self.backend = backend
        if backend == "torch":
            check_memory(self.n_qubits, 1, self.dtype, self.device, copies=3, what="QAOA state vectors")
        n = self.n_qubits
        self._np_real = np.float64 if self.real_dtype == torch.float64 else np.float32
        self._G = min(n, max(1, int(low_qubits)))
        self._groups = _split_groups(self._G, n, max(1, int(group_qubits)))
        self._lanes = max(8, int(lanes))
        table = backend == "numba" and phase_table
        if given is not None and not table:  # the float kernels and torch need the diagonal itself
            self._diag = given.values[given.index]
        self.levels = given if (given is not None and table) else integer_levels(self._diag) if table else None
        self._dmax = float(np.max(np.abs(self.levels.values if self.levels is not None else self._diag)))
        self._kdiag = self._diag if self._diag is not None else np.zeros(1)
        self._range: tuple[float, float, int] | None = None
        self._state_key: tuple | None = None
        #: seconds of the classical enumeration of every energy (set by from_bqm's streamed pass, else by cost_range)
        self.enumeration_seconds: float | None = None
        self._torch_group = int(torch_group) if torch_group else (4 if self.device.type == "cpu" else 5)
        self._ws: dict[tuple[int, int], np.ndarray] = {}
        self._tdiag: torch.Tensor | None = None

    @classmethod
    def footprint(cls, bqm, state_copies: int = 2, **kwargs) -> tuple[int, str, object]:
        """Peak bytes `from_bqm` would hold for this BQM (states + cost + OVERHEAD_BYTES), what the cost
        will be ("uint8 level index", "uint16 level index" or "float64 diagonal") and the integer model
        (None for a float cost). Looks at the coefficients only: allocates nothing."""
        from qscale.quantum.memory import statevector_bytes
        from qscale.quantum.qubo import integer_cost

        n = bqm.num_variables
        if n < 1:
            raise QscaleUserError("the BQM has no variables")
        dev = resolve_device(kwargs.get("device", "auto"))
        dt = resolve_dtype(kwargs.get("dtype", "complex128"))
        backend = kwargs.get("backend", "auto")
        table = (backend == "numba" or (backend == "auto" and dev.type == "cpu")) and kwargs.get("phase_table", True)
        icost = integer_cost(bqm) if table and n <= 60 else None
        bound = icost.level_bound() if icost is not None else None
        if bound is None or bound > 65536:
            per_state, what = 8, "float64 diagonal"
        else:
            per_state, what = (1, "uint8 level index") if bound <= 256 else (2, "uint16 level index")
        if not table:  # torch: three states (forward, adjoint) and the float64 diagonal
            state_copies = max(state_copies, 3)
        states = statevector_bytes(n, 1, dt, state_copies) if n <= 60 else state_copies * 2.0**n * 16
        return int(states + per_state * 2.0**n + OVERHEAD_BYTES), what, icost

    @classmethod
    def from_bqm(cls, bqm, state_copies: int = 2, **kwargs) -> QAOASimulator:
        """Simulator for a dimod BQM, with the smallest cost representation that is exact.

        Integer costs (MaxCut, any QUBO whose coefficients share a step) become a 1- or 2-byte level
        index computed chunk by chunk from the QUBO, never a float diagonal; other costs get the float64
        diagonal. Before building anything the whole footprint (`footprint`: `state_copies` states, 1
        to evaluate and sample, 2 for adjoint gradients, 3 on torch; the cost; OVERHEAD_BYTES) is
        checked against free memory, and a request that cannot fit is refused naming the bytes.
        """
        import time

        from qscale.quantum.memory import available_bytes, format_bytes
        from qscale.quantum.qubo import cost_diagonal, stream_levels

        need, what, icost = cls.footprint(bqm, state_copies, **kwargs)
        dev = resolve_device(kwargs.get("device", "auto"))
        have = available_bytes(dev)
        if need > have:
            n = bqm.num_variables
            dt = str(resolve_dtype(kwargs.get("dtype", "complex128"))).replace("torch.", "")
            raise QscaleUserError(
                f"QAOA on {n} qubits ({dt}, {state_copies} state(s) + {what}) needs {need} bytes "
                f"({format_bytes(need)}) but only {format_bytes(have)} is available on {dev}"
            )
        if icost is not None:
            t0 = time.perf_counter()
            streamed = stream_levels(icost)
            if streamed is not None:
                enc, argmin = streamed
                sim = cls(enc, **kwargs)
                sim._range = (float(enc.values[0]), float(enc.values[-1]), argmin)
                sim.enumeration_seconds = time.perf_counter() - t0
                return sim
        return cls(cost_diagonal(bqm), **kwargs)

    @property
    def diag(self) -> np.ndarray:
        """The float64 cost of every basis state (materialised from the level index when the simulator was
        built from one: 8 bytes per state, so for small n or the torch backend only)."""
        if self._diag is not None:
            return self._diag
        assert self.levels is not None
        return self.levels.values[self.levels.index]

    def cost_bytes(self) -> int:
        """Bytes held for the cost (level index or float diagonal)."""
        if self._diag is not None:
            return int(self._diag.nbytes) + (int(self.levels.index.nbytes) if self.levels is not None else 0)
        assert self.levels is not None
        return int(self.levels.index.nbytes)

    def energies(self, indices) -> np.ndarray:
        """Cost of the given basis indices (float64)."""
        idx = np.asarray(indices, dtype=np.int64)
        if self._diag is not None:
            return self._diag[idx]
        assert self.levels is not None
        return self.levels.values[self.levels.index[idx]]

    def cost_range(self) -> tuple[float, float, int]:
        """(minimum, maximum, first index of the minimum) of the cost: the exact classical optimum."""
        if self._range is None:
            import time

            t0 = time.perf_counter()
            if self.levels is not None:  # both encoders put the minimum at level 0 and the maximum at the top
                arg = int(kern.first_index(self.levels.index, 0))
                self._range = (float(self.levels.values[0]), float(self.levels.values[-1]), arg)
            else:
                arg = int(np.argmin(self._diag))
                self._range = (float(self._diag[arg]), float(np.max(self._diag)), arg)
            if self.enumeration_seconds is None:
                self.enumeration_seconds = time.perf_counter() - t0
        return self._range

    # ------------------------------------------------------------------------------------------
    # public API

    def statevector(self, gammas, betas) -> torch.Tensor:
        """Final states, shape (B, 2^n) complex (B = 1 for 1-D angles)."""
        if self.backend == "torch":
            return self._torch_forward(*self._torch_angles(gammas, betas))
        g, b, _ = _as_angles(gammas, betas)
        sv, _ = self._forward_cached(g, b, energy=False)
        self._check_batch(g.shape[0], 1)
        out = np.empty((g.shape[0], self.dim), dtype=np.complex128 if self._np_real is np.float64 else np.complex64)
        out.real = sv[:, 0, : self.dim]
        out.imag = sv[:, 1, : self.dim]
        return torch.from_numpy(out)

    def probabilities(self, gammas, betas) -> torch.Tensor:
        """|amplitude|² of every basis state, shape (B, 2^n)."""
        if self.backend == "torch":
            psi = self._torch_forward(*self._torch_angles(gammas, betas))
            return psi.real**2 + psi.imag**2
        g, b, _ = _as_angles(gammas, betas)
        sv, _ = self._forward_cached(g, b, energy=False)
        self._check_batch(g.shape[0], 1)
        re, im = sv[:, 0, : self.dim], sv[:, 1, : self.dim]
        return torch.from_numpy(re * re + im * im)

    def expectation(self, gammas, betas) -> torch.Tensor:
        """<C> per angle set, shape (B,); differentiable when the angle tensors require grad."""
        wants_grad = any(isinstance(a, torch.Tensor) and a.requires_grad for a in (gammas, betas))
        if self.backend == "torch":
            g, b = self._torch_angles(gammas, betas)
            psi = self._torch_forward(g, b)
            return (psi.real**2 + psi.imag**2) @ self._torch_diag()
        if wants_grad:
            gt = gammas if isinstance(gammas, torch.Tensor) else torch.as_tensor(gammas, dtype=torch.float64)
            bt = betas if isinstance(betas, torch.Tensor) else torch.as_tensor(betas, dtype=torch.float64)
            return _AdjointExpectation.apply(gt, bt, self)
        g, b, _ = _as_angles(gammas, betas)
        _, e = self._forward_cached(g, b, energy=True)
        return torch.from_numpy(e)

    def expectation_and_grad(self, gammas, betas) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(E (B,), dE/dγ (B, p), dE/dβ (B, p)) by the adjoint method: 2 state vectors for any p."""
        g, b, _ = _as_angles(gammas, betas)
        if self.backend == "torch":
            return self._torch_adjoint(g, b)
        return self._numba_adjoint(g, b)

    def top_k(self, gammas, betas, k: int) -> TopK:
        """The k most probable states of one angle set (ties: lower index first), by one streaming scan."""
        k = max(0, min(int(k), self.dim))
        if k == 0:
            empty = np.empty(0)
            return TopK([], empty.astype(np.int64), empty, empty)
        if self.backend == "torch":
            p = self._single_probs(gammas, betas)
            cand = np.argpartition(-p, k - 1)[:k] if k < self.dim else np.arange(self.dim)
            probs = p[cand]
        else:
            sv = self._single_state(gammas, betas)
            nth = get_num_threads()
            idx = np.empty((nth, k), dtype=np.int64)
            pr = np.empty((nth, k))
            kern.top_k_scan(sv[0], sv[1], self.dim, k, idx, pr)
            keep = idx.ravel() >= 0
            cand, probs = idx.ravel()[keep], pr.ravel()[keep]
        order = np.lexsort((cand, -probs))[:k]
        cand, probs = cand[order].astype(np.int64), probs[order]
        return TopK(
            bitstrings=[format(int(i), f"0{self.n_qubits}b") for i in cand],
            indices=cand,
            probabilities=probs,
            energies=self.energies(cand),
        )

    def sample(self, gammas, betas, shots: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
        """`shots` basis indices drawn from one angle set's distribution; reproducible with a seed.

        Inverse-CDF sampling on a streamed cumulative sum: block masses first, then the running sum
        inside only the blocks that were drawn, so no probability array the size of the state exists.
        """
        if shots < 0:
            raise QscaleUserError(f"shots must be >= 0, got {shots}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        if self.backend == "torch":
            cdf = np.cumsum(self._single_probs(gammas, betas))
            u = rng.random(int(shots)) * cdf[-1]
            return np.minimum(np.searchsorted(cdf, u, side="right"), self.dim - 1).astype(np.int64)
        sv = self._single_state(gammas, betas)
        T = min(self.dim, _SAMPLE_BLOCK)
        masses = np.empty(self.dim // T)
        kern.block_masses(sv[0], sv[1], self.dim, T, masses)
        cum = np.cumsum(masses)
        u = rng.random(int(shots)) * cum[-1]
        blocks = np.minimum(np.searchsorted(cum, u, side="right"), cum.size - 1)
        out = np.empty(int(shots), dtype=np.int64)
        order = np.argsort(blocks, kind="stable")
        starts = np.flatnonzero(np.diff(blocks[order], prepend=-1))
        for a, z in zip(starts, [*starts[1:], order.size], strict=True):
            sel = order[a:z]
            j = int(blocks[sel[0]])
            re = sv[0, j * T : (j + 1) * T].astype(np.float64)
            im = sv[1, j * T : (j + 1) * T].astype(np.float64)
            local = (cum[j - 1] if j else 0.0) + np.cumsum(re * re + im * im)
            out[sel] = j * T + np.minimum(np.searchsorted(local, u[sel], side="right"), T - 1)
        return out

    def probability_of_optimum(self, gammas, betas) -> float:
        """Probability that one angle set's state measures a state of minimum cost (a streaming pass)."""
        lo, _, _ = self.cost_range()
        if self.backend == "torch":
            p = self._single_probs(gammas, betas)
            return float(p[self.diag == lo].sum())
        sv = self._single_state(gammas, betas)
        out = np.zeros(get_num_threads())
        mode, idx = (2, self.levels.index) if self.levels is not None else (1, np.zeros(1, dtype=np.uint8))
        kern.level_mass(sv[0], sv[1], self.dim, mode, self._kdiag, idx, 0, lo, out)
        return float(out.sum())

    def forget_state(self) -> None:
        """Make the next call simulate again even at the same angles (buffers are kept): for timing."""
        self._state_key = None

    def clear_workspace(self) -> None:
        """Free the reused state buffers (they are kept between calls to avoid page-fault costs)."""
        self._ws.clear()
        self._state_key = None

    # ------------------------------------------------------------------------------------------
    # helpers

    def _single_angles(self, gammas, betas) -> tuple[np.ndarray, np.ndarray]:
        g, b, _ = _as_angles(gammas, betas)
        if g.shape[0] != 1:
            raise QscaleUserError("top_k and sample take one angle set: gammas/betas of shape (p,) or (1, p)")
        return g, b

    def _single_probs(self, gammas, betas) -> np.ndarray:
        g, b = self._single_angles(gammas, betas)
        return self.probabilities(g, b)[0].detach().cpu().numpy().astype(np.float64)

    def _single_state(self, gammas, betas) -> np.ndarray:
        """The planar final state (2, 2^n + pad) of one angle set, from the cache when it holds it."""
        g, b = self._single_angles(gammas, betas)
        sv, _ = self._forward_cached(g, b, energy=False)
        return sv[0]

    def _forward_cached(self, g: np.ndarray, b: np.ndarray, energy: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """The forward pass, or the kept final state when the angles are the last ones run (then the
        energy is one read pass instead of a whole simulation)."""
        key = (g.shape, g.tobytes(), b.tobytes())
        sv = self._ws.get((g.shape[0], 0))
        if sv is None or key != self._state_key:
            return self._numba_forward(g, b, energy)
        if not energy:
            return sv, None
        out = np.zeros((get_num_threads(), g.shape[0]))
        mode, idx, _, _, vals, _ = self._phase_args(np.zeros(g.shape[0]), np.ones(g.shape[0], dtype=complex), -1.0)
        kern.energy_pass(sv, self.dim, mode, self._kdiag, idx, vals, out)
        return sv, out.sum(axis=0)

    def _check_batch(self, batch: int, copies: int) -> None:
        check_memory(self.n_qubits, batch, self.dtype, self.device, copies=copies, what="QAOA state vectors")

    def _workspace(self, batch: int, slot: int) -> np.ndarray:
        """Reused planar buffers (B, 2, 2^n + pad): first-touch page faults cost more than the math.
        The memory guard runs here, where a new buffer is allocated (after any old one is freed)."""
        key = (batch, slot)
        ws = self._ws.get(key)
        if ws is None:
            for old in [k for k in self._ws if k[1] == slot]:
                del self._ws[old]
            if slot == 0:
                self._state_key = None
            self._check_batch(batch, 1)
            ws = np.empty((batch, 2, self.dim + _VEC_PAD), dtype=self._np_real)
            self._ws[key] = ws
        return ws

    def _phase_args(self, gamma: np.ndarray, sigma: np.ndarray, sign: float) -> tuple:
        """Kernel arguments for the phase exp(sign·i·γ·C) times sigma."""
        B = gamma.shape[0]
        if self.levels is not None:
            tab = sigma[:, None] * np.exp(sign * 1j * gamma[:, None] * self.levels.values[None, :])
            tr = np.ascontiguousarray(tab.real, dtype=self._np_real)
            ti = np.ascontiguousarray(tab.imag, dtype=self._np_real)
            return 2, self.levels.index, tr, ti, self.levels.values, False
        dummy = np.zeros((B, 1), dtype=self._np_real)
        libm = bool(np.max(np.abs(gamma)) * self._dmax >= kern.SINCOS_MAX_ARG)
        return 1, np.zeros(1, dtype=np.uint8), dummy, dummy, np.zeros(1), libm

    def _numba_forward(self, g: np.ndarray, b: np.ndarray, energy: bool) -> tuple[np.ndarray, np.ndarray | None]:
        B, p = g.shape
        n, N = self.n_qubits, self.dim
        sv = self._workspace(B, 0)
        self._state_key = None
        out = np.zeros((get_num_threads(), B))
        amp0 = 1.0 / math.sqrt(N)
        if p == 0:
            sv[:, 0, :N] = amp0
            sv[:, 1, :N] = 0.0
        for layer in range(p):
            k, swap, sigma = _mixer_constants(b[:, layer], n)
            mode, idx, tr, ti, vals, libm = self._phase_args(g[:, layer], sigma, -1.0)
            last = layer == p - 1
            kern.low_pass(
                sv,
                self._G,
                k.astype(self._np_real),
                swap,
                mode,
                self._kdiag,
                idx,
                np.ascontiguousarray(g[:, layer]),
                np.ascontiguousarray(sigma.real),
                np.ascontiguousarray(sigma.imag),
                tr,
                ti,
                layer == 0,
                amp0,
                libm,
                energy and last and not self._groups,
                vals,
                out,
            )
            for gi, (q0, kq) in enumerate(self._groups):
                L = min(self._lanes, 1 << q0)
                kern.high_pass(
                    sv,
                    N,
                    q0,
                    kq,
                    L,
                    _ROW_PAD,
                    k.astype(self._np_real),
                    swap,
                    mode,
                    self._kdiag,
                    idx,
                    energy and last and gi == len(self._groups) - 1,
                    vals,
                    out,
                )
        if energy and p == 0:
            mode, idx, _, _, vals, _ = self._phase_args(np.zeros(B), np.ones(B, dtype=complex), -1.0)
            kern.energy_pass(sv, N, mode, self._kdiag, idx, vals, out)
        self._state_key = (g.shape, g.tobytes(), b.tobytes())
        return sv, (out.sum(axis=0) if energy else None)

    def _numba_adjoint(self, g: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        B, p = g.shape
        N = self.dim
        psi, _ = self._numba_forward(g, b, energy=False)
        self._state_key = None  # psi is rotated back in place below
        lam = self._workspace(B, 1)
        nth = get_num_threads()
        out = np.zeros((nth, B))
        mode, idx, _, _, vals, _ = self._phase_args(np.zeros(B), np.ones(B, dtype=complex), -1.0)
        kern.apply_cost(psi, lam, N, mode, self._kdiag, idx, vals, out)
        energy = out.sum(axis=0)
        dg = np.zeros((B, p))
        db = np.zeros((B, p))
        for layer in reversed(range(p)):
            c = np.cos(b[:, layer]).astype(self._np_real)
            s = (-np.sin(b[:, layer])).astype(self._np_real)
            outx = np.zeros((nth, B))
            outc = np.zeros((nth, B))
            for q0, kq in reversed(self._groups):
                L = min(self._lanes, 1 << q0)
                kern.dual_high_pass(psi, lam, N, q0, kq, L, _ROW_PAD, c, s, outx)
            mode, idx, tr, ti, vals, libm = self._phase_args(g[:, layer], np.ones(B, dtype=complex), 1.0)
            kern.dual_low_pass(
                psi,
                lam,
                self._G,
                c,
                s,
                mode,
                self._kdiag,
                idx,
                vals,
                np.ascontiguousarray(g[:, layer]),
                tr,
                ti,
                libm,
                outx,
                outc,
            )
            db[:, layer] = 2.0 * outx.sum(axis=0)
            dg[:, layer] = 2.0 * outc.sum(axis=0)
        return energy, dg, db

    # torch backend ----------------------------------------------------------------------------

    def _torch_diag(self) -> torch.Tensor:
        if self._tdiag is None:
            self._tdiag = torch.as_tensor(self.diag, device=self.device).to(self.real_dtype)
        return self._tdiag

    def _torch_angles(self, gammas, betas) -> tuple[torch.Tensor, torch.Tensor]:
        def conv(a):
            if isinstance(a, torch.Tensor):
                return a.to(device=self.device, dtype=self.real_dtype)
            return torch.as_tensor(np.asarray(a, dtype=np.float64), device=self.device).to(self.real_dtype)

        g, b = conv(gammas), conv(betas)
        if g.shape != b.shape or g.ndim not in (1, 2):
            raise QscaleUserError(
                f"gammas and betas must have the same shape (p,) or (B, p); got {tuple(g.shape)}, {tuple(b.shape)}"
            )
        g, b = torch.atleast_2d(g), torch.atleast_2d(b)
        self._check_batch(g.shape[0], 3)
        return g, b

    def _torch_mixer(self, psi: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """exp(-i·β·ΣX) with groups of k qubits as one dense Kronecker-product matmul each."""
        B, n = psi.shape[0], self.n_qubits
        c = torch.cos(beta).to(self.dtype)
        s = torch.sin(beta).to(self.dtype)
        rx = torch.stack([torch.stack([c, -1j * s], -1), torch.stack([-1j * s, c], -1)], -2)  # (B, 2, 2)
        q0 = 0
        cache: dict[int, torch.Tensor] = {}
        while q0 < n:
            kq = min(self._torch_group, n - q0)
            if kq not in cache:
                u = rx
                for _ in range(kq - 1):
                    m = u.shape[-1]
                    u = (u[:, :, None, :, None] * rx[:, None, :, None, :]).reshape(B, 2 * m, 2 * m)
                cache[kq] = u
            u = cache[kq]  # symmetric (a Kronecker power of the symmetric RX), so u.T == u
            if q0 == 0:  # contiguous group: one (hi, 2^k) x (2^k, 2^k) product per angle set
                psi = torch.matmul(psi.reshape(B, -1, 1 << kq), u).reshape(B, -1)
            else:  # strided group: batched (2^k, 2^k) x (2^k, lo) products, no transposes
                psi = torch.matmul(u[:, None], psi.reshape(B, -1, 1 << kq, 1 << q0)).reshape(B, -1)
            q0 += kq
        return psi

    def _torch_forward(self, g: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        B, p = g.shape
        psi = torch.full((B, self.dim), 1.0 / math.sqrt(self.dim), dtype=self.dtype, device=self.device)
        d = self._torch_diag()
        for layer in range(p):
            psi = psi * torch.polar(torch.ones_like(d), -g[:, layer, None] * d[None, :])
            psi = self._torch_mixer(psi, b[:, layer])
        return psi

    def _torch_xsum(self, psi: torch.Tensor) -> torch.Tensor:
        """Σ_q X_q ψ."""
        B, n = psi.shape[0], self.n_qubits
        out = torch.zeros_like(psi)
        for q in range(n):
            out += psi.reshape(B, -1, 2, 1 << q).flip(2).reshape(B, -1)
        return out

    @torch.no_grad()
    def _torch_adjoint(self, g: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        gt, bt = self._torch_angles(g, b)
        B, p = gt.shape
        d = self._torch_diag()
        psi = self._torch_forward(gt, bt)
        lam = psi * d
        energy = torch.sum(psi.conj() * lam, dim=1).real
        dg = torch.zeros((B, p), dtype=torch.float64)
        db = torch.zeros((B, p), dtype=torch.float64)
        for layer in reversed(range(p)):
            db[:, layer] = 2.0 * torch.sum(lam.conj() * self._torch_xsum(psi), dim=1).imag.cpu().double()
            psi = self._torch_mixer(psi, -bt[:, layer])
            lam = self._torch_mixer(lam, -bt[:, layer])
            dg[:, layer] = 2.0 * torch.sum(lam.conj() * d * psi, dim=1).imag.cpu().double()
            ph = torch.polar(torch.ones_like(d), gt[:, layer, None] * d[None, :])
            psi = psi * ph
            lam = lam * ph
        return energy.cpu().double().numpy(), dg.numpy(), db.numpy()


def _split_groups(G: int, n: int, group: int) -> list[tuple[int, int]]:
    """Balanced groups (q0, k) covering qubits G..n-1 with at most `group` qubits each."""
    rest = n - G
    if rest <= 0:
        return []
    count = -(-rest // group)
    sizes = [rest // count + (1 if i < rest % count else 0) for i in range(count)]
    groups, q0 = [], G
    for kq in sizes:
        groups.append((q0, kq))
        q0 += kq
    return groups


class _AdjointExpectation(torch.autograd.Function):
    """<C> with the adjoint gradient of the numba backend as its backward."""

    @staticmethod
    def forward(ctx, gammas: torch.Tensor, betas: torch.Tensor, sim: QAOASimulator) -> torch.Tensor:
        energy, dg, db = sim.expectation_and_grad(gammas, betas)
        ctx.shapes = (gammas.shape, betas.shape, gammas.dtype, betas.dtype, gammas.device, betas.device)
        ctx.save_for_backward(torch.from_numpy(dg), torch.from_numpy(db))
        return torch.from_numpy(energy)

    @staticmethod
    def backward(ctx, grad_e: torch.Tensor):
        dg, db = ctx.saved_tensors
        gshape, bshape, gdt, bdt, gdev, bdev = ctx.shapes
        w = grad_e.detach().to(torch.float64).cpu()[:, None]
        return (
            (w * dg).reshape(gshape).to(dtype=gdt, device=gdev),
            (w * db).reshape(bshape).to(dtype=bdt, device=bdev),
            None,
        )
