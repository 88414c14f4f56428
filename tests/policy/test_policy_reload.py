"""Hot reload never takes a half-written policy: a change is loaded only once its files are stable.

The writer is a real subprocess rewriting the policy *in place* in 20-byte
chunks with short pauses, the way some editors save; meanwhile a thread
evaluates calls without pause. Every decision must come from the old policy
or the new one, never from a truncated file that happened to be valid YAML.
Every wait is on a condition with a generous bound, never a fixed window.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from capfence import ActionRuntime, Decision
from capfence.policy.snapshot import Snapshot
from capfence.policy.watch import PolicyWatcher
from tests.support.audit import audit_rows
from tests.support.loading import load_policy
from tests.support.waiting import PATIENCE, wait_for

FAST = {"reload_interval": 0.02, "reload_settle": 1.0}
"""Check often, so a half-written file would be seen many times; settle well above the writer's pauses."""

OLD = """\
# the policy in force before the edit
deny:
  - id: no-rm
    capability: shell.execute
    contains: rm -rf
  - id: no-curl
    capability: shell.execute
    contains: curl
allow:
  - id: everything
    capability: "*"
"""


def new_policy(deny: str = "    contains: rm -rf\n") -> str:
    """Denies ``rm -rf`` like OLD, but the deny section comes last: most of its prefixes allow everything."""
    warns = "".join(
        f"  - id: watch-{i}\n    capability: net.fetch\n    contains: example-{i}.test\n" for i in range(12)
    )
    head = '# the new policy\nallow:\n  - id: everything\n    capability: "*"\n'
    return f"{head}warn:\n{warns}deny:\n  - id: no-rm\n    capability: shell.execute\n{deny}"


NEW = new_policy()
NEW_INVALID = new_policy(deny="    contians: rm -rf\n")

WRITER = r"""
import os, sys, time
path, pause, unlink = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1"
data = sys.stdin.buffer.read()
if unlink:
    os.unlink(path)
    time.sleep(pause * 5)
with open(path, "wb") as out:  # in place: truncate, then write 20 bytes at a time
    for i in range(0, len(data), 20):
        out.write(data[i:i + 20])
        out.flush()
        time.sleep(pause)
"""


def rewrite_in_place(path: Path, text: str, *, unlink: bool = False, pause: float = 0.01) -> None:
    """A slow editor in another process: well over the reload interval from first byte to last."""
    subprocess.run(
        [sys.executable, "-c", WRITER, str(path), str(pause), "1" if unlink else "0"],
        input=text.encode(),
        check=True,
        timeout=PATIENCE,
    )


def replace_atomically(path: Path, text: str) -> None:
    """The recommended way: write a temporary file in the same directory, then rename it over the policy."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def digest_of(text: str, tmp_path: Path, base: str | None = None) -> str:
    """The digest of the policy ``text`` (extending ``base``), loaded from a scratch directory."""
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    (scratch / "policy.yaml").write_text(text, encoding="utf-8")
    if base is not None:
        (scratch / "base.yaml").write_text(base, encoding="utf-8")
    return load_policy(scratch / "policy.yaml").digest


def reload_failed(tmp_path: Path) -> bool:
    return bool(audit_rows(tmp_path / "audit.db", "policy_reload_failed"))


class Caller:
    """A thread evaluating ``rm -rf /`` (denied by the old and the new policy) as fast as it can."""

    def __init__(self, rt: ActionRuntime) -> None:
        self.rt, self.decisions = rt, list[Decision]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.decisions.append(self.rt.evaluate("shell.execute", {"command": "rm -rf /"}, agent_id="a"))

    def digests(self) -> set[str | None]:
        return {d.policy_digest for d in list(self.decisions)}

    def __enter__(self) -> Caller:
        self._thread.start()
        wait_for(lambda: len(self.decisions) > 3, "the caller's first decisions")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(PATIENCE)


@pytest.fixture
def caller() -> Iterator[Callable[[ActionRuntime], Caller]]:
    def make(rt: ActionRuntime) -> Caller:
        return Caller(rt)

    yield make


def only_old_and_new(decisions: list[Decision], old: str, new: str) -> None:
    foreign = {(d.action, d.rule, d.policy_digest) for d in decisions if d.policy_digest not in (old, new)}
    assert not foreign, f"decided by a policy that is neither the old nor the new one: {foreign}"
    assert {(d.action, d.rule) for d in decisions} == {("deny", "no-rm")}


# --- a slow in-place rewrite ----------------------------------------------------------


@pytest.mark.parametrize("unlink", [False, True], ids=["truncate-and-write", "delete-and-write"])
def test_slow_in_place_rewrite_never_loads_a_partial_policy(
    runtime: Callable[..., ActionRuntime],
    caller: Callable[[ActionRuntime], Caller],
    tmp_path: Path,
    unlink: bool,
) -> None:
    rt = runtime(OLD, **FAST)
    old, new = rt.policy.digest, digest_of(NEW, tmp_path)
    with caller(rt) as calls:
        rewrite_in_place(tmp_path / "policy.yaml", NEW, unlink=unlink)
        wait_for(lambda: new in calls.digests(), "the new policy")
    only_old_and_new(calls.decisions, old, new)
    # half-written states are not even reported
    assert audit_rows(tmp_path / "audit.db", "policy_reload_failed") == []


def test_slow_rewrite_of_an_extended_file_never_loads_a_partial_policy(
    runtime: Callable[..., ActionRuntime],
    caller: Callable[[ActionRuntime], Caller],
    write_policy: Callable[..., Path],
    tmp_path: Path,
) -> None:
    write_policy(OLD, "base.yaml")
    rt = runtime("extends: base.yaml\n", **FAST)
    old, new = rt.policy.digest, digest_of("extends: base.yaml\n", tmp_path, base=NEW)
    with caller(rt) as calls:
        rewrite_in_place(tmp_path / "base.yaml", NEW)
        wait_for(lambda: new in calls.digests(), "the new policy")
    only_old_and_new(calls.decisions, old, new)
    assert audit_rows(tmp_path / "audit.db", "policy_reload_failed") == []


def test_slow_rewrite_to_an_invalid_policy_keeps_the_last_good_one(
    runtime: Callable[..., ActionRuntime],
    caller: Callable[[ActionRuntime], Caller],
    tmp_path: Path,
) -> None:
    rt = runtime(OLD, **FAST)
    old = rt.policy.digest
    with caller(rt) as calls:
        rewrite_in_place(tmp_path / "policy.yaml", NEW_INVALID)
        wait_for(lambda: reload_failed(tmp_path) or len(calls.digests()) > 1, "the reload failure")
    assert calls.digests() == {old}
    only_old_and_new(calls.decisions, old, old)
    failures = audit_rows(tmp_path / "audit.db", "policy_reload_failed")
    assert len(failures) == 1, [f["reason"] for f in failures]  # the final file, not the states on the way
    assert "contians" in failures[0]["reason"]


def test_a_file_emptied_is_not_loaded_as_an_empty_policy(
    runtime: Callable[..., ActionRuntime],
    caller: Callable[[ActionRuntime], Caller],
    tmp_path: Path,
) -> None:
    rt = runtime(OLD, **FAST)
    old = rt.policy.digest
    with caller(rt) as calls:
        (tmp_path / "policy.yaml").write_text("# being rewritten\n\n", encoding="utf-8")
        wait_for(lambda: reload_failed(tmp_path) or len(calls.digests()) > 1, "the reload failure")
    assert calls.digests() == {old}
    [failure] = audit_rows(tmp_path / "audit.db", "policy_reload_failed")
    assert "policy file is empty" in failure["reason"]


# --- atomic rename and a stable file --------------------------------------------------


def test_atomic_rename_reload(
    runtime: Callable[..., ActionRuntime], caller: Callable[[ActionRuntime], Caller], tmp_path: Path
) -> None:
    """The recommended way to update a policy is picked up, with the default interval and settle."""
    rt = runtime(OLD)
    old, new = rt.policy.digest, digest_of(NEW, tmp_path)
    with caller(rt) as calls:
        replace_atomically(tmp_path / "policy.yaml", NEW)
        wait_for(lambda: new in calls.digests(), "the new policy")
    only_old_and_new(calls.decisions, old, new)
    assert audit_rows(tmp_path / "audit.db", "policy_reload_failed") == []


def test_a_change_already_stable_is_taken_by_the_next_call(
    runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    """Calls far apart: a file unchanged for the settle interval (by its own change time) is loaded by the first call that sees it."""
    rt = runtime(OLD, reload_interval=0.05, reload_settle=0.2)
    path = tmp_path / "policy.yaml"
    replace_atomically(path, NEW)
    changed = max(
        os.stat(path).st_ctime_ns,
        os.stat(path).st_mtime_ns,
        os.stat(tmp_path).st_mtime_ns,
        os.stat(tmp_path).st_ctime_ns,
    )
    wait_for(
        lambda: time.time_ns() - changed > 0.3e9, "the file to be quiet for longer than the settle interval"
    )
    decision = rt.evaluate("shell.execute", {"command": "curl x"}, agent_id="a")
    assert (decision.action, decision.rule, decision.policy_digest) == (
        "allow",
        "everything",
        digest_of(NEW, tmp_path),
    )


def test_settling_does_not_block_evaluation(write_policy: Callable[..., Path], tmp_path: Path) -> None:
    """While a change settles, every check returns the last good policy at once; none waits for the settle interval."""
    path = write_policy(OLD)
    errors: list[Exception] = []
    watcher = PolicyWatcher(path, load_policy, errors.append, interval=0.01, settle=3600.0)
    old = watcher.policy
    replace_atomically(path, NEW)
    seen: list[object] = []

    def check() -> None:
        while not watcher.settling:
            seen.append(watcher.current())

    worker = threading.Thread(target=check, daemon=True)
    worker.start()
    worker.join(PATIENCE)  # a check that slept for the settle interval (an hour) would still be running
    assert not worker.is_alive()
    assert seen and all(policy is old for policy in seen)
    assert watcher.current() is old and watcher.settling and errors == []


def test_a_policy_is_built_from_the_bytes_that_were_read(write_policy: Callable[..., Path]) -> None:
    """What the watcher checked for stability is what it compiles: a later write on disk does not leak in."""
    path = write_policy(OLD)
    snapshot = Snapshot()
    snapshot.entry(path)
    path.write_text(NEW, encoding="utf-8")
    assert not snapshot.on_disk()
    assert [r.id for r in load_policy(path, files=snapshot).rules] == ["no-rm", "no-curl", "everything"]
