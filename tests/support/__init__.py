"""What the core's tests share: the pytest plugin with their fixtures (:mod:`tests.support.fixtures`, registered
once by ``tests/conftest.py``) and the helpers and tables they import (paths, audit rows, the CLI runner, waiting, a
real PostgreSQL server, the pathological shell inputs, the shell pack's cases and the escape tables, one ``command:``
condition checked alone, the deadline tests' bounds and concurrent writers, a broken gate, a recording observer)."""
