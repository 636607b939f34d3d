"""The error catalogue: every failure a user can act on, as one line.

Each message says **where** (file and line, or post id), **what** went wrong with the value
seen, **what is valid** and **what to do**. The CLI prints the message alone on stderr and exits
1 (2 for :class:`UsageError`); library callers catch :class:`PipelineError`. Programming
errors are not caught: they are bugs, and a traceback is the right report for them.
"""

from __future__ import annotations

from typing import Any


def error_message(where: object, problem: str, *, seen: Any = None, valid: str | None = None,
                  todo: str | None = None) -> str:
    """``WHERE: PROBLEM (got SEEN); valid: VALID. TODO`` — the one-line form of every error."""
    text = f"{where}: {problem}" if where not in (None, "") else problem
    if seen is not None:
        shown = repr(seen)
        text += f" (got {shown[:80] + '…' if len(shown) > 80 else shown})"
    if valid:
        text += f"; valid: {valid}"
    text = text.rstrip(".") + "."
    if todo:
        text += f" {todo.rstrip('.')}."
    return text


class PipelineError(Exception):
    """An expected failure with a message that says what went wrong and what to do.

    Either pass the whole message, or its parts (``where``, ``problem``, ``seen``, ``valid``,
    ``todo``) and :func:`error_message` writes it.
    """

    exit_code = 1

    def __init__(self, message: str | None = None, *, where: object = None, problem: str | None = None,
                 seen: Any = None, valid: str | None = None, todo: str | None = None) -> None:
        if message is None:
            message = error_message(where, problem or "error", seen=seen, valid=valid, todo=todo)
        super().__init__(message)
        self.where = None if where is None else str(where)


class UsageError(PipelineError):
    """A command-line option has a value no run could use (exit code 2, like typer's own usage errors)."""

    exit_code = 2


class InputFileError(PipelineError):
    """A whole input file cannot be used (missing, empty, binary, unknown format …)."""

    def __init__(self, path: object, problem: str, todo: str) -> None:
        super().__init__(f"{path}: {problem}. {todo}")
        self.path = str(path)


class ConfigError(PipelineError):
    """A configuration file (training config, actor registry, column-mapping preset) is invalid."""


class ModelFileError(PipelineError):
    """A model directory is missing, incomplete, crafted, or fails verification."""


class CorpusError(PipelineError):
    """An annotated corpus has a problem the user must fix (the message names file and line)."""


class TrainingDataError(PipelineError, ValueError):
    """The annotated posts cannot train a model (too few positives of a label, wrong shape of labels).

    Also a ``ValueError``, as scikit-learn estimators raise for bad training data.
    """


class OutputError(PipelineError):
    """An output path cannot be written (it is an input, a folder, unwritable, or the disk is full)."""
