"""``CallView``'s derived values are computed at most once per view, each under one name (the ``once`` descriptor)."""

from __future__ import annotations

import dataclasses

import pytest

from capfence.call.view import CallView, once


def test_derived_texts_are_computed_once_and_not_shared() -> None:
    calls: list[str] = []

    class Counted(CallView):
        @once
        def shouted(self) -> str:
            calls.append(self.capability)
            return self.capability.upper()

    view = Counted("fs.read", {"path": "a"})
    assert view.shouted == view.shouted == "FS.READ"
    other = dataclasses.replace(view, capability="fs.write")
    assert other.shouted == "FS.WRITE"
    assert calls == ["fs.read", "fs.write"]
    assert view.texts is view.texts  # the built-in ones too


def test_one_descriptor_cannot_cache_under_two_names() -> None:
    """Like functools.cached_property: an alias would cache the original's value under the alias's name."""
    with pytest.raises((RuntimeError, TypeError)) as raised:

        class Aliased(CallView):
            alias = CallView.__dict__["texts"]

    # (Python 3.11 wraps an error of __set_name__ in a RuntimeError; 3.12 and later raise it as it is)
    error = raised.value.__cause__ if isinstance(raised.value, RuntimeError) else raised.value
    assert isinstance(error, TypeError)
    assert "'texts' and 'alias'" in str(error)
