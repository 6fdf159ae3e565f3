"""A real model that keeps what it was sent: to check which prompt a stage built. Every
reply and probability still comes from the wrapped model."""

from tutor.llm.base import LLMBackend


class RecordingLLM(LLMBackend):
    def __init__(self, llm):
        super().__init__()
        self.llm = llm
        self.model_id = llm.model_id
        self.sent = []  # the messages of every generation
        self.replies = []  # what each generation wrote
        self.checked = []  # the messages of every yes/no probability read

    def stream_chat(self, messages, max_tokens, temperature):
        self.sent.append(messages)
        pieces = []
        for piece in self.llm.stream_chat(messages, max_tokens, temperature):
            pieces.append(piece)
            yield piece
        self.replies.append("".join(pieces))

    def yes_probability(self, messages):
        self.checked.append(messages)
        return self.llm.yes_probability(messages)

    def count_tokens(self, text):
        return self.llm.count_tokens(text)

    def count_prompt_tokens(self, messages):
        return self.llm.count_prompt_tokens(messages)
