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
    # Each row is its own text's vector (bfloat16, where the CPU has it, moves padded batches
    # by ~1e-4; another text's vector would be far off).
    assert np.all((together * alone).sum(axis=1) > 0.999)
    done = []
    embedder.embed(texts, batch_size=2, progress=lambda n, total: done.append((n, total)))
    assert done == [(2, 5), (4, 5), (5, 5)]


def test_bfloat16_vectors_match_fp32_within_the_calibrated_margins():
    """Indexes built in one precision are searched in the other without a rebuild, and the
    calibrated cosine thresholds (support 0.79, gate 0.32) hold, because the two agree to
    about 1e-3 in cosine (bfloat16 runs natively where the CPU has it, emulated elsewhere:
    the same numbers either way)."""
    from tutor.embed import Embedder

    texts = [
        "Self-attention lets every token weigh every other token of the sequence.",
        "A GAN's discriminator labels real images 1 and generated ones 0.",
        "Warm up the learning rate linearly for 4,000 steps, then decay it.",
    ]
    fp32 = Embedder("all-MiniLM-L6-v2", "fp32")
    bf16 = Embedder("all-MiniLM-L6-v2", "bf16")
    assert not fp32.bf16 and bf16.bf16
    a, b = fp32.embed(texts), bf16.embed(texts)
    assert np.all((a * b).sum(axis=1) > 0.998)
    pairs_a, pairs_b = a @ a.T, b @ b.T
    assert np.abs(pairs_a - pairs_b).max() < 0.01
