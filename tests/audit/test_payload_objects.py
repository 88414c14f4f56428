"""Objects inside payloads are judged by what they contain, and odd payloads lose nothing in the audit."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from capfence.audit.payload import serialize
from capfence.call.view import CallView
from capfence.errors import PolicyError
from capfence.policy.engine import evaluate
from tests.support.loading import load_policy

POLICY = """
deny:
  - id: no-rm
    capability: x
    contains: "rm -rf"
  - id: no-etc
    capability: x
    path: {under: [/etc]}
allow:
  - capability: x
"""


@dataclasses.dataclass
class Command:
    text: str


class Opaque:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return f"Opaque({self.text})"


class Broken:
    def __str__(self) -> str:
        raise RuntimeError("no")


@pytest.fixture
def policy(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text(POLICY)
    return load_policy(path)


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        ({"cmd": Command("rm -rf /")}, "no-rm"),  # dataclass fields are searched
        ({"cmd": [Command("ls"), Command("rm  -RF /x")]}, "no-rm"),
        ({"cmd": Opaque("rm -rf /")}, "no-rm"),  # an opaque object by its text
        ({"spec": Command("ok"), "target": Opaque("x")}, "allow[0]"),
        ({"cmd": Broken()}, "allow[0]"),  # unprintable: judged as "<Broken>"
    ],
)
def test_objects_are_visible_to_contains(policy, payload, rule):
    assert evaluate(policy, CallView("x", payload)).rule == rule


class FakeModel:
    """Shaped like a pydantic model: fields come from model_dump()."""

    def __init__(self, **fields: object) -> None:
        self.fields = fields

    def model_dump(self) -> dict[str, object]:
        return dict(self.fields)


def test_model_fields_are_visible_to_path(policy):
    decision = evaluate(policy, CallView("x", {"spec": FakeModel(path="/etc/../etc/shadow")}))
    assert decision.rule == "no-etc"


def test_colliding_keys_are_both_kept():
    stored = json.loads(serialize({1: "rm -rf", "1": "ls"}, redact=frozenset(), max_bytes=10_000).text)
    assert sorted(stored.values()) == ["ls", "rm -rf"]


def test_path_flags_must_be_booleans(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text('deny:\n  - capability: f\n    path: {under: [/etc], case_sensitive: "false"}\n')
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.line == 3 and "case_sensitive must be true or false" in str(info.value)


def test_misspelled_capability_gets_a_hint_first(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text("deny:\n  - capabilty: shell.execute\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert "did you mean 'capability'" in str(info.value.problems[0])
