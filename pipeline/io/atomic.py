"""Writing outputs safely: temporary files renamed into place, locks, and paths that must differ.

Every output is first written to a hidden temporary file in the folder of its final name and
renamed over it (:func:`os.replace`, atomic on one file system) only once it is complete, so an
interrupted, failed or killed run leaves the previous file (or nothing) under the final name,
never a partial one. A lock file held with ``flock`` refuses a second run on the same output;
the kernel releases it when the process dies, so a killed run never blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import PipelineError

#: Prefix of the temporary files and folders written next to an output (hidden, easy to spot).
TEMP_PREFIX = ".tiktok-diplomacy-tmp-"


def same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name the same file (or would: same resolved path, links followed)."""
    try:
        if Path(a).exists() and Path(b).exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return Path(a).resolve() == Path(b).resolve()


def refuse_overlaps(inputs: Sequence[Path], outputs: dict[str, Path]) -> None:
    """Refuse outputs that resolve to an input or to each other (writing would destroy data).

    Parameters
    ----------
    inputs : sequence of Path
        Files the run reads (``-`` for standard input is skipped).
    outputs : dict of str to Path
        What each output is (used in the message) → its path.

    Raises
    ------
    PipelineError
        Naming both paths and what to do.
    """
    named = [(what, Path(p)) for what, p in outputs.items() if p is not None]
    for what, out in named:
        for src in inputs:
            if str(src) != "-" and same_file(out, Path(src)):
                raise PipelineError(f"{out}: the {what} is the input file {src}; writing it would destroy the input. "
                                    "Choose another output name.")
    for i, (what_a, a) in enumerate(named):
        for what_b, b in named[i + 1:]:
            if same_file(a, b):
                raise PipelineError(f"{a}: the {what_a} and the {what_b} are the same file. "
                                    "Give them different names.")


def check_writable(path: Path) -> None:
    """Fail early (before reading any input) when ``path``'s folder cannot hold a new file."""
    path = Path(path)
    if path.is_dir():
        raise PipelineError(f"{path}: is a folder; the output must be a file name. Pass a file name with -o.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise PipelineError(f"{path}: cannot write here ({exc.strerror or exc}). "
                            "Pass a writable location with -o.") from exc


def temp_file_for(path: Path) -> Path:
    """A new, empty temporary file next to ``path`` (same folder, so the final rename is atomic)."""
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX + path.name + ".", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def commit(tmp: Path, final: Path) -> None:
    """Move the complete temporary file or folder ``tmp`` into place as ``final``."""
    if tmp.is_dir() and final.is_dir():
        # a folder cannot be replaced atomically over a non-empty one: swap via a second name
        old = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + final.name + ".old.", dir=final.parent))
        os.replace(final, old / final.name)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
        return
    if tmp.is_file():
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get the usual mode
    os.replace(tmp, final)


def discard(tmp: Path) -> None:
    """Remove a temporary file or folder; never raises (it runs while another error propagates)."""
    try:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
    except OSError:
        pass


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """A temporary folder next to ``final``, renamed to ``final`` when the block completes."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + final.name + ".", dir=final.parent))
    try:
        yield tmp
    except BaseException:
        discard(tmp)
        raise
    os.chmod(tmp, 0o777 & ~_umask())
    commit(tmp, final)


@contextmanager
def staged_dir(final: Path, protect: Sequence[Path] = ()) -> Iterator[Path]:
    """A temporary folder next to ``final``; when the block completes, each file in it is moved
    into ``final`` (created if needed; other files already there are left alone).

    Nothing appears under ``final`` until everything was written; on an exception the
    temporary folder is removed. A file that would replace one of ``protect`` (the inputs) is
    refused before anything is moved.
    """
    final = Path(final)
    if final.exists() and not final.is_dir():
        raise PipelineError(f"{final}: is a file; the output must be a folder. Pass a folder name with -o.")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + final.name + ".", dir=final.parent))
    except OSError as exc:
        raise PipelineError(f"{final}: cannot write here ({exc.strerror or exc}). "
                            "Pass a writable folder with -o.") from exc
    try:
        yield tmp
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        for src in files:
            for keep in protect:
                if same_file(final / src.relative_to(tmp), Path(keep)):
                    raise PipelineError(f"{keep}: writing {src.name} into {final} would replace this input. "
                                        "Choose another output folder.")
        mode = 0o666 & ~_umask()
        for src in files:
            dest = final / src.relative_to(tmp)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(src, mode)
            os.replace(src, dest)
    finally:
        discard(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def output_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` as an output; refuse if another run holds it.

    The lock is ``flock`` on a hidden ``.<name>.lock`` file next to ``path``; it is released
    (and the file removed) when the block ends, and by the kernel if the process is killed.
    """
    path = Path(path)
    lock = path.with_name(f".{path.name}.lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise PipelineError(f"{path}: cannot write here ({exc.strerror or exc}). "
                            "Pass a writable location with -o.") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise PipelineError(f"{path}: another run is writing this output now. Wait for it to finish, "
                            "or choose another output name.") from None
    try:
        yield
    finally:
        try:
            os.unlink(lock)
        except OSError:
            pass
        os.close(fd)
