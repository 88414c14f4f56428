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

from capfence.offline.replay_records import RecordWriter

if TYPE_CHECKING:
    from capfence.offline.replay import ReplayResult
    from capfence.policy.compiled import Policy


class JsonRecords(RecordWriter):
    """A :class:`~capfence.replay_records.RecordWriter` spooling to a temporary file, printed after the summary."""

    def __init__(self, policy: Policy | None = None) -> None:
        super().__init__(policy, tempfile.TemporaryFile("w+", encoding="utf-8"))  # noqa: SIM115 - closed by __exit__

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
        self.out.seek(0)
        first = True
        for line in self.out:
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
        self.out.close()
