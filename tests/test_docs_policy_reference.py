"""The policy reference documents every key the validator knows, and its examples load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from capfence.plugins import build_registry
from capfence.policy.loader import RULE_KEYS, TOP_KEYS
from tests.support.docs import yaml_examples
from tests.support.loading import load_policy
from tests.support.paths import DOCS

DOC = DOCS / "policy-reference.md"
TEXT = DOC.read_text()
HEADINGS = set(re.findall(r"^### `([a-z_]+)`", TEXT, flags=re.MULTILINE))
EXAMPLES = yaml_examples("policy-reference.md")


def test_every_top_level_and_rule_key_is_documented():
    assert set(TOP_KEYS) | set(RULE_KEYS) <= HEADINGS


def test_every_condition_key_is_documented():
    registry = build_registry(entry_points=False)
    assert set(registry.conditions) <= HEADINGS


def test_nothing_documented_that_does_not_exist():
    registry = build_registry(entry_points=False)
    assert set(TOP_KEYS) | set(RULE_KEYS) | set(registry.conditions) >= HEADINGS


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_example_loads(example: str, tmp_path: Path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(example)
    loaded = load_policy(policy)
    assert loaded.rules or loaded.default
