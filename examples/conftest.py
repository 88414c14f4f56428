"""Each example test is marked with what it needs installed; ``nox -s examples`` runs each group in its own virtualenv.

    pytest examples/test_examples.py -m langchain   # needs capfence-langchain[agent]

A test without exactly one of these markers is an error, so no example can be
left out of every group.
"""

from __future__ import annotations

import pytest

FRAMEWORKS = {
    "plain": "needs only capfence (plain Python, and the bundled custom adapter package examples/custom_adapter)",
    "langchain": "needs capfence-langchain[agent]",
    "llamaindex": "needs capfence-llamaindex",
    "crewai": "needs capfence-crewai",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, needs in FRAMEWORKS.items():
        config.addinivalue_line("markers", f"{name}: {needs}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name != "test_examples.py":
            continue
        marks = [m.name for m in item.iter_markers() if m.name in FRAMEWORKS]
        if len(marks) != 1:
            raise pytest.UsageError(
                f"{item.nodeid}: mark it with exactly one of {', '.join(FRAMEWORKS)} (found {marks or 'none'})"
            )
