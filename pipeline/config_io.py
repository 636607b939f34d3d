"""Reading the project's and users' TOML files (configs, actor registries) with clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import InputFileError


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
