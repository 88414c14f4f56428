"""The core suite's root conftest: it registers the shared fixtures' plugin, and nothing else.

Fixtures live in :mod:`tests.support.fixtures`; helpers a test imports live beside it in ``tests/support/``.
"""

pytest_plugins = ["tests.support.fixtures"]
