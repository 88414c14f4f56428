"""The evaluator as a truth table: (policy, call) -> (action, rule).

``evaluate`` is a pure function of the compiled policy and the call, so each
row loads a real policy file, builds a :class:`CallView` and checks the
decision. Rows are grouped by what they prove; each group has positive and
negative cases. ``rule`` is the stable rule id, ``None`` when the default decided.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from capfence.call.view import CallView
from capfence.policy.engine import evaluate
from tests.support.loading import load_policy


def call(
    capability: str,
    payload: Mapping[str, Any] | None = None,
    *,
    agent: str | None = "agent-1",
    environment: str | None = None,
    tool: str | None = None,
) -> dict[str, Any]:
    return {
        "capability": capability,
        "payload": payload or {},
        "agent_id": agent,
        "environment": environment,
        "tool": tool,
    }


def deep(value: object, levels: int) -> object:
    for _ in range(levels):
        value = {"k": [value]}
    return value


# --- policies -------------------------------------------------------------------

ALL_SECTIONS = """
allow:                      # written first on purpose: file order of sections is irrelevant
  - capability: t.run
warn:
  - capability: t.run
    contains: odd
require_approval:
  - capability: t.run
    contains: risky
deny:
  - capability: t.run
    contains: bad
"""

FIRST_MATCH = """
deny:
  - id: first
    capability: t.*
    contains: a
  - id: second
    capability: t.run
    contains: [a, b]
  - id: third
    capability: t.run
"""

DEFAULT_DENY = """
allow:
  - capability: fs.read
"""

DEFAULT_WARN = """
default: warn
deny:
  - capability: shell.execute
    contains: rm -rf
"""

EMPTY_SECTIONS = """
deny: []
require_approval: []
warn:
allow: []
"""

CAPABILITIES = """
deny:
  - id: exact
    capability: shell.execute
  - id: star-glob
    capability: "net.*"
  - id: question-glob
    capability: "fs.rea?"
  - id: class-glob
    capability: "db.[rw]*"
allow:
  - id: everything
    capability: "*"
"""

CONTAINS = """
deny:
  - id: rm
    capability: shell.execute
    contains: "rm -rf"
  - id: fetchers
    capability: shell.execute
    contains: [curl, wget]
  - id: shouty-needle
    capability: shell.execute
    contains: "  DROP    TABLE "
allow:
  - capability: "*"
"""

AGENT = """
deny:
  - id: prod-agents
    capability: shell.execute
    agent: "prod-*"
  - id: named-agents
    capability: shell.execute
    agent: [root, "admin?"]
allow:
  - capability: "*"
"""

ENVIRONMENT = """
deny:
  - id: prod-env
    capability: shell.execute
    environment: production
  - id: listed-env
    capability: db.write
    environment: [staging, Production]
allow:
  - capability: "*"
"""

TOOL = """
deny:
  - id: run-tools
    capability: "*"
    tool: "run_*"
allow:
  - capability: "*"
"""

ARGS = """
deny:
  - id: gt
    capability: pay.gt
    args: {amount: {gt: 1000}}
  - id: gte
    capability: pay.gte
    args: {amount: {gte: 1000}}
  - id: lt
    capability: pay.lt
    args: {amount: {lt: 0}}
  - id: lte
    capability: pay.lte
    args: {amount: {lte: 0.5}}
  - id: eq
    capability: pay.eq
    args: {amount: {eq: 42}}
  - id: ne
    capability: pay.ne
    args: {currency_code: {ne: 978}}
  - id: range
    capability: pay.range
    args: {amount: {gt: 10, lt: 20}}
  - id: nested
    capability: pay.nested
    args: {order.total: {gt: 100}, order.items.0.qty: {gte: 5}}
allow:
  - capability: "*"
"""

ARGS_ALLOW = """
allow:
  - id: small-payments
    capability: pay.send
    args: {amount: {lte: 100}}
"""

PATH = """
deny:
  - id: etc
    capability: fs.read
    path: {under: ["/etc"]}
  - id: ssh
    capability: fs.read
    path: {under: ["~/.ssh"]}
  - id: outside-tmp
    capability: fs.write
    path: {not_under: ["/tmp"]}
  - id: pem
    capability: fs.any
    path: {glob: "**/*.pem"}
  - id: conf-one-level
    capability: fs.any
    path: {glob: "/srv/*.conf"}
  - id: insensitive
    capability: fs.ci
    path: {under: ["/ETC"], case_sensitive: false}
  - id: sensitive
    capability: fs.cs
    path: {under: ["/ETC"]}
  - id: custom-field
    capability: fs.custom
    path: {field: target_file, under: ["/etc"]}
allow:
  - capability: "*"
"""

PATH_ALLOW = """
allow:
  - id: tmp-only
    capability: fs.copy
    path: {under: ["/tmp"]}
"""

PATH_DENY_ANY = """
deny:
  - id: any-etc
    capability: fs.copy
    path: {under: ["/etc"]}
allow:
  - capability: "*"
"""

ALL_CONDITIONS = """
deny:
  - id: all
    capability: shell.execute
    contains: curl
    agent: "prod-*"
    environment: production
    tool: "run_*"
    args: {timeout: {gt: 10}}
allow:
  - capability: "*"
"""

IDS = """
deny:
  - capability: a.b
    contains: x
  - id: named
    capability: a.b
    contains: y
warn:
  - capability: a.b
    contains: z
  - capability: a.b
    contains: w
"""

EXTENDS = {
    "policy.yaml": """
        extends: packs/base.yaml
        warn:
          - capability: shell.execute
    """,
    "packs/base.yaml": """
        deny:
          - capability: shell.execute
            contains: curl
          - id: base-explicit
            capability: shell.execute
            contains: wget
        allow:
          - capability: fs.read
    """,
}

# --- the table ---------------------------------------------------------------------

ROWS = [
    # Precedence: deny > require_approval > warn > allow > default, whatever the file order.
    pytest.param(
        ALL_SECTIONS, call("t.run", {"c": "bad risky odd"}), "deny", "deny[0]", id="precedence-deny-beats-all"
    ),
    pytest.param(
        ALL_SECTIONS,
        call("t.run", {"c": "risky odd"}),
        "require_approval",
        "require_approval[0]",
        id="precedence-approval-beats-warn",
    ),
    pytest.param(
        ALL_SECTIONS, call("t.run", {"c": "odd"}), "warn", "warn[0]", id="precedence-warn-beats-allow"
    ),
    pytest.param(
        ALL_SECTIONS, call("t.run", {"c": "fine"}), "allow", "allow[0]", id="precedence-allow-beats-default"
    ),
    pytest.param(ALL_SECTIONS, call("t.other", {"c": "bad"}), "deny", None, id="precedence-default-last"),
    # First match within a section, in file order across exact and glob capabilities.
    pytest.param(
        FIRST_MATCH, call("t.run", {"c": "a b"}), "deny", "first", id="first-match-glob-written-first"
    ),
    pytest.param(
        FIRST_MATCH, call("t.run", {"c": "b"}), "deny", "second", id="first-match-skips-non-matching"
    ),
    pytest.param(
        FIRST_MATCH, call("t.run", {"c": "zzz"}), "deny", "third", id="first-match-unconditional-last"
    ),
    pytest.param(
        FIRST_MATCH, call("t.other", {"c": "b"}), "deny", None, id="first-match-none-for-other-capability"
    ),
    # Default: deny unless the policy says warn; a matching rule still decides.
    pytest.param(DEFAULT_DENY, call("fs.read"), "allow", "allow[0]", id="default-deny-rule-matches"),
    pytest.param(DEFAULT_DENY, call("fs.write"), "deny", None, id="default-deny"),
    pytest.param(DEFAULT_WARN, call("net.get"), "warn", None, id="default-warn"),
    pytest.param(
        DEFAULT_WARN,
        call("shell.execute", {"c": "rm -rf /"}),
        "deny",
        "deny[0]",
        id="default-warn-deny-rule-still-denies",
    ),
    pytest.param(EMPTY_SECTIONS, call("anything"), "deny", None, id="default-deny-empty-sections"),
    # Capability: exact names, and globs (* crosses dots, ? one char, [..] a class); case-sensitive.
    pytest.param(CAPABILITIES, call("shell.execute"), "deny", "exact", id="capability-exact"),
    pytest.param(
        CAPABILITIES, call("shell.execute2"), "allow", "everything", id="capability-exact-is-not-prefix"
    ),
    pytest.param(CAPABILITIES, call("Shell.Execute"), "allow", "everything", id="capability-case-sensitive"),
    pytest.param(CAPABILITIES, call("net.http.get"), "deny", "star-glob", id="capability-star-glob"),
    pytest.param(CAPABILITIES, call("net"), "allow", "everything", id="capability-star-glob-needs-dot"),
    pytest.param(CAPABILITIES, call("fs.read"), "deny", "question-glob", id="capability-question-glob"),
    pytest.param(
        CAPABILITIES, call("fs.reads"), "allow", "everything", id="capability-question-glob-one-char"
    ),
    pytest.param(CAPABILITIES, call("db.write"), "deny", "class-glob", id="capability-class-glob"),
    pytest.param(CAPABILITIES, call("db.admin"), "allow", "everything", id="capability-class-glob-negative"),
    pytest.param(
        CAPABILITIES, call("anything.at.all"), "allow", "everything", id="capability-star-matches-all"
    ),
    # contains: substring, any-of, case-insensitive, NFKC, whitespace runs, every string leaf and key.
    pytest.param(
        CONTAINS, call("shell.execute", {"command": "rm -rf /"}), "deny", "rm", id="contains-string"
    ),
    pytest.param(
        CONTAINS, call("shell.execute", {"command": "ls -la"}), "allow", "allow[0]", id="contains-negative"
    ),
    pytest.param(
        CONTAINS,
        call("shell.execute", {"command": "rm -r -f /"}),
        "allow",
        "allow[0]",
        id="contains-is-substring-not-parser",
    ),
    pytest.param(
        CONTAINS, call("shell.execute", {"command": "RM -RF /"}), "deny", "rm", id="contains-case-insensitive"
    ),
    pytest.param(
        CONTAINS,
        call("shell.execute", {"command": "rm \t\n  -rf /"}),
        "deny",
        "rm",
        id="contains-whitespace-runs",
    ),
    pytest.param(
        CONTAINS,
        call("shell.execute", {"command": "ｒｍ －ｒｆ /"}),
        "deny",
        "rm",
        id="contains-nfkc-fullwidth",
    ),
    pytest.param(
        CONTAINS, call("shell.execute", {"command": "rm\u00a0-rf /"}), "deny", "rm", id="contains-nfkc-nbsp"
    ),
    pytest.param(
        CONTAINS,
        call("shell.execute", {"command": "wget http://x"}),
        "deny",
        "fetchers",
        id="contains-list-any-of-second",
    ),
    pytest.param(
        CONTAINS,
        call("shell.execute", {"command": "CURL x"}),
        "deny",
        "fetchers",
        id="contains-list-any-of-first",
    ),
    pytest.param(
        CONTAINS, call("shell.execute", {"command": "fetch x"}), "allow", "allow[0]", id="contains-list-none"
    ),
    pytest.param(
        CONTAINS,
        call("shell.execute", {"q": "drop table users"}),
        "deny",
        "shouty-needle",
        id="contains-needle-normalized-too",
    ),
    pytest.param(
        CONTAINS,
        call("shell.execute", {"a": {"b": [1, {"c": "curl x"}]}}),
        "deny",
        "fetchers",
        id="contains-nested-dicts-lists",
    ),
    pytest.param(
        CONTAINS,
        call("shell.execute", {"argv": ["rm", "-rf", "/"]}),
        "deny",
        "rm",
        id="contains-list-of-strings-joined",
    ),
    pytest.param(
        CONTAINS,
        call("shell.execute", {"a": "rm", "b": "-rf"}),
        "allow",
        "allow[0]",
        id="contains-separate-fields-not-joined",
    ),
    pytest.param(CONTAINS, call("shell.execute", {"rm -rf /": True}), "deny", "rm", id="contains-keys"),
    pytest.param(
        CONTAINS, call("shell.execute", {"argv": ("curl", "x")}), "deny", "fetchers", id="contains-tuple"
    ),
    pytest.param(
        CONTAINS, call("shell.execute", {"raw": b"curl x"}), "deny", "fetchers", id="contains-bytes"
    ),
    pytest.param(
        CONTAINS,
        call("shell.execute", {"n": deep("rm -rf /", 80)}),
        "deny",
        "rm",
        id="contains-deeper-than-walk-bound",
    ),
    pytest.param(
        CONTAINS,
        call("shell.execute", {"n": deep({"rm -rf /": 1}, 80)}),
        "deny",
        "rm",
        id="contains-deep-key",
    ),
    pytest.param(
        CONTAINS,
        call("shell.execute", {"n": deep("ls", 80)}),
        "allow",
        "allow[0]",
        id="contains-deep-negative",
    ),
    # agent: glob (any of); a call without an agent id does not match.
    pytest.param(AGENT, call("shell.execute", agent="prod-7"), "deny", "prod-agents", id="agent-glob"),
    pytest.param(AGENT, call("shell.execute", agent="dev-7"), "allow", "allow[0]", id="agent-glob-negative"),
    pytest.param(AGENT, call("shell.execute", agent="admin2"), "deny", "named-agents", id="agent-list-glob"),
    pytest.param(AGENT, call("shell.execute", agent="root"), "deny", "named-agents", id="agent-list-exact"),
    pytest.param(
        AGENT, call("shell.execute", agent="rooted"), "allow", "allow[0]", id="agent-exact-is-not-prefix"
    ),
    pytest.param(AGENT, call("shell.execute", agent=None), "allow", "allow[0]", id="agent-missing"),
    # environment: exact (any of), case-insensitive; no environment does not match.
    pytest.param(
        ENVIRONMENT, call("shell.execute", environment="production"), "deny", "prod-env", id="environment"
    ),
    pytest.param(
        ENVIRONMENT,
        call("shell.execute", environment=" Production "),
        "deny",
        "prod-env",
        id="environment-case-insensitive",
    ),
    pytest.param(
        ENVIRONMENT,
        call("shell.execute", environment="staging"),
        "allow",
        "allow[0]",
        id="environment-negative",
    ),
    pytest.param(
        ENVIRONMENT, call("shell.execute", environment=None), "allow", "allow[0]", id="environment-missing"
    ),
    pytest.param(
        ENVIRONMENT, call("db.write", environment="production"), "deny", "listed-env", id="environment-list"
    ),
    pytest.param(
        ENVIRONMENT, call("db.write", environment="dev"), "allow", "allow[0]", id="environment-list-negative"
    ),
    # tool: glob on the tool's name.
    pytest.param(TOOL, call("x.y", tool="run_shell"), "deny", "run-tools", id="tool-glob"),
    pytest.param(TOOL, call("x.y", tool="read_file"), "allow", "allow[0]", id="tool-glob-negative"),
    pytest.param(TOOL, call("x.y", tool=None), "allow", "allow[0]", id="tool-missing"),
    # args: numeric comparisons; numeric strings count; a missing field does not match;
    # a non-number is unknown and resolves fail-closed (matches deny, never allow).
    pytest.param(ARGS, call("pay.gt", {"amount": 1001}), "deny", "gt", id="args-gt"),
    pytest.param(ARGS, call("pay.gt", {"amount": 1000}), "allow", "allow[0]", id="args-gt-boundary"),
    pytest.param(ARGS, call("pay.gt", {"amount": 1000.01}), "deny", "gt", id="args-gt-float"),
    pytest.param(ARGS, call("pay.gt", {"amount": "1500"}), "deny", "gt", id="args-numeric-string"),
    pytest.param(
        ARGS, call("pay.gt", {"amount": " 2_000 "}), "deny", "gt", id="args-numeric-string-underscores"
    ),
    pytest.param(
        ARGS, call("pay.gt", {"amount": "999"}), "allow", "allow[0]", id="args-numeric-string-negative"
    ),
    pytest.param(ARGS, call("pay.gt", {"amount": math.inf}), "deny", "gt", id="args-infinity"),
    pytest.param(ARGS, call("pay.gt", {"other": 5000}), "allow", "allow[0]", id="args-missing-field"),
    pytest.param(ARGS, call("pay.gt", {"amount": 10**5000}), "deny", "gt", id="args-int-too-long-for-text"),
    pytest.param(
        ARGS,
        call("pay.lt", {"amount": 10**5000}),
        "allow",
        "allow[0]",
        id="args-int-too-long-for-text-negative",
    ),
    pytest.param(ARGS, call("pay.gt", {"amount": "lots"}), "deny", "gt", id="args-non-numeric-fail-closed"),
    pytest.param(ARGS, call("pay.gt", {"amount": math.nan}), "deny", "gt", id="args-nan-fail-closed"),
    pytest.param(ARGS, call("pay.gt", {"amount": "NaN"}), "deny", "gt", id="args-nan-string-fail-closed"),
    pytest.param(ARGS, call("pay.gt", {"amount": True}), "deny", "gt", id="args-bool-is-not-a-number"),
    pytest.param(ARGS, call("pay.gt", {"amount": None}), "deny", "gt", id="args-none-is-not-a-number"),
    pytest.param(ARGS, call("pay.gte", {"amount": 1000}), "deny", "gte", id="args-gte"),
    pytest.param(ARGS, call("pay.gte", {"amount": 999}), "allow", "allow[0]", id="args-gte-negative"),
    pytest.param(ARGS, call("pay.lt", {"amount": -1}), "deny", "lt", id="args-lt"),
    pytest.param(ARGS, call("pay.lt", {"amount": 0}), "allow", "allow[0]", id="args-lt-negative"),
    pytest.param(ARGS, call("pay.lte", {"amount": "0.5"}), "deny", "lte", id="args-lte"),
    pytest.param(ARGS, call("pay.lte", {"amount": 0.51}), "allow", "allow[0]", id="args-lte-negative"),
    pytest.param(ARGS, call("pay.eq", {"amount": 42.0}), "deny", "eq", id="args-eq"),
    pytest.param(ARGS, call("pay.eq", {"amount": 43}), "allow", "allow[0]", id="args-eq-negative"),
    pytest.param(ARGS, call("pay.ne", {"currency_code": 840}), "deny", "ne", id="args-ne"),
    pytest.param(ARGS, call("pay.ne", {"currency_code": 978}), "allow", "allow[0]", id="args-ne-negative"),
    pytest.param(ARGS, call("pay.range", {"amount": 15}), "deny", "range", id="args-all-comparisons-hold"),
    pytest.param(
        ARGS, call("pay.range", {"amount": 25}), "allow", "allow[0]", id="args-one-comparison-fails"
    ),
    pytest.param(
        ARGS,
        call("pay.nested", {"order": {"total": 101, "items": [{"qty": 5}]}}),
        "deny",
        "nested",
        id="args-dotted-path",
    ),
    pytest.param(
        ARGS,
        call("pay.nested", {"order": {"total": 101, "items": [{"qty": 4}]}}),
        "allow",
        "allow[0]",
        id="args-dotted-path-negative",
    ),
    pytest.param(
        ARGS,
        call("pay.nested", {"order": {"total": 101, "items": []}}),
        "allow",
        "allow[0]",
        id="args-dotted-path-missing",
    ),
    pytest.param(
        ARGS_ALLOW, call("pay.send", {"amount": 50}), "allow", "small-payments", id="args-allow-rule"
    ),
    pytest.param(ARGS_ALLOW, call("pay.send", {"amount": 500}), "deny", None, id="args-allow-rule-negative"),
    pytest.param(
        ARGS_ALLOW, call("pay.send", {"amount": "lots"}), "deny", None, id="args-non-numeric-never-allows"
    ),
    pytest.param(
        ARGS_ALLOW, call("pay.send", {"amount": math.nan}), "deny", None, id="args-nan-never-allows"
    ),
    # path: normalized (.., ., //, ~, relative to cwd "/") before under / not_under / glob.
    pytest.param(PATH, call("fs.read", {"path": "/etc/passwd"}), "deny", "etc", id="path-under"),
    pytest.param(PATH, call("fs.read", {"path": "/etc"}), "deny", "etc", id="path-under-itself"),
    pytest.param(
        PATH,
        call("fs.read", {"path": "/etcetera/passwd"}),
        "allow",
        "allow[0]",
        id="path-under-is-component-wise",
    ),
    pytest.param(
        PATH, call("fs.read", {"path": "/home/u/notes"}), "allow", "allow[0]", id="path-under-negative"
    ),
    pytest.param(PATH, call("fs.read", {"path": "/tmp/../etc/passwd"}), "deny", "etc", id="path-dotdot"),
    pytest.param(PATH, call("fs.read", {"path": "/./etc/./passwd"}), "deny", "etc", id="path-dot"),
    pytest.param(
        PATH, call("fs.read", {"path": "//etc///passwd"}), "deny", "etc", id="path-repeated-slashes"
    ),
    pytest.param(PATH, call("fs.read", {"path": "etc/passwd"}), "deny", "etc", id="path-relative"),
    pytest.param(
        PATH, call("fs.read", {"path": "../../etc/shadow"}), "deny", "etc", id="path-relative-dotdot"
    ),
    pytest.param(PATH, call("fs.read", {"path": "~/.ssh/id_rsa"}), "deny", "ssh", id="path-tilde"),
    pytest.param(
        PATH,
        call("fs.read", {"path": "/home/tester/x/../.ssh/config"}),
        "deny",
        "ssh",
        id="path-tilde-rule-absolute-call",
    ),
    pytest.param(
        PATH, call("fs.read", {"file_path": PurePosixPath("/etc/hosts")}), "deny", "etc", id="path-pathlike"
    ),
    pytest.param(PATH, call("fs.read", {"path": b"/etc/hosts"}), "deny", "etc", id="path-bytes"),
    pytest.param(PATH, call("fs.read", {"paths": ["/tmp/a", "/etc/b"]}), "deny", "etc", id="path-list-any"),
    pytest.param(
        PATH, call("fs.read", {"args": {"nested": {"path": "/etc/x"}}}), "deny", "etc", id="path-nested-field"
    ),
    pytest.param(
        PATH,
        call("fs.read", {"command": "/etc/passwd"}),
        "allow",
        "allow[0]",
        id="path-only-path-like-fields",
    ),
    pytest.param(
        PATH,
        call("fs.read", {"n": deep({"path": "/etc/passwd"}, 80)}),
        "deny",
        "etc",
        id="path-field-deeper-than-walk-bound",
    ),
    pytest.param(
        PATH,
        call("fs.read", {"n": deep({"path": "/home/x"}, 80)}),
        "allow",
        "allow[0]",
        id="path-deep-negative",
    ),
    pytest.param(PATH, call("fs.read", {"path": "/etc/\x00x"}), "deny", "etc", id="path-unknown-fail-closed"),
    pytest.param(
        PATH, call("fs.write", {"path": "/tmp/x"}), "allow", "allow[0]", id="path-not-under-negative"
    ),
    pytest.param(
        PATH, call("fs.write", {"path": "/tmp/../home/x"}), "deny", "outside-tmp", id="path-not-under"
    ),
    pytest.param(
        PATH, call("fs.any", {"path": "/home/u/keys/server.pem"}), "deny", "pem", id="path-glob-doublestar"
    ),
    pytest.param(
        PATH, call("fs.any", {"path": "/home/u/server.pem.bak"}), "allow", "allow[0]", id="path-glob-negative"
    ),
    pytest.param(
        PATH, call("fs.any", {"path": "/srv/app.conf"}), "deny", "conf-one-level", id="path-glob-star"
    ),
    pytest.param(
        PATH,
        call("fs.any", {"path": "/srv/sub/app.conf"}),
        "allow",
        "allow[0]",
        id="path-glob-star-one-level",
    ),
    pytest.param(
        PATH, call("fs.ci", {"path": "/etc/passwd"}), "deny", "insensitive", id="path-case-insensitive"
    ),
    pytest.param(
        PATH, call("fs.cs", {"path": "/etc/passwd"}), "allow", "allow[0]", id="path-case-sensitive-default"
    ),
    pytest.param(
        PATH, call("fs.custom", {"target_file": "/etc/x"}), "deny", "custom-field", id="path-custom-field"
    ),
    pytest.param(
        PATH, call("fs.custom", {"path": "/etc/x"}), "allow", "allow[0]", id="path-custom-field-only"
    ),
    pytest.param(
        PATH_ALLOW,
        call("fs.copy", {"src": "/tmp/a", "dst": "/tmp/b"}),
        "allow",
        "tmp-only",
        id="path-allow-every-path",
    ),
    pytest.param(
        PATH_ALLOW,
        call("fs.copy", {"src": "/tmp/a", "dst": "/etc/b"}),
        "deny",
        None,
        id="path-allow-needs-every-path",
    ),
    pytest.param(
        PATH_ALLOW,
        call("fs.copy", {"src": "/tmp/a", "dst": "/tmp/\x00"}),
        "deny",
        None,
        id="path-allow-unknown-never-allows",
    ),
    pytest.param(PATH_ALLOW, call("fs.copy", {"n": 1}), "deny", None, id="path-allow-no-paths"),
    pytest.param(
        PATH_DENY_ANY,
        call("fs.copy", {"src": "/tmp/a", "dst": "/etc/b"}),
        "deny",
        "any-etc",
        id="path-deny-any-path",
    ),
    # All conditions of a rule must hold: each one failing alone turns the rule off.
    pytest.param(
        ALL_CONDITIONS,
        call(
            "shell.execute",
            {"c": "curl", "timeout": 30},
            agent="prod-1",
            environment="production",
            tool="run_sh",
        ),
        "deny",
        "all",
        id="all-conditions-hold",
    ),
    pytest.param(
        ALL_CONDITIONS,
        call(
            "shell.execute",
            {"c": "ls", "timeout": 30},
            agent="prod-1",
            environment="production",
            tool="run_sh",
        ),
        "allow",
        "allow[0]",
        id="all-conditions-contains-fails",
    ),
    pytest.param(
        ALL_CONDITIONS,
        call(
            "shell.execute",
            {"c": "curl", "timeout": 30},
            agent="dev-1",
            environment="production",
            tool="run_sh",
        ),
        "allow",
        "allow[0]",
        id="all-conditions-agent-fails",
    ),
    pytest.param(
        ALL_CONDITIONS,
        call("shell.execute", {"c": "curl", "timeout": 30}, agent="prod-1", environment="dev", tool="run_sh"),
        "allow",
        "allow[0]",
        id="all-conditions-environment-fails",
    ),
    pytest.param(
        ALL_CONDITIONS,
        call(
            "shell.execute", {"c": "curl", "timeout": 30}, agent="prod-1", environment="production", tool="sh"
        ),
        "allow",
        "allow[0]",
        id="all-conditions-tool-fails",
    ),
    pytest.param(
        ALL_CONDITIONS,
        call(
            "shell.execute",
            {"c": "curl", "timeout": 3},
            agent="prod-1",
            environment="production",
            tool="run_sh",
        ),
        "allow",
        "allow[0]",
        id="all-conditions-args-fails",
    ),
    # Rule ids: explicit id, else <section>[<index within the section>]; extended files prefix their stem.
    pytest.param(IDS, call("a.b", {"c": "x"}), "deny", "deny[0]", id="ids-section-index"),
    pytest.param(IDS, call("a.b", {"c": "y"}), "deny", "named", id="ids-explicit"),
    pytest.param(IDS, call("a.b", {"c": "w"}), "warn", "warn[1]", id="ids-index-counts-per-section"),
    pytest.param(
        EXTENDS,
        call("shell.execute", {"c": "curl x"}),
        "deny",
        "base:deny[0]",
        id="ids-extended-file-prefixed",
    ),
    pytest.param(
        EXTENDS,
        call("shell.execute", {"c": "wget x"}),
        "deny",
        "base-explicit",
        id="ids-extended-explicit-kept",
    ),
    pytest.param(
        EXTENDS, call("shell.execute", {"c": "ls"}), "warn", "warn[0]", id="ids-including-file-unprefixed"
    ),
    pytest.param(EXTENDS, call("fs.read"), "allow", "base:allow[0]", id="ids-extended-allow"),
]


@pytest.mark.parametrize(("policy", "the_call", "action", "rule"), ROWS)
def test_truth_table(
    policy: str | dict[str, str],
    the_call: dict[str, Any],
    action: str,
    rule: str | None,
    write_policy: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir("/")  # relative paths in calls resolve against the working directory
    monkeypatch.setenv("HOME", "/home/tester")  # and ~ against HOME, in the policy and in calls
    files = policy if isinstance(policy, dict) else {"policy.yaml": policy}
    paths = [write_policy(text, name) for name, text in files.items()]
    compiled = load_policy(paths[0])

    decision = evaluate(compiled, CallView(**the_call))

    assert (decision.action, decision.rule) == (action, rule), decision.reason
    assert decision.allowed is (action in ("allow", "warn"))
    assert decision.section == (action if rule is not None else None)
    assert decision.policy_digest == compiled.digest
    assert decision.reason


def test_evaluate_is_pure(write_policy: Callable[..., Path]) -> None:
    """Same policy and call, same decision, and the call's payload is left untouched."""
    compiled = load_policy(write_policy(CONTAINS))
    payload = {"command": "RM   -rf /", "nested": {"argv": ["curl", "x"]}}
    snapshot = repr(payload)
    first = evaluate(compiled, CallView("shell.execute", payload, "a"))
    second = evaluate(compiled, CallView("shell.execute", payload, "a"))
    assert first == second
    assert repr(payload) == snapshot


def test_rules_are_indexed_by_capability(write_policy: Callable[..., Path]) -> None:
    """Exact capabilities go in a dict, globs in a short list: a call only looks at rules that can apply."""
    rules = "\n".join(f"  - capability: cap.n{i}\n    contains: x{i}" for i in range(500))
    compiled = load_policy(
        write_policy(f"deny:\n{rules}\n  - capability: 'glob.*'\nallow:\n  - capability: '*'\n")
    )
    assert len(compiled.exact) == 500
    assert len(compiled.globs) == 2
    assert [r.id for r in compiled.candidates("cap.n7")] == ["deny[7]", "allow[0]"]
    assert [r.id for r in compiled.candidates("glob.a")] == ["deny[500]", "allow[0]"]


def test_condition_exception_propagates_from_pure_evaluator(write_policy: Callable[..., Path]) -> None:
    """The pure evaluator does not swallow failures; the runtime turns them into deny (see test_fail_closed)."""
    compiled = load_policy(write_policy(CONTAINS))

    class Exploding(dict):  # a payload whose items() blows up while conditions walk it
        def items(self):  # type: ignore[override]
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        evaluate(compiled, CallView("shell.execute", Exploding(a=1), "a"))


# A field can stand for several values (any depth, any spelling of its name): deny/require_approval/warn
# rules match if any value does, allow rules only if every value does. A dotted path is followed from the top.
SEVERAL_VALUES = """
deny:
  - id: big
    capability: pay
    args: {amount: {gt: 100}}
  - id: nested-neg
    capability: pay
    args: {order.total: {lt: 0}}
warn:
  - id: odd-count
    capability: pay
    args: {count: {eq: 3}}
allow:
  - id: small
    capability: pay
    args: {limit: {lte: 10}}
"""


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        ({"amount": 5, "AMOUNT": 500}, "big"),  # any value over the limit
        ({"amount": 5, "x": {"y": [{"Amount": "101"}]}}, "big"),  # at any depth
        # dotted: each segment in any spelling
        ({"Order": {"TOTAL": -1}, "order": {"total": 1}}, "nested-neg"),
        ({"total": -1}, None),  # dotted paths start at the top
        ({"count": 1, "meta": {"COUNT": 3}}, "odd-count"),
        ({"limit": 5, "LIMIT": 50}, None),  # allow: every value must qualify
        ({"limit": 5, "nested": {"limit": "lots"}}, None),  # an unknown value never allows
        ({"Limit": 5, "nested": {"limit": 10}}, "small"),
    ],
)
def test_args_fields_with_several_values(
    write_policy: Callable[..., Path], payload: dict[str, Any], rule: str | None
) -> None:
    decision = evaluate(load_policy(write_policy(SEVERAL_VALUES)), CallView("pay", payload, "a"))
    assert decision.rule == rule
