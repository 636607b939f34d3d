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
