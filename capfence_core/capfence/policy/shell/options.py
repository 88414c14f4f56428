"""Splitting arguments into options and operands the way getopt does.

Two flavours:

* :func:`parse_options` for the program that finally runs: GNU permutation
  (options may follow operands, ``git push origin main --force``), ``--``
  ends options, short clusters split (``-rf`` -> ``-r``, ``-f``) up to a letter
  that takes a value, ``--name=value`` gives ``--name``.
* :func:`split_leading` for wrappers (``sudo``, ``env``, ``xargs``...):
  options stop at the first operand, which is where the wrapped command starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from capfence.policy.shell.model import Arg, Kind, Options


@dataclass(frozen=True)
class OptionSpec:
    value_short: str = ""
    """Short option letters that take a value (attached, ``-n5``, or the next word)."""
    value_long: frozenset[str] = frozenset()
    """Long options (``--user``) that take the next word as value when written without ``=``."""
    single_dash_long: bool = False
    """Options are whole words with one dash (``find -name x -delete``): no clusters."""
    numeric: bool = False
    """``-10`` is an option with a value (``nice -10``)."""
    assignments: bool = False
    """``NAME=value`` words before the command are settings (``env``)."""


PLAIN = OptionSpec()
_STATIC = Kind.STATIC


def parse_options(  # noqa: PLR0912 - one flat loop on purpose: it runs for every invocation of every new command
    args: Sequence[Arg], spec: OptionSpec = PLAIN
) -> Options:
    flags: set[str] = set()
    long: list[str] = []
    operands: list[Arg] = []
    values: list[tuple[str, Arg]] = []
    maybe = False
    ended = False
    i, count = 0, len(args)
    clusters = not spec.value_short and not spec.single_dash_long
    """Single-dash words are clusters of letters none of which takes a value (what :func:`_short` does, spelled out)."""
    while i < count:
        arg = args[i]
        i += 1
        text, kind = arg.text, arg.kind
        if kind is _STATIC and not ended and not text.startswith("-") and not arg.procsub:
            operands.append(arg)  # the common case: a plain operand
        elif ended or kind is Kind.PLACEHOLDER or arg.procsub:
            operands.append(arg)
        elif kind is Kind.DYNAMIC:
            if arg.prefix == "" or arg.prefix.startswith("-"):
                maybe = True
                _known_part(arg.prefix, flags)
            if not arg.prefix.startswith("-"):
                operands.append(arg)
        elif text == "--":
            ended = True
        elif text.startswith("--"):
            name, eq, value = text.partition("=")
            flags.add(name)
            long.append(name)
            if eq:
                values.append((name, Arg.of(value)))
            elif name in spec.value_long:
                i += _value(name, args, i, values)
        elif len(text) > 1:  # a static word starting with "-"
            if clusters:
                flags.add(text)
                for letter in text[1:]:
                    flags.add("-" + letter)
            else:
                i += _short(text, spec, flags, args, i, values)
        else:
            operands.append(arg)
    # (tuple.__new__: what Options() does, without its Python-level __new__; this runs for every invocation)
    return _new(Options, (frozenset(flags), tuple(long), tuple(operands), maybe, tuple(values)))


_new = tuple.__new__


def _value(name: str, args: Sequence[Arg], i: int, values: list[tuple[str, Arg]]) -> int:
    if i < len(args):
        values.append((name, args[i]))
        return 1
    return 0


def _short(
    text: str, spec: OptionSpec, flags: set[str], args: Sequence[Arg], i: int, values: list[tuple[str, Arg]]
) -> int:
    """Record a single-dash word; return 1 if it consumes the next word as its value."""
    flags.add(text)
    if spec.single_dash_long:
        return _value(text, args, i, values) if text in spec.value_long else 0
    for j, letter in enumerate(text[1:], start=1):
        flags.add("-" + letter)
        if letter in spec.value_short:
            if j < len(text) - 1:
                values.append(("-" + letter, Arg.of(text[j + 1 :])))
                return 0
            return _value("-" + letter, args, i, values)
    return 0


def _known_part(prefix: str, flags: set[str]) -> None:
    """``-rf$X`` certainly has ``-r`` and ``-f``; ``--name=$X`` certainly has ``--name``."""
    if prefix.startswith("--"):
        name, eq, _ = prefix.partition("=")
        if eq:
            flags.add(name)
    elif len(prefix) > 1:
        flags.update("-" + letter for letter in prefix[1:])


def split_leading(args: Sequence[Arg], spec: OptionSpec) -> tuple[list[tuple[str, Arg | None]], int]:
    """Leading options of a wrapper as ``(name, value)`` pairs, and the index where its operands start.

    ``NAME=value`` settings (when ``spec.assignments``) are reported as ``("=", word)``.
    A word built at run time ends the options (it may be the command).
    """
    found: list[tuple[str, Arg | None]] = []
    i = 0
    while i < len(args):
        arg = args[i]
        text = arg.text
        if (
            not arg.static
            or text == "-"
            or not (text.startswith("-") or (spec.assignments and _is_setting(text)))
        ):
            break
        i += 1
        if text == "--":
            break
        if not text.startswith("-"):
            found.append(("=", arg))
        elif text.startswith("--"):
            name, eq, value = text.partition("=")
            if eq:
                found.append((name, Arg.of(value)))
            elif name in spec.value_long:
                found.append((name, args[i] if i < len(args) else None))
                i += 1
            else:
                found.append((name, None))
        elif spec.numeric and text[1:].isdigit():
            found.append(("-n", Arg.of(text[1:])))
        else:
            i += _leading_cluster(text, args, i, spec, found)
    return found, i


def _leading_cluster(
    text: str, args: Sequence[Arg], i: int, spec: OptionSpec, found: list[tuple[str, Arg | None]]
) -> int:
    if spec.single_dash_long:
        if text in spec.value_long:
            found.append((text, args[i] if i < len(args) else None))
            return 1
        found.append((text, None))
        return 0
    for j, letter in enumerate(text[1:], start=1):
        if letter in spec.value_short:
            rest = text[j + 1 :]
            if rest:
                found.append(("-" + letter, Arg.of(rest)))
                return 0
            found.append(("-" + letter, args[i] if i < len(args) else None))
            return 1
        found.append(("-" + letter, None))
    return 0


def _is_setting(text: str) -> bool:
    name, eq, _ = text.partition("=")
    return bool(eq) and name.isidentifier()
