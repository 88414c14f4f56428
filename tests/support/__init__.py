"""What the core's tests share: the pytest plugin with their fixtures (:mod:`tests.support.fixtures`, registered
once by ``tests/conftest.py``) and the helpers they import (paths, audit rows, the CLI runner, waiting, a real
PostgreSQL server, the pathological shell inputs)."""
