"""docs/plugins.md documents every hook, and its example plugin works.

The examples marked ``title="acme_capfence.py"`` in the guide are joined into
one module, installed as a real plugin (a distribution with a ``capfence``
entry point) and exercised: a forgotten or broken example fails here.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from capfence import hookspecs
from capfence.call.runtime import ActionRuntime
from capfence.plugins import build_registry
from tests.support.paths import ROOT

PLUGINS_MD = ROOT / "docs" / "plugins.md"
GUIDES = [PLUGINS_MD, ROOT / "docs" / "writing-an-adapter.md"]
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.S | re.M)

HOOKS = sorted(
    name
    for name in dir(hookspecs)
    if name.startswith("capfence_") and hasattr(getattr(hookspecs, name), "capfence_spec")
)


def sections(text: str) -> dict[str, str]:
    """``### `name` `` sections of the guide: name -> body."""
    parts = re.split(r"^### `([^`]+)`\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_hooks_are_found() -> None:
    assert "capfence_register_adapters" in HOOKS and "capfence_on_decision" in HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_an_example(hook: str) -> None:
    documented = sections(PLUGINS_MD.read_text(encoding="utf-8"))
    assert hook in documented, f"docs/plugins.md has no '### `{hook}`' section"
    body = documented[hook]
    assert f"`{hook}(" in body, "state the hook's signature"
    assert "```python" in body, "give an example"
    assert f"def {hook}(" in body, "the example implements the hook"


def test_no_documented_hook_that_does_not_exist() -> None:
    documented = [
        name for name in sections(PLUGINS_MD.read_text(encoding="utf-8")) if name.startswith("capfence_")
    ]
    assert sorted(documented) == HOOKS


def test_guides_mention_the_entry_point_group_and_blocking() -> None:
    text = PLUGINS_MD.read_text(encoding="utf-8")
    assert (
        "[project.entry-points.capfence]" in text
        and "CAPFENCE_BLOCK_PLUGINS" in text
        and "PluginWarning" in text
    )


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_python_examples_compile(guide: Path) -> None:
    for language, _, code in FENCE.findall(guide.read_text(encoding="utf-8")):
        if language == "python":
            compile(
                textwrap.dedent(code), f"{guide.name} example", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
            )


def example_plugin() -> str:
    blocks = [
        code
        for language, info, code in FENCE.findall(PLUGINS_MD.read_text(encoding="utf-8"))
        if language == "python" and 'title="acme_capfence.py"' in info
    ]
    assert len(blocks) >= 4
    return "\n\n".join(blocks)


def test_the_example_plugin_works(
    install_plugin: Callable[[str, str], None], write_policy: Callable[..., Path], tmp_path: Path
) -> None:
    install_plugin("acme_capfence", example_plugin())
    registry = build_registry()
    assert registry.plugins["acme_capfence"].registered == [
        "condition ticket",
        "audit store jsonl",
        "approver chatops",
    ]

    policy = write_policy("""
        allow:
          - capability: deploy.production
            ticket: "^OPS-[0-9]+$"
    """)
    log = tmp_path / "audit.jsonl"
    runtime = ActionRuntime.from_policy(policy, audit_log=f"jsonl://{log}", plugins=registry)
    assert runtime.evaluate("deploy.production", {"ticket": "OPS-12"}, agent_id="a").action == "allow"
    assert runtime.evaluate("deploy.production", {"ticket": "none"}, agent_id="a").action == "deny"
    assert runtime.evaluate("deploy.production", {"ticket": 12}, agent_id="a").action == "deny", (
        "an unknown never allows"
    )
    assert [json.loads(line)["decision"] for line in log.read_text().splitlines()] == [
        "allow",
        "deny",
        "deny",
    ]

    import acme_capfence  # type: ignore[import-not-found]

    assert [d[0] for d in acme_capfence.DENIALS] == ["a", "a"]
    cli = click.Group("capfence")
    registry.manager.hook.capfence_register_commands(cli=cli)
    assert CliRunner().invoke(cli, ["denials"]).output.strip() == "2"


def test_a_broken_plugin_is_skipped_with_a_warning(install_plugin: Callable[[str, str], None]) -> None:
    install_plugin("broken_capfence", "import no_such_module\n")
    with pytest.warns(UserWarning, match="'broken_capfence'.*failed to load and was skipped"):
        registry = build_registry()
    assert "broken_capfence" not in registry.plugins and "capfence.builtin_plugin" in registry.plugins
