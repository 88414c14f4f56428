"""The root ``capfence`` group and the error handling every command shares.

Errors are one line on stderr and a non-zero exit: 2 for a usage error
(bad option, bad value), 1 for anything that failed. A traceback is shown
only with ``capfence --debug ...`` or ``CAPFENCE_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn, TextIO

import click

from capfence.cli.group import LazyGroup
from capfence.cli.pipes import quiet_broken_pipe

USAGE = 2
FAILURE = 1
INTERRUPTED = 130


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}
)
@click.option(
    "--debug", is_flag=True, help="Show a traceback when something fails (or set CAPFENCE_DEBUG=1)."
)
@click.version_option(package_name="capfence", prog_name="capfence")
def cli(debug: bool) -> None:
    """CapFence: a policy gate between AI agents and their tools.

    The rollout loop: observe under warn rules, read the logs, replay them
    against a stricter policy, then enforce it.

    \b
    Example:
      capfence logs --audit-log audit.db --decision warn
      capfence export --audit-log audit.db -o audit.jsonl
      capfence replay audit.jsonl --policy policies/shell_production.yaml

    Run 'capfence COMMAND --help' for a command's options and examples.
    """


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"capfence: warning: {message}", file=sys.stderr)


def _fail(message: str, code: int, debug: bool) -> NoReturn:
    if debug:
        import traceback

        traceback.print_exc()
    text = " ".join(message.split("\n")).strip() if "\n" in message else message.strip()
    print(f"capfence: error: {text}", file=sys.stderr)
    sys.exit(code)


def _usage_message(exc: click.UsageError) -> str:
    command = exc.ctx.command_path if exc.ctx is not None else "capfence"
    return f"{exc.format_message()} (see '{command} --help')"


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and exit."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("CAPFENCE_DEBUG", "") not in ("", "0")
    warnings.showwarning = _one_line_warning
    try:
        result = cli.main(args=args, prog_name="capfence", standalone_mode=False)
    # bare 'capfence', 'capfence approvals': the help, like git
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help())
        result = 0
    except click.UsageError as exc:
        _fail(_usage_message(exc), USAGE, debug)
    except click.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code, debug)
    except click.Abort:
        print("capfence: interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED)
    except BrokenPipeError:
        quiet_broken_pipe()
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback (unless --debug)
        _fail(_describe(exc), FAILURE, debug)
    _flush()
    sys.exit(result if isinstance(result, int) else 0)


def _describe(exc: Exception) -> str:
    from capfence.errors import CapFenceError

    if isinstance(exc, CapFenceError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return f"internal error: {type(exc).__name__}: {exc} (run 'capfence --debug ...' for a traceback)"


def _flush() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_broken_pipe()
