"""The embedder returns each text's own vector whatever the batching order."""

from __future__ import annotations

import numpy as np


def test_length_sorted_batches_keep_every_vector_in_its_texts_place(embedder):
    texts = [
        "short",
        "Self-attention lets every token weigh every other token of the sequence. " * 4,
        "A variational autoencoder learns a distribution over latent codes.",
        "x",
        "Diffusion models learn to undo noise step by step.",
    ]
    together = embedder.embed(texts, batch_size=2)
    alone = np.stack([embedder.embed([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-5)
    done = []
    embedder.embed(texts, batch_size=2, progress=lambda n, total: done.append((n, total)))
    assert done == [(2, 5), (4, 5), (5, 5)]
