"""The ``capfence`` command line.

Start-up is kept small on purpose (``capfence --help`` must answer in well
under 250 ms including the interpreter): this package imports only ``click``;
each subcommand's module is imported when that subcommand runs (see
:mod:`capfence.cli.group`), and YAML, SQLite and ``rich`` are imported by the
commands that need them.

Entry point: ``capfence = "capfence.cli:main"`` (also ``python -m capfence.cli``).
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``capfence`` command; never returns (exits with the command's status)."""
    from capfence.cli.app import run

    run(argv)


__all__ = ["main"]
