"""Saved KV states of system prompts, for the embedded llama.cpp model.

llama.cpp keeps one KV cache, and a prompt reuses only the prefix it shares with the prompt
read just before it. The tutor alternates prompts with different system prompts: a
follow-up's rewrite before its answer, another study mode or level, the multiple-choice
checks. Each switch back would re-read a system prompt of about 200 tokens (2-3 s on 2
cores). So the first time a system prompt is read, the KV state of exactly that prefix
(sequence 0, no logits: about 28 KB a token for the 1.5B model) is copied out, and a later
prompt that starts with it copies it back instead of reading it again.

llama-cpp-python's own `save_state` is not used: it also copies the logits buffer (n_batch x
vocabulary floats, over 300 MB) and cannot restore a state shorter than that buffer.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict

# Shorter prefixes are cheaper to read than to look up.
MIN_PREFIX_TOKENS = 32


class PrefixStates:
    """The KV states of the last `limit` system-prompt prefixes, by their tokens."""

    def __init__(self, limit: int = 12):
        self.limit = limit
        self._saved: OrderedDict[tuple[int, ...], bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._saved)

    def restore(self, llm, prompt: list[int], reuse: int) -> int:
        """Load the longest saved prefix of `prompt` when it is longer than the `reuse`
        tokens the cache already shares with it; the tokens now reusable."""
        fits = [k for k in self._saved if reuse < len(k) < len(prompt)]
        best = max((k for k in fits if prompt[: len(k)] == list(k)), key=len, default=None)
        if best is None:
            return reuse
        import llama_cpp

        data = self._saved[best]
        self._saved.move_to_end(best)
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, buffer, len(data), 0) != len(data):
            # The sequence was cleared before the failed write: nothing in the cache is valid.
            del self._saved[best]
            llm.n_tokens = 0
            return 0
        llm.input_ids[: len(best)] = best
        llm.n_tokens = len(best)
        return len(best)

    def save(self, llm) -> None:
        """Copy out the KV state of the tokens in the cache now (a system-prompt prefix, just
        read: nothing after it is in the cache)."""
        key = tuple(int(t) for t in llm.input_ids[: llm.n_tokens])
        if not self.limit or len(key) < MIN_PREFIX_TOKENS or key in self._saved:
            return
        import llama_cpp

        ctx = llm._ctx.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0)
        if not written:
            return
        self._saved[key] = bytes(buffer[:written])
        while len(self._saved) > self.limit:
            self._saved.popitem(last=False)
