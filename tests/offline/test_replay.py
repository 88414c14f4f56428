"""``capfence replay``: the same evaluator as the runtime, every record accounted for, CI exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capfence.call.decision import ACTIONS
from capfence.call.view import CallView
from capfence.offline.replay import summary
from capfence.offline.replay_source import replay_file
from capfence.policy.engine import evaluate
from tests.support.cli import observed_log, record_calls, run
from tests.support.loading import load_policy
from tests.support.paths import DATA, POLICIES

PRODUCTION = POLICIES / "shell_production.yaml"


def _jsonl(path: Path, records: list[object]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8"
    )
    return path


def _replay_json(*args: str | Path, check: int = 0) -> dict:
    return json.loads(run("replay", *args, "--format", "json", check=check).stdout)


def test_minimal_records_need_only_capability_and_payload(tmp_path: Path) -> None:
    source = _jsonl(
        tmp_path / "calls.jsonl",
        [
            {"capability": "shell.execute", "payload": {"command": "curl x"}},
            {
                "capability": "shell.execute",
                "payload": {"command": "ls"},
                "agent_id": "a",
                "decision": "warn",
                "whatever": [1, 2],
            },
        ],
    )
    document = _replay_json(source, "--policy", PRODUCTION)
    # the replayed decision's provenance
    where = {"decided_by": "rule", "rule_source": str(PRODUCTION.resolve())}
    assert document["records"] == [
        {
            "id": 1,
            "capability": "shell.execute",
            "recorded": None,
            "replayed": "deny",
            "rule": "deny[1]",
            "changed": False,
            "change": None,
            **where,
            "rule_line": 5,
        },
        {
            "id": 2,
            "capability": "shell.execute",
            "recorded": "warn",
            "replayed": "allow",
            "rule": "allow[0]",
            "changed": True,
            "change": "other",
            **where,
            "rule_line": 11,
        },
    ]
    assert set(document) == {"summary", "records"}
    assert document["summary"]["no_recorded_decision"] == 1 and document["summary"]["changed"] == 1


def test_same_decisions_as_the_evaluator_on_the_public_corpus(tmp_path: Path) -> None:
    corpus = DATA / "shell_public.jsonl"
    policy = load_policy(PRODUCTION)
    document = _replay_json(corpus, "--policy", PRODUCTION)
    expected = []
    for line in corpus.read_text().splitlines():
        record = json.loads(line)
        decision = evaluate(policy, CallView(record["capability"], record["payload"], record.get("agent_id")))
        expected.append((record["id"], decision.action, decision.rule))
    assert [(r["id"], r["replayed"], r["rule"]) for r in document["records"]] == expected


def test_invalid_records_are_reported_with_line_numbers(tmp_path: Path) -> None:
    source = _jsonl(
        tmp_path / "mixed.jsonl",
        [
            {"capability": "shell.execute", "payload": {"command": "ls"}},
            "{not json",
            "",
            {"payload": {"command": "ls"}},
            {"capability": "shell.execute", "payload": "ls"},
            {"capability": "shell.execute", "payload": {}, "decision": "maybe"},
            [1, 2],
            {"capability": "shell.execute", "payload": {"command": "ls"}, "agent_id": 7},
            {"capability": "shell.execute", "payload": {"command": "ls"}},
            '{"capability": "shell.execute", "payload": {}} trailing',
        ],
    )
    out = run("replay", source, "--policy", PRODUCTION).stdout
    assert "Replayed 2 call(s)" in out and "invalid 7" in out
    for expected in (
        "line 2: not valid JSON",
        "line 4: missing capability",
        "line 5: payload must be a JSON object, got str",
        "line 6: decision 'maybe' is not one of",
        "line 7: a record must be a JSON object, got list",
        "line 8: agent_id must be a string or null",
        "line 10: not valid JSON",
    ):
        assert expected in out


def test_truncated_and_redacted_payloads_are_not_replayed(tmp_path: Path, write_policy) -> None:
    policy = write_policy("max_payload_bytes: 256\nallow:\n  - capability: '*'\n")
    audit = tmp_path / "audit.db"
    record_calls(
        audit,
        policy,
        [
            ("shell.execute", {"command": "x" * 1000}),
            ("http.post", {"url": "u", "api_key": "s3cret"}),
            ("shell.execute", {"command": "ls"}),
        ],
    )
    run("export", "--audit-log", audit, "-o", tmp_path / "audit.jsonl")
    for source in (tmp_path / "audit.jsonl", audit):
        document = _replay_json(source, "--policy", PRODUCTION)
        assert document["summary"]["unreplayable"] == 2 and document["summary"]["replayed"] == 1
        reasons = [r["reason"] for r in document["summary"]["unreplayable_records"]]
        assert reasons == ["payload was truncated when recorded", "payload was redacted when recorded"]
    marker = _jsonl(tmp_path / "hand.jsonl", [{"capability": "x", "payload": {"token": "***REDACTED***"}}])
    assert _replay_json(marker, "--policy", PRODUCTION)["summary"]["unreplayable"] == 1


def test_database_input_and_outcomes_skipped(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    from_db = _replay_json(audit, "--policy", PRODUCTION)
    run("export", "--audit-log", audit, "-o", tmp_path / "audit.jsonl")
    from_jsonl = _replay_json(tmp_path / "audit.jsonl", "--policy", PRODUCTION)
    assert from_db["records"] == from_jsonl["records"] and len(from_db["records"]) == 8
    mixed = _jsonl(
        tmp_path / "mixed.jsonl",
        [{"kind": "outcome", "ref": 1, "outcome": "ran"}, {"capability": "a.b", "payload": {}}],
    )
    assert _replay_json(mixed, "--policy", PRODUCTION)["summary"]["skipped"] == 1


def test_text_report_sections(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    out = run("replay", audit, "--policy", PRODUCTION).stdout
    for heading in (
        "Transitions (recorded → replayed):",
        "Changed calls, by transition and deciding rule:",
        "Rule hits under",
    ):
        assert heading in out
    assert "warn → deny: 1  (stricter)\n" in out and "(default: deny)" in out


def test_rules_that_never_matched(tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "one.jsonl", [{"capability": "shell.execute", "payload": {"command": "ls"}}])
    document = _replay_json(source, "--policy", PRODUCTION)
    assert document["summary"]["never_matched"] == ["deny[0]", "deny[1]", "require_approval[0]", "allow[1]"]
    text = run("replay", source, "--policy", PRODUCTION).stdout
    assert "Rules that never matched: deny[0], deny[1], require_approval[0], allow[1]" in text


@pytest.mark.parametrize(
    ("options", "status"),
    [
        ([], 0),
        (["--fail-on-change"], 3),
        (["--fail-on", "stricter"], 3),
        (["--fail-on", "looser"], 0),
        (["--fail-on", "other"], 0),
        (["--fail-on", "newly-denied"], 3),  # the earlier name of stricter, still accepted
        (["--fail-on", "invalid,unreplayable"], 0),
    ],
)
def test_exit_codes_for_ci(tmp_path: Path, options: list[str], status: int) -> None:
    source = _jsonl(
        tmp_path / "calls.jsonl",
        [{"capability": "shell.execute", "payload": {"command": "curl x"}, "decision": "warn"}],
    )
    done = run("replay", source, "--policy", PRODUCTION, *options, check=status)
    if status:
        assert "capfence replay: failing (1 " in done.stderr


def test_bad_policy_and_bad_option(tmp_path: Path, write_policy) -> None:
    source = _jsonl(tmp_path / "calls.jsonl", [{"capability": "a", "payload": {}}])
    bad = write_policy("deny:\n  - capabilty: x\n")
    done = run("replay", source, "--policy", bad, check=1)
    assert (
        done.stderr.count("\n") == 1
        and "rule has no capability" in done.stderr
        and "capfence check" in done.stderr
    )
    run("replay", source, "--policy", PRODUCTION, "--fail-on", "everything", check=2)


def test_identical_looking_payloads_are_not_conflated(tmp_path: Path, write_policy) -> None:
    """1, 1.0 and true are equal in Python; the decision cache must still tell them apart."""
    policy = load_policy(write_policy("allow:\n  - capability: pay\n    args: {amount: {eq: 1}}\n"))
    source = _jsonl(
        tmp_path / "p.jsonl",
        [{"capability": "pay", "payload": {"amount": v}} for v in (1, True, 1.0, "1", True, 1)],
    )
    result = replay_file(source, policy)
    replayed = {key[1]: calls for key, calls in result.counts.items()}
    expected = [evaluate(policy, CallView("pay", {"amount": v})).action for v in (1, True, 1.0, "1", True, 1)]
    assert replayed == {action: expected.count(action) for action in set(expected)}
    assert expected.count("deny") == 2  # true (twice) is not a number: the allow rule cannot match it


def test_cache_is_bounded_and_results_do_not_depend_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import capfence.offline.replay

    commands = [f"cmd {i % 7} curl" if i % 3 else f"ls {i}" for i in range(200)]
    source = _jsonl(
        tmp_path / "many.jsonl",
        [{"capability": "shell.execute", "payload": {"command": c}} for c in commands],
    )
    policy = load_policy(PRODUCTION)
    reference = summary(replay_file(source, policy))
    monkeypatch.setattr(capfence.offline.replay, "CACHE_LIMIT", 3)
    assert summary(replay_file(source, policy)) == reference


def test_every_replayed_value_is_an_action(tmp_path: Path) -> None:
    document = _replay_json(observed_log(tmp_path), "--policy", PRODUCTION)
    assert {r["replayed"] for r in document["records"]} <= set(ACTIONS)


def test_a_record_that_lost_what_decided_is_unreplayable_not_changed(tmp_path: Path, write_policy) -> None:
    """A payload nested past the audit form's depth was once stored as ``<nested too deep>`` with ``truncated=0``, and
    replaying it under the same policy reported ``newly_allowed``. It is now marked truncated and not replayed."""
    policy = write_policy("deny:\n  - capability: '*'\n    contains: rm -rf\nallow:\n  - capability: '*'\n")
    deep: object = "rm -rf /"
    for _ in range(70):
        deep = {"x": deep}
    audit = tmp_path / "audit.db"
    record_calls(audit, policy, [("shell.execute", {"command": deep}), ("shell.execute", {"command": "ls"})])
    run("export", "--audit-log", audit, "-o", tmp_path / "audit.jsonl")
    for source in (tmp_path / "audit.jsonl", audit):
        document = _replay_json(source, "--policy", policy)
        assert document["summary"]["unreplayable"] == 1 and document["summary"]["replayed"] == 1
        assert [r["changed"] for r in document["records"]] == [False]
        assert (
            document["summary"]["unreplayable_records"][0]["reason"] == "payload was truncated when recorded"
        )


def test_three_kinds_of_change_and_approval_is_not_denial(tmp_path: Path, write_policy) -> None:
    """stricter: ran, would not run (a hold counts, and is not called denied); looser: the reverse; other: runs or not as before."""
    policy = write_policy(
        "deny:\n  - capability: a\nrequire_approval:\n  - capability: b\nallow:\n  - capability: c\n"
    )
    recorded = [("a", "warn"), ("b", "allow"), ("c", "deny"), ("c", "warn"), ("b", "deny"), ("a", "deny")]
    source = _jsonl(
        tmp_path / "calls.jsonl", [{"capability": c, "payload": {}, "decision": d} for c, d in recorded]
    )
    document = _replay_json(source, "--policy", policy)
    counts = {
        key: document["summary"][key] for key in ("unchanged", "changed", "stricter", "looser", "other")
    }
    assert counts == {"unchanged": 1, "changed": 5, "stricter": 2, "looser": 1, "other": 2}
    assert [r["change"] for r in document["records"]] == [
        "stricter",
        "stricter",
        "looser",
        "other",
        "other",
        None,
    ]
    kinds = {(t["recorded"], t["replayed"]): t["change"] for t in document["summary"]["transitions"]}
    assert (
        kinds[("allow", "require_approval")] == "stricter" and kinds[("deny", "require_approval")] == "other"
    )
    text = run("replay", source, "--policy", policy).stdout
    assert (
        "unchanged 1, changed 5:\n    stricter      2  ran, would not run now (denied or held for approval)\n"
        in text
    )
    assert (
        "    looser        1  did not run, would run now\n    other         2  runs or not as before, under another decision\n"
        in text
    )
    assert "allow → require_approval: 1  (stricter)\n" in text and "warn → allow: 1  (other)\n" in text
    assert "deny → allow: 1  (looser)\n" in text
    assert "denied" not in text.split("Transitions")[1]
    run("replay", source, "--policy", policy, "--fail-on", "looser", check=3)


def test_a_flag_or_decision_of_the_wrong_type_is_reported_not_a_crash(tmp_path: Path) -> None:
    """A list where a flag or the decision should be: once an internal error (unhashable), now a record like another."""
    source = _jsonl(
        tmp_path / "odd.jsonl",
        [
            {"capability": "shell.execute", "payload": {}, "truncated": [1]},
            {"capability": "shell.execute", "payload": {}, "redacted": {"a": 1}},
            {"capability": "shell.execute", "payload": {}, "decision": ["deny"]},
            {"capability": "shell.execute", "payload": {"command": "ls"}, "truncated": []},
        ],
    )
    document = _replay_json(source, "--policy", PRODUCTION)["summary"]
    assert [(p["line"], p["reason"]) for p in document["unreplayable_records"]] == [
        (1, "payload was truncated when recorded"),
        (2, "payload was redacted when recorded"),
    ]
    assert [(p["line"], p["reason"]) for p in document["invalid_records"]] == [
        (3, "decision ['deny'] is not one of deny, require_approval, warn, allow")
    ]
    assert document["replayed"] == 1


def test_a_last_line_with_trailing_data_and_no_line_end_is_invalid(tmp_path: Path) -> None:
    """The fast parser allowed one character after the object (meant for the line end) even when it was not one."""
    source = tmp_path / "last.jsonl"
    source.write_text(
        '{"capability": "a", "payload": {}}\n{"capability": "b", "payload": {}}x', encoding="utf-8"
    )
    document = _replay_json(source, "--policy", PRODUCTION)["summary"]
    assert document["replayed"] == 1
    assert [(p["line"], p["reason"]) for p in document["invalid_records"]] == [
        (2, "not valid JSON: Extra data: line 1 column 35 (char 34)")
    ]
