"""Perplexity with GPTQ's convention: concatenated text, non-overlapping windows, exp(mean token NLL)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional


@dataclass(frozen=True)
class Perplexity:
    perplexity: float
    nll: float  # mean negative log-likelihood per predicted token (nats)
    tokens: int  # predicted tokens (seq_len − 1 per window)
    windows: int


@torch.no_grad()
def perplexity(
    model: torch.nn.Module, windows: torch.Tensor, batch_size: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> Perplexity:
    """Each window is scored on its own (no carried context); every token but the first is predicted."""
    device = next(model.parameters()).device
    model.eval()
    total, count = 0.0, 0
    for start in range(0, windows.shape[0], batch_size):
        batch = windows[start : start + batch_size].to(device)
        logits = model(input_ids=batch, use_cache=False).logits
        nll = functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]).float(), batch[:, 1:].reshape(-1), reduction="sum"
        )
        total += float(nll)
        count += batch[:, 1:].numel()
        if progress is not None:
            progress(min(start + batch_size, windows.shape[0]), windows.shape[0])
    mean = total / count
    return Perplexity(math.exp(mean), mean, count, int(windows.shape[0]))
