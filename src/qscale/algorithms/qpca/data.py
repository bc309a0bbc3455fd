"""qPCA input data: LLM embeddings / hidden states or a user's .npy, centred and turned into a padded rho.

Sources (rows = samples; a fit part for PCA and an evaluation part for recall@10):
* `minilm`: all-MiniLM-L6-v2 sentence embeddings (384-d, unit length) of the paragraphs of Python's pydoc
  topics, fit = calibration split, eval = held-out split (`qscale.llm.text.pydoc_split`).
* `smollm2-hidden`: SmolLM2-135M final hidden states (576-d, after the last RMSNorm, the lm_head input) of
  128-token windows of the same split, one row per token.
* `FILE.npy`: any 2-D numeric array, loaded without pickle; every row is used for both fit and eval.
* `synthetic:D[:R]`: seeded low-rank (rank R, default 4) plus isotropic noise, D-dimensional (tests, quick runs).
Embeddings are cached as .npy under $QSCALE_CACHE or ~/.cache/qscale, keyed by model and a hash of the text
(computing them takes a minute or more on a CPU).

With centred rows x_i, the ensemble state (1/n) sum |x_i><x_i| normalised by its trace is covariance / trace
(Gordon et al., PRX Quantum 2022); it is zero-padded to 2^m, which adds zero eigenvalues only.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qscale.errors import QscaleUserError
from qscale.io import atomic_write_bytes

SOURCES = ("minilm", "smollm2-hidden", "FILE.npy", "synthetic:D[:R]")
MIN_PASSAGE_CHARS = 40
HIDDEN_SEQ_LEN = 128
HIDDEN_FIT_WINDOWS = 16
HIDDEN_EVAL_WINDOWS = 8


@dataclass
class Dataset:
    name: str
    fit: np.ndarray  # (n, d) float64
    eval: np.ndarray  # (n_eval, d) float64
    description: str


@dataclass
class Prepared:
    """Centred data and the padded density matrix built from it."""

    mean: np.ndarray  # (d,)
    centred: np.ndarray  # (n, d)
    covariance: np.ndarray  # (d, d), divided by n
    trace: float  # total variance
    rho: np.ndarray  # (2^m, 2^m) covariance / trace, zero-padded
    dim: int
    qubits: int

    @property
    def padded_dim(self) -> int:
        return 2**self.qubits

    @property
    def purity(self) -> float:
        return float(np.sum(self.rho * self.rho))

    def describe(self) -> dict:
        return {
            "samples": int(self.centred.shape[0]),
            "dimension": self.dim,
            "system_qubits": self.qubits,
            "padded_dimension": self.padded_dim,
            "padding": f"{self.padded_dim - self.dim} zero rows/columns appended to rho ({self.dim} -> "
            f"{self.padded_dim}); they add zero eigenvalues only",
            "centring": f"the per-feature mean of the {self.centred.shape[0]} fit rows was subtracted (norm of the "
            f"mean {float(np.linalg.norm(self.mean)):.4g}); rho = covariance / trace, total variance {self.trace:.6g}",
            "purity_tr_rho2": self.purity,
        }


def check_matrix(x: object, what: str, min_rows: int = 3) -> np.ndarray:
    """A finite 2-D float64 array with at least `min_rows` rows and 2 columns, or a user error saying what is wrong."""
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise QscaleUserError(f"{what} must be a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise QscaleUserError(f"{what} must be real, got a complex array")
    if arr.ndim != 2:
        raise QscaleUserError(f"{what} must be a 2-D array (rows = samples), got {arr.ndim}-D shape {arr.shape}")
    if arr.shape[0] < min_rows or arr.shape[1] < 2:
        raise QscaleUserError(f"{what} needs at least {min_rows} rows and 2 columns, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise QscaleUserError(
            f"{what} has {int(bad.sum())} non-finite values (NaN or inf), first at row {r}, column {c}"
        )
    return arr


def prepare(x: np.ndarray) -> Prepared:
    """Centre the rows, form covariance / trace and zero-pad it to the next power of two."""
    x = check_matrix(x, "data")
    mean = x.mean(0)
    centred = x - mean
    cov = centred.T @ centred / centred.shape[0]
    trace = float(np.trace(cov))
    if not trace > 0:
        raise QscaleUserError("the data have zero variance after centring: every row is the same")
    d = x.shape[1]
    m = max(1, math.ceil(math.log2(d)))
    rho = np.zeros((2**m, 2**m))
    rho[:d, :d] = cov / trace
    return Prepared(mean, centred, cov, trace, rho, d, m)


def cache_dir() -> Path:
    return Path(os.environ.get("QSCALE_CACHE") or Path.home() / ".cache" / "qscale") / "qpca"


def _cached(key: str, compute) -> np.ndarray:
    """Load `key`.npy from the cache or compute and store it (atomic write; never pickled)."""
    path = cache_dir() / f"{key}.npy"
    if path.is_file():
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError):
            path.unlink(missing_ok=True)
    arr = np.asarray(compute())
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    with contextlib.suppress(OSError):  # a read-only home is no reason to fail; the result is still returned
        atomic_write_bytes(path, buf.getvalue())
    return arr


def passages(text: str) -> list[str]:
    """Paragraphs (split at blank lines) of at least MIN_PASSAGE_CHARS characters."""
    return [p.strip() for p in re.split(r"\n\s*\n", text) if len(p.strip()) >= MIN_PASSAGE_CHARS]


def _hash(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def minilm(device: str = "auto") -> Dataset:
    from qscale.llm.embeddings import embed
    from qscale.llm.text import pydoc_split

    split = pydoc_split()
    parts = {}
    for name, text in (("fit", split.calibration), ("eval", split.evaluation)):
        paras = passages(text)
        key = f"minilm-{_hash('all-MiniLM-L6-v2', 'normalize', *paras)}"
        parts[name] = _cached(key, lambda paras=paras: embed(paras, device=device)).astype(np.float64)
    return Dataset(
        "minilm",
        parts["fit"],
        parts["eval"],
        f"all-MiniLM-L6-v2 embeddings (384-d, unit length) of pydoc paragraphs (>= {MIN_PASSAGE_CHARS} chars): "
        f"{len(parts['fit'])} calibration (fit), {len(parts['eval'])} held-out (eval); {split.description}",
    )


def _hidden_states(text: str, windows: int, device: str) -> np.ndarray:
    import torch

    from qscale.llm.models import load_causal_lm
    from qscale.llm.text import token_windows

    loaded = load_causal_lm("smollm2-135m", device=device)
    ids = token_windows(loaded.tokenizer, text, HIDDEN_SEQ_LEN, max_windows=windows, what="pydoc text")
    dev = next(loaded.model.parameters()).device
    rows = []
    with torch.no_grad():
        for w in ids:
            out = loaded.model.model(input_ids=w[None].to(dev))
            rows.append(out.last_hidden_state[0].float().cpu().numpy())
    return np.concatenate(rows)


def smollm2_hidden(device: str = "auto") -> Dataset:
    from qscale.llm.text import pydoc_split

    split = pydoc_split()
    parts = {}
    for name, text, windows in (
        ("fit", split.calibration, HIDDEN_FIT_WINDOWS),
        ("eval", split.evaluation, HIDDEN_EVAL_WINDOWS),
    ):
        key = f"smollm2-hidden-{_hash('SmolLM2-135M-Instruct.Q4_1', str(HIDDEN_SEQ_LEN), str(windows), text)}"
        parts[name] = _cached(key, lambda t=text, w=windows: _hidden_states(t, w, device)).astype(np.float64)
    return Dataset(
        "smollm2-hidden",
        parts["fit"],
        parts["eval"],
        f"SmolLM2-135M final hidden states (576-d, after the last RMSNorm), one row per token of the first "
        f"{HIDDEN_FIT_WINDOWS} (fit) / {HIDDEN_EVAL_WINDOWS} (eval) {HIDDEN_SEQ_LEN}-token windows; "
        f"{split.description}",
    )


def synthetic(dim: int, rank: int = 4, samples: int = 400, noise: float = 0.05, seed: int = 0) -> Dataset:
    """Low-rank plus noise with well separated leading variances 1, 1/2, 1/4, ... (seeded)."""
    if not 2 <= dim <= 4096 or not 1 <= rank <= dim:
        raise QscaleUserError(f"synthetic data needs 2 <= D <= 4096 and 1 <= R <= D, got D={dim}, R={rank}")
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(dim, rank)))[0]
    scales = 0.5 ** np.arange(rank)

    def draw(n: int) -> np.ndarray:
        return (rng.normal(size=(n, rank)) * np.sqrt(scales)) @ basis.T + noise * rng.normal(size=(n, dim))

    fit, ev = draw(samples), draw(max(50, samples // 4))
    return Dataset(
        f"synthetic:{dim}:{rank}",
        fit,
        ev,
        f"synthetic rank-{rank} data in {dim} dimensions (variances 1, 1/2, ... along a random basis) plus "
        f"N(0, {noise}^2) noise, {samples} fit rows, {len(ev)} eval rows, seed {seed}",
    )


def _synthetic_spec(spec: str, seed: int) -> Dataset:
    parts = spec.split(":")[1:]
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise QscaleUserError(f"synthetic data is 'synthetic:D' or 'synthetic:D:R' (integers), got {spec!r}") from None
    if len(nums) not in (1, 2):
        raise QscaleUserError(f"synthetic data is 'synthetic:D' or 'synthetic:D:R', got {spec!r}")
    return synthetic(nums[0], nums[1] if len(nums) == 2 else min(4, nums[0]), seed=seed)


def load_npy(path: Path | str) -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise QscaleUserError(f"data file not found: {path}")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise QscaleUserError(f"cannot read {path} as a .npy array (pickled objects are refused): {exc}") from None
    if not isinstance(arr, np.ndarray):
        raise QscaleUserError(f"{path} holds several arrays (.npz); give one 2-D .npy array")
    x = check_matrix(arr, f"data file {path.name}")
    return Dataset(str(path), x, x, f"{path} ({x.shape[0]} rows x {x.shape[1]} columns; all rows fit and evaluate)")


def load_dataset(spec: str, seed: int = 0, device: str = "auto") -> Dataset:
    """The dataset named by --data (see module docstring)."""
    if spec == "minilm":
        return minilm(device)
    if spec == "smollm2-hidden":
        return smollm2_hidden(device)
    if spec.startswith("synthetic:"):
        return _synthetic_spec(spec, seed)
    if spec.endswith(".npy") or Path(spec).is_file():
        return load_npy(spec)
    raise QscaleUserError(f"unknown --data {spec!r}: use minilm, smollm2-hidden, a FILE.npy or synthetic:D[:R]")
