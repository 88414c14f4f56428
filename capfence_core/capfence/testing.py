"""Test helpers for adapter authors: fixtures and the adapter contract suite.

Subclass :class:`AdapterContract` in your adapter's tests and implement the
three hooks (``make_tool``, ``call``, ``describe``); every test below then
runs against your framework::

    class TestMyAdapter(AdapterContract):
        framework = "myframework"
        entry_points = ("run", "arun")

        def make_tool(self, body):
            return MyTool(name="probe", description="Probe tool.", fn=lambda command: body(command=command))

        def call(self, tool, entry_point, payload):
            return getattr(tool, entry_point)(**payload)

        def describe(self, tool):
            return {"name": tool.name, "description": tool.description, "schema": tool.schema()}

The suite checks that wrapping keeps the tool's kind, name, description and
argument schema; that the caller's tool is not modified; that a deny never
runs the body while warn does, through *every* entry point; that each call
leaves exactly one decision record carrying the framework and tool name;
that an exception inside the gate denies; and that copies of a gated tool
(``copy.copy``, ``copy.deepcopy``; override ``copies``) are still gated.

Four more checks need a hook each, because how to provoke them is the
framework's own business (each is skipped, saying so, when the hook is not
implemented):

* ``make_defaulted_tool``: the policy decides the arguments the body is
  really called with, the tool's defaults applied;
* ``run_rewritten``: arguments rewritten after CapFence's decision (by a
  later middleware or hook) are decided again, never run on the stale decision;
* ``conversions``: every copy/convert/export API of the framework's tool type
  gives a tool that is still gated, or refuses;
* ``call_with_id``: a framework that runs one call id twice gets two
  decision records, one per execution.

:class:`Script` is the framework-neutral part of a scripted model (a stand-in
LLM for examples, docs and tests): the replies, which one comes next, and
:class:`ScriptExhausted` when they run out. Each adapter's scripted model
(``capfence_langchain.testing.ScriptedChatModel``, ``capfence_llamaindex.testing.ScriptedLLM``,
``capfence_crewai.testing.ScriptedLLM``) wraps one and turns its replies into
its framework's messages.

Importing this module does not import pytest (an example that only plays a
script runs without it): the ``capfence_runtime`` fixture is built on first use.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import sqlite3
import textwrap
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Generic, NoReturn, TypeVar

from capfence.call.runtime import ActionRuntime
from capfence.call.tool import CapFenceTool
from capfence.errors import AuditError, CapFenceError

CONTRACT_POLICY = """
deny:
  - id: no-forbidden
    capability: probe.run
    contains: forbidden
warn:
  - id: observe-probe
    capability: probe.run
"""

Body = Callable[..., str]


def audit_rows(path: str | Path, kind: str = "decision") -> list[dict[str, Any]]:
    """Every audit record of ``kind`` in the SQLite log at ``path``, oldest first."""
    if not Path(path).exists():
        return []
    conn = sqlite3.connect(f"file:{Path(path).absolute()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM records WHERE kind = ? ORDER BY seq", (kind,))]
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def _capfence_runtime(tmp_path: Path) -> Iterator[ActionRuntime]:
    """A runtime on :data:`CONTRACT_POLICY` with its audit log in ``tmp_path``."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(CONTRACT_POLICY))
    runtime = ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db")
    yield runtime
    runtime.close()


@functools.cache
def _runtime_fixture() -> Any:
    import pytest

    return pytest.fixture(name="capfence_runtime")(_capfence_runtime)


def __getattr__(name: str) -> Any:
    """``capfence_runtime``: the pytest fixture of a runtime on :data:`CONTRACT_POLICY` (import it into a conftest)."""
    if name == "capfence_runtime":
        return _runtime_fixture()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _skip(reason: str) -> NoReturn:
    __tracebackhide__ = True  # the skip is reported at the contract test that asked for it
    import pytest

    pytest.skip(reason)


class _ExplodingGate:
    """A :class:`~capfence.contracts.Gate` whose every decision raises."""

    environment = None
    approver = None

    @property
    def approvals(self) -> Any:
        raise AuditError("this gate keeps no approval queue")

    def decide(self, view: object) -> Any:
        raise RuntimeError("injected gate fault")

    def record_outcome(self, *args: object, **kwargs: object) -> None:
        return None


def resolve(value: Any) -> Any:
    """Run a coroutine to completion; pass anything else through."""
    if inspect.isawaitable(value):

        async def wait() -> Any:
            return await value

        return asyncio.run(wait())
    return value


class AdapterContract:
    """The behaviour every CapFence adapter must have. See the module docstring."""

    framework: str = ""
    entry_points: tuple[str, ...] = ()
    capability = "probe.run"

    # --- to implement -----------------------------------------------------------
    def make_tool(self, body: Body) -> Any:
        """A framework tool named ``probe`` taking one string argument ``command`` and returning ``body(command=...)``."""
        raise NotImplementedError

    def call(self, tool: Any, entry_point: str, payload: dict[str, Any]) -> Any:
        """Call ``tool`` through ``entry_point`` with ``payload``; may return an awaitable."""
        raise NotImplementedError

    def describe(self, tool: Any) -> dict[str, Any]:
        """What the model sees: name, description and argument schema."""
        raise NotImplementedError

    def copies(self, tool: Any) -> list[Any]:
        """Copies a framework may make of a gated tool; each must still be gated (override if one cannot be made)."""
        return [copy.copy(tool), copy.deepcopy(tool)]

    def make_defaulted_tool(self, body: Body) -> Any:
        """A tool named ``probe`` taking ``command: str`` and ``target: str = "forbidden default"``, returning
        ``body(command=f"{command} {target}")``; return ``NotImplemented`` if the framework has no argument defaults."""
        return NotImplemented

    def run_rewritten(self, tool: Any, decided: dict[str, Any], actual: dict[str, Any]) -> Any:
        """Have the framework decide a call of the gated ``tool`` with ``decided``, then let a layer that runs after
        CapFence's (a later middleware, a hook) change the arguments to ``actual`` before the tool runs. Return what
        the call returned (or raise what it raised); ``NotImplemented`` if the framework has no such layer."""
        return NotImplemented

    def conversions(self, tool: Any) -> dict[str, Callable[[dict[str, Any]], Any]]:
        """Every copy/convert/export API of the framework's tool type, applied to the gated ``tool``: the name of
        the API -> a function that converts ``tool`` that way and calls the result with the payload. A conversion
        may instead refuse (raise ``CapFenceError``/``TypeError`` naming CapFence)."""
        return {}

    def call_with_id(self, tool: Any, payload: dict[str, Any], call_id: str) -> Any:
        """Call ``tool`` with ``payload`` under the framework's tool-call id ``call_id``; ``NotImplemented`` if it has none."""
        return NotImplemented

    def is_block_result(self, result: Any) -> bool:
        """Whether a returned value is the framework's 'blocked' result (for entry points that do not raise)."""
        return "CapFence deny" in str(result) or "CapFence require_approval" in str(result)

    # --- helpers ----------------------------------------------------------------
    def wrap(self, tool: Any, gate: Any) -> Any:
        return CapFenceTool(tool=tool, agent_id="contract-agent", capability=self.capability, gate=gate)

    def invoke(self, tool: Any, entry_point: str, command: str) -> tuple[bool, Any]:
        """``(raised_block, result)`` for one call."""
        try:
            return False, resolve(self.call(tool, entry_point, {"command": command}))
        except (CapFenceError, PermissionError) as exc:
            return True, exc
        except Exception as exc:
            if "CapFence" in str(exc):
                return True, exc
            raise

    @staticmethod
    def recorder() -> tuple[list[str], Body]:
        ran: list[str] = []

        def body(command: str) -> str:
            ran.append(command)
            return f"ran {command}"

        return ran, body

    # --- the contract -------------------------------------------------------------
    def test_wrapping_preserves_kind_and_schema(self, capfence_runtime: ActionRuntime) -> None:
        _, body = self.recorder()
        tool = self.make_tool(body)
        wrapped = self.wrap(tool, capfence_runtime)
        assert isinstance(wrapped, type(tool))
        assert self.describe(wrapped) == self.describe(tool)

    def test_original_tool_is_not_modified(self, capfence_runtime: ActionRuntime) -> None:
        ran, body = self.recorder()
        tool = self.make_tool(body)
        before = type(tool)
        self.wrap(tool, capfence_runtime)
        assert type(tool) is before
        raised, _ = self.invoke(tool, self.entry_points[0], "forbidden thing")
        assert not raised and ran == ["forbidden thing"], "the caller's own tool must stay ungated"

    def test_deny_never_runs_the_body(self, capfence_runtime: ActionRuntime) -> None:
        for entry_point in self.entry_points:
            ran, body = self.recorder()
            wrapped = self.wrap(self.make_tool(body), capfence_runtime)
            raised, result = self.invoke(wrapped, entry_point, "forbidden thing")
            assert ran == [], f"{entry_point}: the body ran despite deny"
            assert raised or self.is_block_result(result), (
                f"{entry_point}: a blocked call must raise or return the block result, got {result!r}"
            )

    def test_warn_runs_the_body(self, capfence_runtime: ActionRuntime) -> None:
        for entry_point in self.entry_points:
            ran, body = self.recorder()
            wrapped = self.wrap(self.make_tool(body), capfence_runtime)
            raised, result = self.invoke(wrapped, entry_point, "ls")
            assert not raised, f"{entry_point}: warn must not block ({result!r})"
            assert ran == ["ls"], f"{entry_point}: warn must run the body exactly once"

    def test_every_entry_point_writes_one_decision(self, capfence_runtime: ActionRuntime) -> None:
        for entry_point in self.entry_points:
            _, body = self.recorder()
            wrapped = self.wrap(self.make_tool(body), capfence_runtime)
            before = len(audit_rows(capfence_runtime.audit_log))
            self.invoke(wrapped, entry_point, f"echo {entry_point}")
            rows = audit_rows(capfence_runtime.audit_log)[before:]
            assert len(rows) == 1, f"{entry_point}: expected one decision record, got {len(rows)}"
            assert rows[0]["framework"] == self.framework
            assert rows[0]["tool"] == self.describe(wrapped)["name"]
            assert rows[0]["agent_id"] == "contract-agent"
            assert rows[0]["decision"] == "warn"
            assert f"echo {entry_point}" in rows[0]["payload"]

    def test_gate_exception_denies(self) -> None:
        for entry_point in self.entry_points:
            ran, body = self.recorder()
            wrapped = self.wrap(self.make_tool(body), _ExplodingGate())
            raised, result = self.invoke(wrapped, entry_point, "ls")
            assert ran == [], f"{entry_point}: a failing gate must not run the body"
            assert raised or self.is_block_result(result)

    def test_copies_stay_gated(self, capfence_runtime: ActionRuntime) -> None:
        ran, body = self.recorder()
        wrapped = self.wrap(self.make_tool(body), capfence_runtime)
        for twin in self.copies(wrapped):
            raised, result = self.invoke(twin, self.entry_points[0], "forbidden thing")
            assert ran == [], "a copy of a gated tool ran a denied call"
            assert raised or self.is_block_result(result)

    def test_defaults_are_decided(self, capfence_runtime: ActionRuntime) -> None:
        """The policy sees the arguments the body is called with: an omitted argument's default included."""
        ran, body = self.recorder()
        tool = self.make_defaulted_tool(body)
        if tool is NotImplemented:
            _skip("this adapter's framework has no argument defaults (make_defaulted_tool)")
        wrapped = self.wrap(tool, capfence_runtime)
        for entry_point in self.entry_points:
            raised, result = self.invoke(wrapped, entry_point, "ls")
            assert ran == [], f"{entry_point}: ran with a default the policy never saw"
            assert raised or self.is_block_result(result)
            last = audit_rows(capfence_runtime.audit_log)[-1]
            assert last["decision"] == "deny" and "forbidden default" in last["payload"], last

    def test_rewritten_arguments_are_decided_again(self, capfence_runtime: ActionRuntime) -> None:
        """Arguments changed after the decision are decided again (a new record), never run on the stale decision."""
        ran, body = self.recorder()
        wrapped = self.wrap(self.make_tool(body), capfence_runtime)
        try:
            result = self.run_rewritten(wrapped, {"command": "ls"}, {"command": "forbidden thing"})
        except (CapFenceError, PermissionError):
            result = None
        if result is NotImplemented:
            _skip("this adapter's framework has no layer that runs after the decision (run_rewritten)")
        assert "forbidden thing" not in ran, "the body ran with arguments that were never decided"
        rows = audit_rows(capfence_runtime.audit_log)
        assert any(r["decision"] == "deny" and "forbidden thing" in r["payload"] for r in rows), (
            "the rewrite was not decided"
        )

    def test_conversions_stay_gated(self, capfence_runtime: ActionRuntime) -> None:
        ran, body = self.recorder()
        wrapped = self.wrap(self.make_tool(body), capfence_runtime)
        conversions = self.conversions(wrapped)
        if not conversions:
            _skip("this adapter lists no conversions (conversions)")
        for name, convert_and_call in conversions.items():
            try:
                result = resolve(convert_and_call({"command": "forbidden thing"}))
            except Exception as exc:  # noqa: BLE001 - a refusal or a block, as long as it is CapFence's
                assert isinstance(exc, CapFenceError | PermissionError) or "CapFence" in str(exc), (
                    f"{name}: unexpected {exc!r}"
                )
            else:
                assert self.is_block_result(result), f"{name}: gave {result!r}"
            assert ran == [], f"{name}: the converted tool ran a denied call"

    def test_a_reused_call_id_is_two_executions(self, capfence_runtime: ActionRuntime) -> None:
        ran, body = self.recorder()
        wrapped = self.wrap(self.make_tool(body), capfence_runtime)
        before = len(audit_rows(capfence_runtime.audit_log))
        first = self.call_with_id(wrapped, {"command": "ls"}, "call-1")
        if first is NotImplemented:
            _skip("this adapter's framework has no tool-call ids (call_with_id)")
        resolve(first)
        resolve(self.call_with_id(wrapped, {"command": "ls"}, "call-1"))
        assert ran == ["ls", "ls"]
        rows = audit_rows(capfence_runtime.audit_log)[before:]
        assert len(rows) == 2 and rows[0]["seq"] != rows[1]["seq"], (
            "two executions must have two decision records"
        )


ReplyT = TypeVar("ReplyT")
"""What one scripted turn is in a framework (an ``AIMessage``, a ``ChatMessage``, a text, ...)."""
ConversationT = TypeVar("ConversationT")
"""The conversation a scripted model is sent, as its framework has it (a list of messages)."""


class ScriptExhausted(RuntimeError):
    """The model was called once more than its script has replies (and it has no ``final`` reply)."""


class Script(Generic[ReplyT, ConversationT]):
    """A scripted model's replies, one per call of the model, in order; the framework-neutral part of every
    adapter's scripted model.

    ``Script(replies, final=None)``: each reply is a ``ReplyT`` or a function of the conversation so far that
    returns one (for an answer that depends on what the tools returned). :meth:`next` gives the next reply,
    the conversation it was asked with recorded in :attr:`prompts`. Once the replies are played, :meth:`next`
    gives ``final`` if it is set and raises :class:`ScriptExhausted` otherwise, so a run that asks the model
    more often than the script expects fails loudly. Thread-safe: sync and async calls share one script.
    """

    def __init__(
        self,
        replies: Iterable[ReplyT | Callable[[ConversationT], ReplyT]] = (),
        final: ReplyT | Callable[[ConversationT], ReplyT] | None = None,
        *,
        model: str = "model",
    ) -> None:
        self.replies = list(replies)
        self.final = final
        self.model = model
        """What the model is called in :class:`ScriptExhausted`'s message ("model", "LLM")."""
        self.prompts: list[ConversationT] = []
        """Every conversation the model was sent, in order."""
        self._position = 0
        self._lock = threading.Lock()

    @property
    def turns(self) -> int:
        """How many replies the model has given."""
        return self._position

    def rewind(self) -> None:
        """Play the script again from its first reply (the recorded prompts are kept)."""
        with self._lock:
            self._position = 0

    def next(self, conversation: ConversationT) -> tuple[ReplyT, int]:
        """The reply to ``conversation`` (a function reply called with it) and its turn, counted from 1."""
        with self._lock:
            self.prompts.append(conversation)
            turn = self._position
            if turn < len(self.replies):
                reply = self.replies[turn]
            elif self.final is not None:
                reply = self.final
            else:
                raise ScriptExhausted(
                    f"the scripted {self.model} was called {turn + 1} times "
                    f"but its script has {len(self.replies)} replies"
                )
            self._position = turn + 1
        return (reply(conversation) if callable(reply) else reply), turn + 1


class PlaysScript:
    """What every adapter's scripted model says about its script: a mixin over the :class:`Script` in ``_play``.

    The model sets ``self._play`` when it is built (a pydantic private attribute, say) and calls
    ``self._play.next(conversation)`` for each reply; this gives it :attr:`script`, :attr:`final`,
    :attr:`turns` and :meth:`rewind`.
    """

    _play: Script[Any, Any]

    @property
    def script(self) -> list[Any]:
        """The replies, in order."""
        return self._play.replies

    @property
    def final(self) -> Any:
        """The reply once the script is played (None: :class:`ScriptExhausted`)."""
        return self._play.final

    @property
    def turns(self) -> int:
        """How many replies the model has given."""
        return self._play.turns

    def rewind(self) -> None:
        """Play the script again from its first reply (the recorded prompts are kept)."""
        self._play.rewind()
