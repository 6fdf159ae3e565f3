"""Embedded llama.cpp backend (llama-cpp-python), the default on laptops and CPU servers."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tutor.errors import LLMUnavailableError, ModelMissingError, PromptTooLongError
from tutor.llm.base import NO_WORDS, YES_WORDS, LLMBackend, Message
from tutor.llm.prefix_states import PrefixStates
from tutor.models import HubModel


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the common prefix of two token lists."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class LlamaCppBackend(LLMBackend):
    def __init__(
        self,
        model: Path | HubModel,
        context_tokens: int,
        threads: int,
        models_dir: Path,
        lookup_tokens: int = 0,
        lookup_ngram: int = 3,
        prefix_states: int = 12,
    ):
        super().__init__()
        # Prompt-lookup speculative decoding (tutor.llm.lookup): tokens drafted per step from
        # the context, 0 = plain decoding through llama-cpp-python's chat completion.
        self.lookup_tokens = lookup_tokens
        self.lookup_ngram = lookup_ngram
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # pragma: no cover - part of the default install
            raise ModelMissingError(
                "llama-cpp-python is not installed: pip install llama-cpp-python==0.3.36"
            ) from exc
        options = dict(n_ctx=context_tokens, n_threads=threads, verbose=False)
        try:
            with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
                if isinstance(model, HubModel):
                    self.llm = Llama.from_pretrained(
                        repo_id=model.repo_id,
                        filename=model.filename_glob,
                        cache_dir=str(models_dir / "hub"),
                        **options,
                    )
                    self.model_id = f"{model.repo_id}:{model.filename_glob}"
                else:
                    self.llm = Llama(model_path=str(model), **options)
                    self.model_id = model.name
        except Exception as exc:  # hub, network and llama.cpp loader errors have no common base
            if isinstance(model, HubModel):
                raise ModelMissingError(
                    f"Could not get {model.filename_glob} from the Hugging Face repo "
                    f"{model.repo_id}: {exc.__class__.__name__}: {exc} Check the repo id and that "
                    "the Hub is reachable, or use a packaged model (TUTOR_LLM_MODEL="
                    "qwen2.5-coder-1.5b) or a local .gguf path."
                ) from exc
            raise ModelMissingError(
                f"llama.cpp could not load the model {model}: {exc}. Check that the file is a "
                "complete GGUF model."
            ) from exc
        # One Llama object must never run two generations at once.
        self._lock = threading.Lock()
        # System prompts read before, so switching between prompts does not re-read them.
        self._prefixes = PrefixStates(limit=prefix_states)
        self._system_heads: dict[str, list[int]] = {}

    def yes_probability(self, messages: list[Message]) -> float:
        """P("yes") / (P("yes") + P("no")) for the first reply token, read from the logits
        after one forward pass over the chat prompt. No token is generated, and the prompt's
        prefix shared with the previous call (the judge's system prompt) is not re-read.
        create_completion's own logprobs would need logits_all=True, which computes logits
        for every prompt token and slows every prompt."""
        import numpy as np

        with self._lock:
            llm = self.llm
            tokens = llm.tokenize(self._chat_prompt(messages).encode(), special=True)
            if len(tokens) >= llm.n_ctx():
                raise LLMUnavailableError(
                    f"The prompt does not fit the model's context ({len(tokens)} tokens, the "
                    f"context holds {llm.n_ctx()})."
                )
            try:
                found = self._prepare(messages, tokens)
                logits = self._decode(tokens[llm.n_tokens :], every_row=False)[-1]
            except Exception as exc:  # llama.cpp reports its failures as bare errors
                llm.n_tokens = 0
                raise LLMUnavailableError(f"llama.cpp could not read the prompt: {exc}") from exc
            finally:
                llm._requires_eval = True  # these logits are not llama-cpp-python's to sample
            self.last_stats = type(self.last_stats)(prompt_tokens=len(tokens), prompt_reused=found)
            yes_ids, no_ids = self._answer_word_ids()
            top = float(logits.max())
            yes = float(np.exp(logits[yes_ids] - top).sum())
            no = float(np.exp(logits[no_ids] - top).sum())
            return yes / (yes + no) if yes + no > 0 else 0.5

    def _chat_prompt(self, messages: list[Message]) -> str:
        if not hasattr(self, "_formatter"):
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = self.llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise LLMUnavailableError(
                    f"The model {self.model_id} has no chat template, so it cannot be a judge."
                )
            eos = self.llm.detokenize([self.llm.token_eos()]).decode(errors="ignore")
            bos = self.llm.detokenize([self.llm.token_bos()]).decode(errors="ignore")
            self._formatter = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)
        return self._formatter(messages=messages).prompt

    def _answer_word_ids(self) -> tuple[list[int], list[int]]:
        if not hasattr(self, "_word_ids"):

            def ids(words) -> list[int]:
                found = set()
                for word in words:
                    for variant in (word, " " + word):
                        toks = self.llm.tokenize(variant.encode(), add_bos=False, special=False)
                        if len(toks) == 1:
                            found.add(toks[0])
                return sorted(found)

            self._word_ids = (ids(YES_WORDS), ids(NO_WORDS))
        return self._word_ids

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode(), add_bos=False, special=True))

    def count_prompt_tokens(self, messages: list[Message]) -> int:
        try:
            prompt = self._chat_prompt(messages)
        except LLMUnavailableError:  # no chat template: llama.cpp formats it its own way
            return super().count_prompt_tokens(messages)
        return len(self.llm.tokenize(prompt.encode(), special=True))

    def _system_length(self, messages: list[Message], prompt: list[int]) -> int:
        """Tokens of `prompt` that belong to its system prompt (and the template before it)."""
        if not messages or messages[0]["role"] != "system":
            return 0
        system = messages[0]["content"]
        head = self._system_heads.get(system)
        if head is None:
            try:
                text = self._chat_prompt([messages[0], {"role": "user", "content": ""}])
            except LLMUnavailableError:  # no chat template: nothing to save by
                return 0
            head = self.llm.tokenize(text.encode(), special=True)
            if len(self._system_heads) > 64:  # prompts carry no learner text; a bound anyway
                self._system_heads.clear()
            self._system_heads[system] = head
        return common_prefix(prompt, head)

    def _prepare(self, messages: list[Message], prompt: list[int]) -> int:
        """Make the cache hold as much of `prompt` as can be had without reading it: what it
        shares with the last prompt, or a saved system prompt when that is longer; read the
        system prompt and save it when neither holds it. At least the prompt's last token is
        left to read. Returns the tokens found, not read."""
        llm = self.llm
        llm.n_tokens = common_prefix(llm.input_ids[: llm.n_tokens].tolist(), prompt[:-1])
        found = self._prefixes.restore(llm, prompt, llm.n_tokens)
        system = self._system_length(messages, prompt)
        if llm.n_tokens < system < len(prompt):
            self._decode(prompt[llm.n_tokens : system], every_row=False)
            self._prefixes.save(llm)
        return found

    def stream_chat(
        self, messages: list[Message], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        if self.lookup_tokens > 0:
            yield from self._stream_lookup(messages, max_tokens, temperature)
            return
        with self._lock:
            self.last_stats = type(self.last_stats)()
            with contextlib.suppress(LLMUnavailableError):  # no chat template: llama.cpp's own
                prompt = self.llm.tokenize(self._chat_prompt(messages).encode(), special=True)
                if len(prompt) < self.llm.n_ctx():
                    self.last_stats.prompt_reused = self._prepare(messages, prompt)
                    self.llm._requires_eval = True
            try:
                stream = self.llm.create_chat_completion(
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stream=True,
                )
                completion_tokens = 0
                for event in stream:
                    piece = event["choices"][0]["delta"].get("content")
                    if piece:
                        completion_tokens += 1
                        yield piece
            except ValueError as exc:  # llama.cpp reports context overflow as ValueError
                # Only the asker's text can grow without bound (passages and history are
                # capped), so it is theirs to shorten: a bad request, not an outage.
                raise PromptTooLongError(
                    f"The question and conversation are too long for the model to read ({exc}). "
                    "Ask a shorter question or start a new conversation."
                ) from exc
            self.last_stats.completion_tokens = completion_tokens

    def _decode(self, tokens: list[int], every_row: bool) -> np.ndarray:
        """Run `tokens` after the cached context; the logits of every position of the last
        batch (`every_row`, for draft checks) or of the last one only (a prompt).
        llama-cpp-python's own draft path sets logits_all for the whole prompt as well,
        which computes and copies 150k logits for every prompt token."""
        llm = self.llm
        llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        for start in range(0, len(tokens), llm.n_batch):
            batch = tokens[start : start + llm.n_batch]
            llm._batch.set_batch(batch=batch, n_past=llm.n_tokens, logits_all=every_row)
            llm._ctx.decode(llm._batch)
            llm.input_ids[llm.n_tokens : llm.n_tokens + len(batch)] = batch
            llm.n_tokens += len(batch)
        rows = len(batch) if every_row else 1
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(rows * llm.n_vocab(),))
        return logits.reshape(rows, llm.n_vocab()).copy()

    def _stream_lookup(
        self, messages: list[Message], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        """Generation with prompt-lookup drafts (tutor.llm.lookup); the same text as plain
        decoding at temperature 0, the same distribution above it."""
        import codecs
        import random

        import llama_cpp

        from tutor.llm.lookup import draft_tokens, verify

        stats = self.last_stats = type(self.last_stats)()
        with self._lock:
            llm = self.llm
            prompt = llm.tokenize(self._chat_prompt(messages).encode(), special=True)
            if len(prompt) >= llm.n_ctx():
                raise PromptTooLongError(
                    f"The question and conversation are too long for the model to read "
                    f"({len(prompt)} tokens, the context holds {llm.n_ctx()}). Ask a shorter "
                    "question or start a new conversation."
                )
            # Re-read only what differs from the cached context (the rules, and the passages
            # the answerability check has just read, stay in the KV cache) or from a saved
            # system prompt.
            stats.prompt_reused = self._prepare(messages, prompt)
            rng = random.Random()
            text = codecs.getincrementaldecoder("utf-8")(errors="replace")
            written = 0
            size = 1  # the draft length, adapted to how much of the drafts is kept
            try:
                rows = self._decode(prompt[llm.n_tokens :], every_row=False)
                pending = [verify(rows, [], temperature, rng).next_token]
                while True:
                    for token in pending:
                        if llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
                            return
                        written += 1
                        if piece := text.decode(llm.detokenize([token])):
                            yield piece
                        if written >= max_tokens:
                            return
                    # pending[:-1] are in the KV cache already; the last one is read now.
                    room = min(max_tokens - written, llm.n_ctx() - llm.n_tokens - 2)
                    if room < 0:
                        return
                    context = np.append(llm.input_ids[: llm.n_tokens], pending[-1]).astype(np.intc)
                    draft = draft_tokens(context, self.lookup_ngram, min(size, room))
                    start = llm.n_tokens
                    rows = self._decode([pending[-1], *draft], every_row=True)
                    verdict = verify(rows, draft, temperature, rng)
                    stats.decode_steps += 1
                    stats.drafted += len(draft)
                    stats.accepted += verdict.accepted
                    # Forget the rejected draft tokens: the next decode starts after the kept
                    # ones.
                    llm.n_tokens = start + 1 + verdict.accepted
                    pending = [*draft[: verdict.accepted], verdict.next_token]
                    if draft:
                        kept_all = verdict.accepted == len(draft)
                        size = min(self.lookup_tokens, size * 2) if kept_all else max(1, size // 2)
            finally:
                # The logits left are a draft position's, not the last kept token's, so the
                # plain path must not sample from them (also when the reader went away).
                llm._requires_eval = True
                stats.prompt_tokens = len(prompt)
                stats.completion_tokens = written
