"""The embedding model: one class holding a loaded sentence-transformers model."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache

import numpy as np

from tutor.errors import ModelMissingError
from tutor.models import resolve_embedder_path


def bf16_is_faster() -> bool:
    """Whether bfloat16 embeds faster than fp32 on this CPU: only with AMX tiles (2.5x
    faster, measured). AVX-512 BF16 alone was 1.3x *slower* than fp32 (measured on a Xeon
    without AMX, docs/benchmarks.md), and elsewhere torch emulates bfloat16."""
    import torch

    try:
        return bool(torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these probes: stay with fp32
        return False


class Embedder:
    """Normalised sentence embeddings, so inner product is cosine similarity."""

    def __init__(self, name: str, precision: str = "auto"):
        self.name = name
        # bfloat16 keeps cosines within about 1e-4 of fp32 (measured on 600 indexed chunks:
        # mean 0.99998 between the two), well inside every calibrated threshold's margin, so
        # an index built one way is searched the other way without a rebuild.
        self.bf16 = precision == "bf16" or (precision == "auto" and bf16_is_faster())
        path = resolve_embedder_path(name)
        # A local folder (the packaged model) loads without the hub; nothing to switch off.
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(path, device="cpu")
        except OSError as exc:
            raise ModelMissingError(
                f"Cannot load embedding model '{name}': {exc}. Use the packaged default "
                "(unset TUTOR_EMBED_MODEL) or a local sentence-transformers folder."
            ) from exc
        self.dim = int(self.model.get_embedding_dimension())

    def embed(
        self,
        texts: list[str],
        batch_size: int = 32,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Longest first over the whole list, not per batch: a batch is padded to its longest
        # text, so batches of like lengths waste no work on padding (sentence-transformers
        # sorts only within one encode call, and progress needs several calls).
        import torch

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            for start in range(0, len(texts), batch_size):
                rows = order[start : start + batch_size]
                out[rows] = self.model.encode(
                    [texts[i] for i in rows],
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                )
                if progress:
                    progress(start + len(rows), len(texts))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


@cache
def token_counter(name: str) -> Callable[[str], int]:
    """Count tokens as the embedding model does, so no chunk is silently truncated."""
    path = resolve_embedder_path(name)
    tokenizer_file = os.path.join(path, "tokenizer.json")
    if os.path.isfile(tokenizer_file):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(tokenizer_file)
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(path)
    return lambda text: len(auto.encode(text, add_special_tokens=False))
