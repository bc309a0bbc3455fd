"""Real-weighted sums of Pauli strings: validation, JSON/Qiskit conversion and expectation values.

Labels are written as Qiskit writes them (rightmost character is qubit 0). A Pauli string acts
on a basis state as P|j> = i^{n_Y} (-1)^{popcount(j & zmask)} |j XOR xmask>, so terms sharing an
X/Y pattern (xmask) share one flipped copy of the state: the expectation costs one pass per
distinct xmask, never a 2^n x 2^n matrix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from numbers import Complex
from pathlib import Path

import numpy as np
import scipy.sparse
import torch

from qscale.errors import QscaleUserError
from qscale.quantum.memory import check_memory

_LETTERS = frozenset("IXYZ")
_CACHE_LIMIT_BYTES = 256 * 2**20  # weight vectors kept between calls up to this size


def _real_coeff(value: object, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Complex):
        raise QscaleUserError(f"coefficient of {label!r} must be a real number, got {value!r}")
    z = complex(value)
    if abs(z.imag) > 1e-10 * max(1.0, abs(z.real)):
        raise QscaleUserError(f"coefficient of {label!r} must be real, got {value!r}")
    if not math.isfinite(z.real):
        raise QscaleUserError(f"coefficient of {label!r} must be finite, got {value!r}")
    return z.real


def _masks(label: str) -> tuple[int, int, int]:
    """(xmask, zmask, number of Y) of a label whose last character is qubit 0."""
    x = z = 0
    for q, ch in enumerate(reversed(label)):
        if ch in "XY":
            x |= 1 << q
        if ch in "ZY":
            z |= 1 << q
    return x, z, label.count("Y")


def _sign_vector(z: int, n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(-1)^popcount(j & z) for all j, built as a Kronecker product (no integer index array)."""
    v = torch.ones(1, dtype=dtype, device=device)
    for q in range(n):  # each step appends the next more significant bit
        v = torch.cat((v, -v)) if (z >> q) & 1 else torch.cat((v, v))
    return v


class PauliSum:
    """H = Σ_t c_t P_t with real c_t and Pauli strings P_t on `n_qubits` qubits."""

    def __init__(self, labels: Sequence[str], coeffs: Sequence[float]) -> None:
        labels, coeffs = list(labels), list(coeffs)
        if not labels:
            raise QscaleUserError("a Pauli sum needs at least one term")
        if len(labels) != len(coeffs):
            raise QscaleUserError(f"{len(labels)} labels but {len(coeffs)} coefficients")
        for lab in labels:
            if not isinstance(lab, str) or not lab:
                raise QscaleUserError(f"Pauli label must be a non-empty string, got {lab!r}")
            bad = set(lab) - _LETTERS
            if bad:
                raise QscaleUserError(f"Pauli label {lab!r} has letters other than I, X, Y, Z: {sorted(bad)}")
        lengths = {len(lab) for lab in labels}
        if len(lengths) != 1:
            raise QscaleUserError(f"Pauli labels have unequal lengths {sorted(lengths)}")
        self.labels: tuple[str, ...] = tuple(labels)
        self.coeffs = np.array([_real_coeff(c, lab) for lab, c in zip(labels, coeffs, strict=True)])
        self.coeffs.setflags(write=False)
        self.n_qubits = len(labels[0])
        # xmask -> [(zmask, c * i^{n_Y})]
        self._groups: dict[int, list[tuple[int, complex]]] = {}
        for lab, c in zip(self.labels, self.coeffs, strict=True):
            x, z, ny = _masks(lab)
            self._groups.setdefault(x, []).append((z, float(c) * 1j**ny))
        self._cache: dict[tuple, list[tuple[int, torch.Tensor]]] = {}

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_labels(cls, terms: Iterable[tuple[str, float]]) -> PauliSum:
        """From (label, coefficient) pairs, e.g. [("XZI", 0.5), ("ZZI", -1.0)]."""
        pairs = list(terms)
        for t in pairs:
            if not isinstance(t, list | tuple) or len(t) != 2:
                raise QscaleUserError(f"each term must be a (label, coefficient) pair, got {t!r}")
        return cls([t[0] for t in pairs], [t[1] for t in pairs])

    @classmethod
    def from_dict(cls, data: object) -> PauliSum:
        """From the JSON document form {"terms": [["XZI", 0.5], ...]}."""
        if not isinstance(data, dict) or not isinstance(data.get("terms"), list):
            raise QscaleUserError('a Pauli Hamiltonian must be a JSON object {"terms": [[label, coeff], ...]}')
        return cls.from_labels(data["terms"])

    @classmethod
    def from_json(cls, path: str | Path) -> PauliSum:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise QscaleUserError(f"cannot read Pauli Hamiltonian {path}: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise QscaleUserError(f"{path} is not valid JSON: {exc}") from None
        try:
            return cls.from_dict(data)
        except QscaleUserError as exc:
            raise QscaleUserError(f"{path}: {exc}") from None

    @classmethod
    def from_sparse_pauli_op(cls, op: object) -> PauliSum:
        """From a qiskit SparsePauliOp (its coefficients must be real)."""
        from qiskit.quantum_info import PauliList, SparsePauliOp

        if not isinstance(op, SparsePauliOp):
            raise QscaleUserError(f"expected a qiskit SparsePauliOp, got {type(op).__name__}")
        coeffs = np.asarray(op.coeffs) * (-1j) ** np.asarray(op.paulis.phase)
        labels = PauliList.from_symplectic(op.paulis.z, op.paulis.x).to_labels()
        return cls(labels, [complex(c) for c in coeffs])

    # -- export -------------------------------------------------------------------------------
    @property
    def terms(self) -> list[tuple[str, float]]:
        return [(lab, float(c)) for lab, c in zip(self.labels, self.coeffs, strict=True)]

    def to_dict(self) -> dict[str, list[list]]:
        return {"terms": [[lab, c] for lab, c in self.terms]}

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    def to_sparse_pauli_op(self):
        from qiskit.quantum_info import SparsePauliOp

        return SparsePauliOp(list(self.labels), np.asarray(self.coeffs, dtype=np.complex128))

    def to_sparse_matrix(self) -> scipy.sparse.csr_array:
        """The 2^n x 2^n Hamiltonian (complex128 CSR), for exact diagonalisation of small systems."""
        n = self.n_qubits
        # per stored entry: complex value + row + column index = 2 complex128 slots
        check_memory(n, len(self.labels), torch.complex128, torch.device("cpu"), 2, "sparse Pauli matrix")
        j = np.arange(2**n, dtype=np.int64)
        rows, vals = [], []
        for x, terms in self._groups.items():
            w = np.zeros(2**n, dtype=np.complex128)
            for z, a in terms:
                w += a * (1.0 - 2.0 * (np.bitwise_count(j & z) & 1))
            rows.append(j ^ x)
            vals.append(w)
        data, r = np.concatenate(vals), np.concatenate(rows)
        cols = np.tile(j, len(rows))
        m = scipy.sparse.coo_array((data, (r, cols)), shape=(2**n, 2**n)).tocsr()
        m.eliminate_zeros()
        return m

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        shown = ", ".join(f"({lab!r}, {c:g})" for lab, c in self.terms[:4])
        more = f", ... {len(self) - 4} more" if len(self) > 4 else ""
        return f"PauliSum(n_qubits={self.n_qubits}, [{shown}{more}])"

    # -- expectation --------------------------------------------------------------------------
    def _weights(self, dtype: torch.dtype, device: torch.device) -> list[tuple[int, torch.Tensor]]:
        """Per xmask, w[j] = Σ c·i^{n_Y}·(-1)^popcount(j&z); real for the diagonal (xmask 0) group."""
        key = (dtype, device)
        if key in self._cache:
            return self._cache[key]
        rdtype = torch.float64 if dtype == torch.complex128 else torch.float32
        out = []
        for x, terms in self._groups.items():
            w = torch.zeros(2**self.n_qubits, dtype=dtype, device=device)
            for z, a in terms:
                w += a * _sign_vector(z, self.n_qubits, rdtype, device)
            out.append((x, w.real.contiguous() if x == 0 and not w.imag.any() else w))
        itemsize = torch.empty((), dtype=dtype).element_size()
        if len(out) * 2**self.n_qubits * itemsize <= _CACHE_LIMIT_BYTES:
            self._cache[key] = out
        return out

    def expectation(self, psi: torch.Tensor) -> torch.Tensor:
        """Re <psi|H|psi> per batch row: shape (B,) for psi (B, 2^n), () for psi (2^n,).

        Differentiable with autograd; psi is not normalised here.
        """
        if not isinstance(psi, torch.Tensor) or not psi.is_complex():
            raise QscaleUserError("expectation expects a complex torch tensor state")
        n = self.n_qubits
        if psi.ndim not in (1, 2) or psi.shape[-1] != 2**n:
            raise QscaleUserError(
                f"state of shape {tuple(psi.shape)} does not match a {n}-qubit Hamiltonian (2^n = {2**n})"
            )
        single = psi.ndim == 1
        psi = psi.reshape(-1, 2**n)
        B = psi.shape[0]
        check_memory(n, B, psi.dtype, psi.device, copies=2, what="Pauli expectation work space")
        total = torch.zeros(B, dtype=psi.real.dtype, device=psi.device)
        for x, w in self._weights(psi.dtype, psi.device):
            if x == 0 and not w.is_complex():
                total = total + (psi.real.square() + psi.imag.square()) @ w
                continue
            if x == 0:
                flipped = psi
            else:
                dims = [1 + n - 1 - q for q in range(n) if (x >> q) & 1]
                flipped = psi.view(B, *([2] * n)).flip(dims).reshape(B, -1)
            total = total + torch.linalg.vecdot(flipped, psi * w).real
        return total[0] if single else total


def qubitwise_groups(op: PauliSum) -> list[tuple[str, list[tuple[int, float]]]]:
    """[(basis label, [(support mask, coefficient), ...]), ...], greedy in term order; identities left out."""
    groups: list[tuple[list[str], list[tuple[int, float]]]] = []
    for lab, coef in op.terms:
        if set(lab) == {"I"}:
            continue
        mask = sum(1 << q for q, ch in enumerate(reversed(lab)) if ch != "I")
        for basis, members in groups:
            if all(a == "I" or b == "I" or a == b for a, b in zip(basis, lab, strict=True)):
                for i, ch in enumerate(lab):
                    if ch != "I":
                        basis[i] = ch
                members.append((mask, coef))
                break
        else:
            groups.append((list(lab), [(mask, coef)]))
    return [("".join(b), m) for b, m in groups]


def parities(indices: np.ndarray, mask: int) -> np.ndarray:
    """(-1)^(number of set bits of index & mask): a Pauli string's eigenvalue on sampled basis states."""
    return 1.0 - 2.0 * (np.bitwise_count(indices & mask) & 1)
