"""The work one command's analysis may do: what bounds its time, whatever the text.

Every part of the analysis that does work in proportion to something an
attacker controls spends *steps* from one :class:`Budget` per analyzed
command: a token read (nested code and substitutions included), a piece of a
word, a word that expansion produces, every :data:`CHARS_PER_STEP`
characters of expanded or re-scanned text, a command found and each of its
arguments and redirections. Scanning characters is done by regular
expressions that cannot backtrack, so it is cheap next to a step.

When the budget runs out the analysis stops with :class:`TooComplex`, and the
command is *unknowable*: exactly like text that does not parse, so a pack
denies it (``unparseable``). Nothing is cut short silently and nothing
depends on the clock, so the same text always gets the same answer.
"""

from __future__ import annotations

from capfence.policy.shell.lexer import ParseError

MAX_STEPS = 10_000
"""Steps one command's analysis may take (measured at under 20 ms on the project's 2-core machine; see docs)."""
CHARS_PER_STEP = 32
"""Characters of expanded text (variable values, brace expansion output, nested code) that cost one step."""


class TooComplex(ParseError):
    """The analysis needs more work than its budget allows: nothing reliable is known about the command.

    A :class:`ParseError` like nesting too deep, but never turned into an
    :class:`~capfence.policy.shell.context.Unknowable` fragment that a caller may skip: it ends the whole analysis.
    """


class Budget:
    """Steps left for one analysis. Not shared between threads: one per analyzed command."""

    __slots__ = ("left",)

    def __init__(self, steps: int | None = None) -> None:
        self.left = MAX_STEPS if steps is None else steps

    def spend(self, steps: int = 1) -> None:
        self.left -= steps
        if self.left < 0:
            raise TooComplex(
                f"too complex to analyze within the time bound (more than {MAX_STEPS:,} steps of work)"
            )

    def chars(self, count: int) -> None:
        """Spend for ``count`` characters of text built or scanned again."""
        self.spend(count // CHARS_PER_STEP + 1)
