"""Helpers every command shares: notes and quiet mode, worker capping, one-line failures, interrupts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from pipeline.io.progress import set_enabled


def quiet_mode(quiet: bool) -> None:
    set_enabled(False if quiet else None)


def note(quiet: bool, message: str) -> None:
    if not quiet:
        typer.echo(message, err=True)


def cap_workers(workers: int | None, quiet: bool) -> int | None:
    """``--workers`` above the CPUs this process may use is capped (more would only compete), with a note."""
    if workers is None:
        return None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if workers > cpus:
        note(quiet, f"note: --workers {workers} is more than the {cpus} CPUs available; using {cpus}")
        return cpus
    return workers


def fail(exc: Exception) -> None:
    """One line on stderr; exit 1 (2 for a usage error), never a traceback for user input."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(getattr(exc, "exit_code", 1))


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` runs: temporary files are removed and
    worker processes stopped."""


def on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


@contextmanager
def interrupts() -> Iterator[None]:
    """Ctrl-C or SIGTERM during a command: one line saying nothing was written, exit 130 / 143.

    Outputs are only renamed into place at the end of a run, so an interrupted run has
    written nothing under the final names (the ``finally`` blocks removed the temporary files
    and stopped worker processes before this runs).
    """
    try:
        yield
    except Terminated:
        typer.echo("interrupted (SIGTERM): nothing written; any previous output is unchanged", err=True)
        raise typer.Exit(143) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: nothing written; any previous output is unchanged", err=True)
        raise typer.Exit(130) from None
