"""The plugin system: built-ins are plugins, external plugins load through entry points, bad ones are skipped."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import capfence
from capfence import ActionRuntime, CapFenceTool, PolicyError
from capfence.plugins import DEFAULT_PLUGINS, PluginWarning, Registry, build_registry
from capfence.policy.loader import load_policy
from tests.support.audit import audit_rows
from tests.support.paths import POLICIES

CONDITION_PLUGIN = """
import capfence
from capfence.policy.spec import ConditionType, SpecError


def _compile(value, context):
    if not isinstance(value, int):
        raise SpecError("min_keys must be an integer")
    return lambda view: len(view.payload) >= value


@capfence.hookimpl
def capfence_register_matchers(register):
    register(ConditionType("min_keys", _compile, "payload has at least N keys", "min_keys: 3"))
"""

ADAPTER_PLUGIN = """
import capfence


class Widget:
    def __init__(self):
        self.runs = []

    def run(self, text):
        self.runs.append(text)
        return "widget ran " + text


def _wrap(widget, binding):
    class Gated(Widget):
        def run(self, text):
            return binding.call(id(self), {"text": text}, lambda: widget.run(text))

    gated = Gated.__new__(Gated)
    gated.__dict__ = widget.__dict__
    return gated


@capfence.hookimpl
def capfence_register_adapters(register):
    register(capfence.Adapter("widget", "widgets", lambda obj: isinstance(obj, Widget), _wrap, priority=10))
"""

RAISING_PLUGIN = """
import capfence


@capfence.hookimpl
def capfence_register_matchers(register):
    raise RuntimeError("plugin exploded while registering")
"""

BROKEN_IMPORT_PLUGIN = """
raise ImportError("this plugin cannot even be imported")
"""

INVALID_HOOK_PLUGIN = """
import capfence


@capfence.hookimpl
def capfence_on_decision(call, decision, surprise):
    pass
"""


def test_builtins_are_registered_like_plugins() -> None:
    registry = build_registry(entry_points=False)
    pm = registry.manager
    assert DEFAULT_PLUGINS == ("capfence.builtin_plugin",)
    import capfence.plugins.builtin as builtin

    assert pm.get_plugin("capfence.builtin_plugin") is builtin
    info = registry.plugins["capfence.builtin_plugin"]
    assert info.distribution == "capfence"
    for thing in (
        "condition contains",
        "condition agent",
        "condition args",
        "condition path",
        "adapter callable",
        "audit store sqlite",
    ):
        assert thing in info.registered
    assert {"contains", "agent", "tool", "environment", "args", "path"} <= set(registry.conditions)
    assert registry.adapters[-1].name == "callable"  # the generic adapter is asked last


def test_external_condition_plugin(
    install_plugin: Callable[[str, str], None], runtime: Callable[..., ActionRuntime]
) -> None:
    install_plugin("capfence_test_minkeys", CONDITION_PLUGIN)
    registry = build_registry()
    assert registry.plugins["capfence_test_minkeys"].distribution == "capfence_test_minkeys"
    assert registry.plugins["capfence_test_minkeys"].registered == ["condition min_keys"]

    rt = runtime("deny:\n  - capability: '*'\n    min_keys: 2\nallow:\n  - capability: '*'\n")
    assert rt.evaluate("x", {"a": 1, "b": 2}, agent_id="a").action == "deny"
    assert rt.evaluate("x", {"a": 1}, agent_id="a").action == "allow"


def test_external_adapter_wins_over_generic_callable(
    install_plugin: Callable[[str, str], None], runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    install_plugin("capfence_test_widgets", ADAPTER_PLUGIN)
    import capfence_test_widgets

    rt = runtime("deny:\n  - capability: w.run\n    contains: bad\nallow:\n  - capability: '*'\n")
    widget = capfence_test_widgets.Widget()
    safe = CapFenceTool(tool=widget, agent_id="a", capability="w.run", gate=rt)
    assert isinstance(safe, capfence_test_widgets.Widget)
    assert safe.run("good") == "widget ran good"
    with pytest.raises(capfence.ToolCallDenied):
        safe.run("bad")
    assert widget.runs == ["good"]
    assert [r["framework"] for r in audit_rows(tmp_path / "audit.db", "decision")] == ["widgets", "widgets"]


def test_block_plugins_env(
    install_plugin: Callable[[str, str], None],
    monkeypatch: pytest.MonkeyPatch,
    write_policy: Callable[..., Path],
) -> None:
    install_plugin("capfence_test_minkeys", CONDITION_PLUGIN)
    policy = write_policy("deny:\n  - capability: '*'\n    min_keys: 2\n")
    assert load_policy(policy, build_registry().conditions).rules  # loads while the plugin is allowed

    monkeypatch.setenv("CAPFENCE_BLOCK_PLUGINS", " other , capfence_test_minkeys ")
    registry = build_registry()
    assert "capfence_test_minkeys" not in registry.plugins
    with pytest.raises(PolicyError, match="min_keys: unknown rule key"):
        load_policy(policy, registry.conditions)


def test_block_builtin_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPFENCE_BLOCK_PLUGINS", "capfence.builtin_plugin")
    registry = build_registry(entry_points=False)
    assert not registry.manager.has_plugin("capfence.builtin_plugin")
    assert registry.conditions == {} and registry.adapters == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            RAISING_PLUGIN,
            "raised in capfence_register_matchers and was skipped: plugin exploded while registering",
        ),
        (
            BROKEN_IMPORT_PLUGIN,
            "failed to load and was skipped: ImportError: this plugin cannot even be imported",
        ),
        (INVALID_HOOK_PLUGIN, "is invalid and was skipped"),
    ],
    ids=["raises-in-hook", "fails-to-import", "invalid-hookimpl"],
)
def test_bad_plugin_is_skipped_with_a_warning(
    source: str,
    message: str,
    install_plugin: Callable[[str, str], None],
    runtime: Callable[..., ActionRuntime],
) -> None:
    install_plugin("capfence_test_bad", source)
    with pytest.warns(PluginWarning) as caught:
        registry = build_registry()
    texts = [str(w.message) for w in caught]
    assert any("'capfence_test_bad'" in t and message in t for t in texts), texts
    assert "capfence_test_bad" not in registry.plugins or not registry.plugins["capfence_test_bad"].registered
    assert "contains" in registry.conditions  # the core still works
    rt = runtime(
        "deny:\n  - capability: '*'\n    contains: curl\nallow:\n  - capability: '*'\n", plugins=registry
    )
    assert rt.evaluate("x", {"c": "curl"}, agent_id="a").action == "deny"
    assert rt.evaluate("x", {"c": "ls"}, agent_id="a").action == "allow"


def test_duplicate_condition_key_keeps_the_first(install_plugin: Callable[[str, str], None]) -> None:
    install_plugin(
        "capfence_test_dup", CONDITION_PLUGIN.replace('"min_keys", _compile', '"contains", _compile')
    )
    with pytest.warns(PluginWarning, match="registers condition 'contains', which already exists"):
        registry = build_registry()
    from capfence.policy.conditions import BUILTIN_CONDITIONS

    kept = registry.conditions["contains"]
    assert kept.compile is BUILTIN_CONDITIONS[0].compile and kept.plugin == "capfence.builtin_plugin"


# --- every hook is called through pluggy ------------------------------------------------


class Recorder:
    """Observers of ``capfence_on_decision`` in every form pluggy offers, writing what they see into one list."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int | None]] = []


class PlainObserver:
    def __init__(self, recorder: Recorder, label: str = "plain") -> None:
        self.recorder, self.label = recorder, label

    @capfence.hookimpl
    def capfence_on_decision(self, call: capfence.CallView, decision: capfence.Decision) -> None:
        self.recorder.calls.append((self.label, decision.action, decision.record_id))


class FirstObserver(PlainObserver):
    @capfence.hookimpl(tryfirst=True)
    def capfence_on_decision(self, call: capfence.CallView, decision: capfence.Decision) -> None:
        self.recorder.calls.append(("tryfirst", decision.action, decision.record_id))


class LastObserver(PlainObserver):
    @capfence.hookimpl(trylast=True)
    def capfence_on_decision(self, call: capfence.CallView, decision: capfence.Decision) -> None:
        self.recorder.calls.append(("trylast", decision.action, decision.record_id))


class NewStyleWrapper(PlainObserver):
    @capfence.hookimpl(wrapper=True)
    def capfence_on_decision(self, call: capfence.CallView, decision: capfence.Decision) -> Iterator[None]:
        self.recorder.calls.append(("wrapper before", decision.action, decision.record_id))
        results = yield
        self.recorder.calls.append(("wrapper after", decision.action, decision.record_id))
        return results


class OldStyleWrapper(PlainObserver):
    @capfence.hookimpl(hookwrapper=True)
    def capfence_on_decision(self, call: capfence.CallView, decision: capfence.Decision) -> Iterator[None]:
        self.recorder.calls.append(("hookwrapper before", call.capability, decision.record_id))
        outcome = yield
        outcome.get_result()  # type: ignore[attr-defined] # pluggy sends a Result
        self.recorder.calls.append(("hookwrapper after", decision.action, decision.record_id))


def test_on_decision_runs_through_pluggy(plugins: Registry, runtime: Callable[..., ActionRuntime]) -> None:
    """Wrappers of both styles run around the plain observers; tryfirst/trylast order them; all see the audited decision."""
    recorder = Recorder()
    manager = plugins.manager
    for observer in (
        LastObserver(recorder),
        OldStyleWrapper(recorder),
        PlainObserver(recorder),
        NewStyleWrapper(recorder),
        FirstObserver(recorder),
    ):
        manager.register(observer)
    rt = runtime("allow:\n  - capability: '*'\n", plugins=plugins)

    decision = rt.evaluate("x.y", {}, agent_id="a")

    seq = decision.record_id
    assert seq is not None
    assert recorder.calls == [
        ("wrapper before", "allow", seq),  # registered last of the two wrappers: called first
        ("hookwrapper before", "x.y", seq),
        ("tryfirst", "allow", seq),
        ("plain", "allow", seq),
        ("trylast", "allow", seq),
        ("hookwrapper after", "allow", seq),
        ("wrapper after", "allow", seq),
    ]


def test_observer_registered_after_the_runtime_is_told(runtime: Callable[..., ActionRuntime]) -> None:
    recorder = Recorder()
    rt = runtime("allow:\n  - capability: '*'\n")
    rt.plugins.manager.register(NewStyleWrapper(recorder))
    decision = rt.evaluate("x.y", {}, agent_id="a")
    assert recorder.calls == [
        ("wrapper before", "allow", decision.record_id),
        ("wrapper after", "allow", decision.record_id),
    ]


WRAPPING_MATCHERS_PLUGIN = """
import capfence


@capfence.hookimpl(wrapper=True)
def capfence_register_matchers(register):
    return (yield)
"""


def test_wrapper_of_a_registration_hook_is_refused(install_plugin: Callable[[str, str], None]) -> None:
    install_plugin("capfence_test_wrapping", WRAPPING_MATCHERS_PLUGIN)
    refused = r"'capfence_test_wrapping' is invalid and was skipped: .*capfence_register_matchers cannot be a wrapper"
    with pytest.warns(PluginWarning, match=refused):
        registry = build_registry()
    assert "capfence_test_wrapping" not in registry.plugins
    assert not registry.manager.has_plugin("capfence_test_wrapping")
    assert "contains" in registry.conditions


class CommandsHookwrapper:
    @capfence.hookimpl(hookwrapper=True)
    def capfence_register_commands(self, cli: object) -> Iterator[None]:
        yield


def test_wrapper_registered_directly_is_refused_with_a_clear_error(plugins: Registry) -> None:
    import pluggy

    manager = plugins.manager
    plugin = CommandsHookwrapper()
    with pytest.raises(pluggy.PluginValidationError, match="capfence_register_commands cannot be a wrapper"):
        manager.register(plugin, name="wrapping-commands")
    assert not manager.has_plugin("wrapping-commands") and not manager.is_registered(plugin)


def test_plugin_commands_are_called_through_pluggy(install_plugin: Callable[[str, str], None]) -> None:
    """Hook-call monitoring (pluggy's tracing) sees the call: nothing calls implementations behind pluggy's back."""
    from capfence.cli.group import LazyGroup

    install_plugin(
        "capfence_test_commands",
        "import capfence\n\n@capfence.hookimpl\ndef capfence_register_commands(cli):\n    pass\n",
    )
    seen: list[tuple[str, list[str]]] = []
    plugins = build_registry()
    undo = plugins.manager.add_hookcall_monitoring(
        lambda name, impls, kwargs: seen.append((name, [impl.plugin_name for impl in impls])),
        lambda *args: None,
    )
    try:
        LazyGroup(name="capfence").load_plugin_commands(plugins)
    finally:
        undo()
    assert [name for name, _ in seen] == ["capfence_register_commands"]
    assert "capfence_test_commands" in seen[0][1]


# --- the public surface ------------------------------------------------------------

PUBLIC_API = [
    "ActionRuntime",
    "Adapter",
    "ApprovalRequired",
    "AuditError",
    "Binding",
    "CallView",
    "CapFenceError",
    "CapFenceTool",
    "CompileContext",
    "ConditionType",
    "Decision",
    "PolicyError",
    "PolicyProblem",
    "SpecError",
    "ToolCallDenied",
    "hookimpl",
]


def test_public_api_is_pinned() -> None:
    """Adding or removing a public name is a deliberate act: update this list with it."""
    assert sorted(capfence.__all__) == capfence.__all__ == PUBLIC_API
    for name in capfence.__all__:
        assert getattr(capfence, name) is not None
    assert issubclass(capfence.ToolCallDenied, PermissionError)
    assert issubclass(capfence.ApprovalRequired, capfence.ToolCallDenied)
    assert issubclass(capfence.PolicyError, capfence.CapFenceError)
    with pytest.raises(AttributeError):
        capfence.NotAThing  # noqa: B018


HEAVY = ("langchain", "langchain_core", "llama_index", "crewai", "rich")

IMPORT_PROBE = """
import json, sys
{body}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))))
"""


@pytest.mark.parametrize(
    "body",
    [
        "import capfence",
        "from capfence import *",
        (
            "from capfence import ActionRuntime, CapFenceTool\n"
            "rt = ActionRuntime.from_policy(sys.argv[1], audit_log=sys.argv[2])\n"
            "CapFenceTool(tool=lambda command: command, agent_id='a', capability='shell.execute', gate=rt)(command='ls')"
        ),
    ],
    ids=["import", "star-import", "evaluate-and-call"],
)
def test_import_does_not_pull_frameworks(body: str, tmp_path: Path) -> None:
    probe = IMPORT_PROBE.format(body=body, heavy=HEAVY)
    policy = POLICIES / "shell_rollout.yaml"
    out = subprocess.run(
        [sys.executable, "-c", probe, str(policy), str(tmp_path / "a.db")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == [], out.stdout
