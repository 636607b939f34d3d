"""Where the default configs and the shipped model live, and reading TOML files with clear errors.

An installed wheel carries ``configs/`` and ``models/default`` as package data under
``pipeline/data/``; a source checkout (editable install) reads them from the repository root.
"""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

from pipeline.errors import InputFileError


def data_dir(name: str) -> Path:
    """The folder ``name`` (``configs`` or ``models``) of the installed package, else of the checkout."""
    installed = Path(str(files("pipeline"))) / "data" / name
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / name


#: Default configs (labels, cues, training, actors, known export layouts).
CONFIG_DIR = data_dir("configs")
#: The shipped model.
DEFAULT_MODEL_DIR = data_dir("models") / "default"
#: Models shipped in ``models/``, by name (``--model fast``): ``default`` (configs/train.toml) and
#: ``fast`` (configs/train_fast.toml: no SudachiPy; ~1.5x faster on a mix with 46% Japanese).
SHIPPED_MODELS = ("default", "fast")


def shipped_model_dir(name: str) -> Path:
    """The folder of the shipped model ``name`` (one of :data:`SHIPPED_MODELS`)."""
    if name not in SHIPPED_MODELS:
        raise ValueError(f"no shipped model {name!r}; shipped: {', '.join(SHIPPED_MODELS)}")
    return data_dir("models") / name


def shipped_name(model_dir: Path | str) -> str | None:
    """The name of the shipped model in ``model_dir``, or ``None`` for any other folder."""
    where = Path(model_dir).resolve()
    return next((n for n in SHIPPED_MODELS if shipped_model_dir(n).resolve() == where), None)


def model_location(value: str | None) -> Path:
    """A model folder from a shipped model's name (``None``: the default) or a path."""
    if value is None:
        return DEFAULT_MODEL_DIR
    return shipped_model_dir(value) if value in SHIPPED_MODELS else Path(value)


def read_toml(path: Path, *, what: str, option: str) -> dict[str, Any]:
    """Parse a TOML file; a missing or malformed file is an :class:`InputFileError` naming it.

    ``what`` names the file's role ("config file", "actor registry"), ``option`` the CLI option
    that passes it, so the message says what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, f"{what} not found", f"Pass an existing TOML file to {option}.")
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(path, f"invalid TOML ({exc})", f"Fix the {what}.") from exc
