"""The contains-on-shell lint suggests the command: condition that means what the rule meant."""

from __future__ import annotations

import pytest

from capfence.offline.lint import _example_for, command_equivalent

REGISTERED = "command: {program: rm, flags: [[-r, -R, --recursive], [-f, --force]]}"


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("curl", "command: {program: curl}"),
        ("systemctl", "command: {program: systemctl}"),
        ("git push --force", "command: {program: git, flags: [--force]}"),
        ("chmod -R 777", "command: {program: chmod}"),  # -R alone is not a cluster; 777 is an argument
        ("dd if=/dev/zero", "command: {program: dd}"),
        ("rm -rf", REGISTERED),  # the registered example spells rm's synonyms out
        ("| sh", REGISTERED),  # not a program: fall back to the registered example
    ],
)
def test_suggestion(needle: str, expected: str):
    assert _example_for(needle, REGISTERED) == expected


def test_cluster_flags_are_split():
    assert command_equivalent("tar -xzf") == "command: {program: tar, flags: [-x, -z, -f]}"
