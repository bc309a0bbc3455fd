"""The packaged all-MiniLM-L6-v2 embedding model loads offline and embeds sensibly."""

from __future__ import annotations

import numpy as np
import pytest

from qscale.errors import QscaleUserError
from qscale.llm.embeddings import EMBEDDING_DIM, embed


def test_embeddings_are_unit_vectors_and_semantic():
    e = embed(["The cat sits on the mat.", "A cat is sitting on a mat.", "Fusion plants need tritium."], device="cpu")
    assert e.shape == (3, EMBEDDING_DIM) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert e[0] @ e[1] > 0.8 > 0.3 > e[0] @ e[2]


def test_embed_edge_cases():
    assert embed([], device="cpu").shape == (0, EMBEDDING_DIM)
    with pytest.raises(QscaleUserError):
        embed("one string", device="cpu")
