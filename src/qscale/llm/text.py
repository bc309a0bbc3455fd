"""Text for calibration and evaluation: Python's own documentation, split deterministically, or a user file.

The split: the keys of `pydoc_data.topics.topics` are sorted, and every `every`-th topic (positions 0,
every, 2·every, ... of that order) is held out for evaluation; the rest is calibration text. Topics are
joined with blank lines. Same Python version, same split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from qscale.errors import QscaleUserError

DEFAULT_EVERY = 5


@dataclass(frozen=True)
class TextSplit:
    calibration: str
    evaluation: str
    description: str


def pydoc_split(every: int = DEFAULT_EVERY) -> TextSplit:
    """Calibration and held-out evaluation text from pydoc_data.topics (see module docstring)."""
    import pydoc_data.topics

    if every < 2:
        raise QscaleUserError(f"the held-out stride must be at least 2, got {every}")
    topics = pydoc_data.topics.topics
    keys = sorted(topics)
    held = [k for i, k in enumerate(keys) if i % every == 0]
    kept = [k for i, k in enumerate(keys) if i % every != 0]
    return TextSplit(
        calibration="\n\n".join(topics[k] for k in kept),
        evaluation="\n\n".join(topics[k] for k in held),
        description=f"pydoc_data.topics: sorted topic keys, every {every}th (from the first) held out for "
        f"evaluation ({len(held)} topics), {len(kept)} topics for calibration",
    )


def read_text_file(path: Path | str, what: str) -> str:
    """A user's text file (UTF-8); missing or blank is a user error naming the option."""
    path = Path(path)
    if not path.is_file():
        raise QscaleUserError(f"{what} file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise QscaleUserError(f"{what} file is not UTF-8 text: {path}") from None
    if not text.strip():
        raise QscaleUserError(f"{what} file is empty: {path}")
    return text


def tokenize(tokenizer: Any, text: str) -> torch.Tensor:
    """The whole text as one id sequence (no special tokens), as GPTQ's perplexity concatenates it."""
    ids = tokenizer(text, add_special_tokens=False, return_attention_mask=False, verbose=False)["input_ids"]
    return torch.tensor(ids, dtype=torch.long)


def token_windows(
    tokenizer: Any, text: str, seq_len: int, max_windows: int | None = None, what: str = "text",
    seed: int | None = None,
) -> torch.Tensor:
    """Non-overlapping windows (n, seq_len) of the tokenized text; a trailing partial window is dropped.

    With `seed`, `max_windows` windows are drawn at random (sorted, no repeats), as GPTQ samples its
    calibration set; without it the first `max_windows` are used (evaluation).
    """
    if seq_len < 2:
        raise QscaleUserError(f"--seq-len must be at least 2, got {seq_len}")
    if max_windows is not None and max_windows < 1:
        raise QscaleUserError(f"the number of {what} windows must be positive, got {max_windows}")
    ids = tokenize(tokenizer, text)
    n = ids.numel() // seq_len
    if n == 0:
        raise QscaleUserError(
            f"{what} is too short: {ids.numel()} tokens, one window needs --seq-len {seq_len}"
        )
    windows = ids[: n * seq_len].reshape(n, seq_len)
    if max_windows is None or max_windows >= n:
        return windows
    if seed is None:
        return windows[:max_windows]
    gen = torch.Generator().manual_seed(seed)
    pick = torch.sort(torch.randperm(n, generator=gen)[:max_windows]).values
    return windows[pick]
