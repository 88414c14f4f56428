"""The audit key for ``verify`` and ``checkpoint``: ``--key-file``, else ``$CAPFENCE_AUDIT_KEY``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Any)


def key_file_option(func: F) -> F:
    return click.option(
        "--key-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        metavar="FILE",
        help="Read the audit key from FILE (trailing newline ignored) instead of $CAPFENCE_AUDIT_KEY.",
    )(func)


def audit_key(key_file: Path | None) -> bytes | None:
    if key_file is not None:
        key = key_file.read_bytes().rstrip(b"\r\n")
        if not key:
            raise click.BadParameter(f"{key_file} is empty", param_hint="'--key-file'")
        return key
    from capfence.audit.chain import key_from_env

    return key_from_env()
