"""Compact JSON encoding without the set-up cost ``json.JSONEncoder.encode`` pays on every call.

Every audit record is encoded twice (its payload, and its values for the hash
chain). ``JSONEncoder.encode`` builds a new C encoder each time, which costs
more than encoding a typical record. :func:`compact_encoder` builds it once.
It is the standard library's own encoder, configured as a compact
(``separators=(",", ":")``), ``ensure_ascii=False`` encoder; only the cycle
check is off, which the callers do not need (the values they encode are flat,
or cleaned of cycles). Built once, it is checked against ``JSONEncoder`` on a
sample, and if the interpreter lacks the C encoder or it disagrees,
``JSONEncoder.encode`` itself is used.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable

_SAMPLE: object = {
    "b": [1, -2, 3.5, True, False, None, 'é\u2028"\\\n'],
    "a": {"z": "", "y": [[], {}]},
    "": 10**20,
}


def compact_encoder(*, sort_keys: bool) -> Callable[[object], str]:
    """A function giving exactly ``JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys).encode(value)``."""
    reference = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
    make = getattr(json.encoder, "c_make_encoder", None)
    try:
        built = make(
            None, reference.default, json.encoder.encode_basestring, None, ":", ",", sort_keys, False, True
        )  # type: ignore[misc]

        def encode(value: object) -> str:
            return "".join(built(value, 0))

        if encode(_SAMPLE) == reference.encode(_SAMPLE):
            return encode
    except Exception:  # noqa: BLE001 - no C encoder, or another signature: the plain encoder is as correct
        pass
    return reference.encode
