"""Errors the user can act on.  The CLI prints them as one line and exits 1."""

from __future__ import annotations


class PipelineError(Exception):
    """An expected failure with a message that says what went wrong and what to do."""


class InputFileError(PipelineError):
    """A whole input file cannot be used (missing, empty, binary, unknown format …)."""

    def __init__(self, path: object, problem: str, todo: str) -> None:
        super().__init__(f"{path}: {problem}. {todo}")
        self.path = str(path)


class ModelFileError(PipelineError):
    """A model directory is missing, incomplete, or fails verification."""
