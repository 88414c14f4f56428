"""The records of ``capfence replay --format json``: one JSON object per replayed call, written as it is replayed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from capfence.policy.compiled import Policy

_TAILS_LIMIT = 10_000


class RecordWriter:
    """A :data:`~capfence.replay.RecordSink` writing one JSON object per line to ``out``.

    ``{"id", "capability", "recorded", "replayed", "rule", "changed", "change", ...}``:

    ``change`` is ``stricter``, ``looser``, ``other`` or null (see :data:`capfence.replay.CHANGES`).
    The replayed decision's provenance follows: ``decided_by`` (``rule`` or ``default``) and
    the deciding rule's ``rule_source`` and ``rule_line`` (null for the default).
    """

    def __init__(self, policy: Policy | None, out: TextIO) -> None:
        self._policy = policy
        self.out = out
        self._write = out.write
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

    def append(self, part: Path) -> None:
        """Copy the lines another writer wrote to ``part`` after this one's (a part of the input replayed elsewhere)."""
        with part.open(encoding="utf-8") as lines:
            shutil.copyfileobj(lines, self.out, 1 << 20)
