"""Make sure this example's plugin is what the tests use: it must be installed (``pip install -e examples/custom_adapter``)."""

from __future__ import annotations

import importlib.metadata

import pytest

from capfence.testing import capfence_runtime  # noqa: F401 - the contract suite's fixture


def pytest_configure(config: pytest.Config) -> None:
    names = {ep.name for ep in importlib.metadata.entry_points(group="capfence")}
    if "commandkit" not in names:
        raise pytest.UsageError("install the example first: pip install -e examples/custom_adapter")
