"""Errors that carry a message a learner can act on: what happened and how to fix it."""


class TutorError(Exception):
    """A failure the user can fix; the CLI prints the message and exits 1."""

    exit_code = 1


class BadInputError(TutorError):
    """The request itself is wrong (empty question, too long); exit code 2."""

    exit_code = 2


class PromptTooLongError(BadInputError):
    """The question (with its conversation and passages) is longer than the model can read."""


class IndexMissingError(TutorError):
    pass


class IndexMismatchError(TutorError):
    """The index on disk was built with another embedding model or chunker."""


class ModelMissingError(TutorError):
    pass


class ModelChecksumError(TutorError):
    pass


class LLMUnavailableError(TutorError):
    """The LLM backend cannot be reached or failed mid-answer."""
