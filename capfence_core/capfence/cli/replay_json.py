"""``capfence replay --format json``: one JSON object, ``{"summary": {...}, "records": [...]}``.

Records are spooled to a temporary file while replaying and copied out after
the summary, so memory stays flat however many records there are.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from types import TracebackType
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from capfence.offline.replay import ReplayResult
    from capfence.policy.compiled import Policy

_TAILS_LIMIT = 10_000


class JsonRecords:
    """A :data:`~capfence.offline.replay.RecordSink` writing JSON objects.

    Each is ``{"id", "capability", "recorded", "replayed", "rule", "changed", "change"}``.

    ``change`` is ``stricter``, ``looser``, ``other`` or null (see :data:`capfence.offline.replay.CHANGES`).
    The replayed decision's provenance follows: ``decided_by`` (``rule`` or ``default``) and
    the deciding rule's ``rule_source`` and ``rule_line`` (null for the default).
    """

    def __init__(self, policy: Policy | None = None) -> None:
        self._policy = policy
        self._file = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed by __exit__
        self._write = self._file.write
        self._tails: dict[tuple[str, str | None, str, str | None], str] = {}
        self._dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def __call__(
        self, record_id: object, capability: str, recorded: str | None, replayed: str, rule: str | None
    ) -> None:
        key = (capability, recorded, replayed, rule)
        tail = self._tails.get(key)
        if tail is None:
            tail = self._tail(key)
        self._write('{"id":' + (str(record_id) if type(record_id) is int else self._dumps(record_id)) + tail)

    def _tail(self, key: tuple[str, str | None, str, str | None]) -> str:
        capability, recorded, replayed, rule = key
        from capfence.offline.replay import change

        kind = change(recorded, replayed)
        fields = {"capability": capability, "recorded": recorded, "replayed": replayed, "rule": rule}
        found = self._policy.rule(rule) if self._policy is not None and rule is not None else None
        where = {
            "decided_by": "rule" if rule is not None else "default",
            "rule_source": found.source if found else None,
            "rule_line": found.line if found else None,
        }
        text = self._dumps({**fields, "changed": kind is not None, "change": kind, **where})
        tail = "," + text[1:] + "\n"
        if len(self._tails) >= _TAILS_LIMIT:
            self._tails.clear()
        self._tails[key] = tail
        return tail

    def print(self, result: ReplayResult, shadow: Counter[tuple[str | None, str, str]] | None = None) -> None:
        """Write the whole object to standard output: the summary (with ``shadow``: what enforcing the shadow rules would
        change), then the spooled records."""
        from capfence.offline.replay import summary

        out = sys.stdout
        document = summary(result)
        if shadow is not None:
            from capfence.cli.replay_shadow import shadow_json

            document["shadow"] = shadow_json(shadow)
        out.write(
            '{"summary": '
            + json.dumps(document, ensure_ascii=False, indent=2, default=str)
            + ',\n"records": [\n'
        )
        self._file.seek(0)
        first = True
        for line in self._file:
            if not first:
                out.write(",\n")
            out.write(line[:-1])
            first = False
        out.write("\n]}\n")
        out.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._file.close()
