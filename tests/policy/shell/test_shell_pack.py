"""The hardened shell pack (policies/packs/shell.yaml), loaded through the real loader.

Every line of the public corpus (tests/data/shell_public.jsonl) must be
decided as expected; the tables of :mod:`tests.support.shell_pack_cases`
(shared with tests/policy/test_plan.py) and HOLD below go beyond it: other
wrappers, other spellings, other payload shapes, and look-alikes that must
stay allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from capfence.call.view import CallView
from capfence.policy.compiled import Policy
from capfence.policy.engine import evaluate
from tests.support.loading import load_policy
from tests.support.paths import SHELL_PACK
from tests.support.shell_pack_cases import ALLOW, APPROVE, CORPUS, DENY


def decide(pack: Policy, payload: Any, capability: str = "shell.execute") -> tuple[str, str | None]:
    if isinstance(payload, str):
        payload = {"command": payload}
    decision = evaluate(pack, CallView(capability=capability, payload=payload, agent_id="test"))
    return decision.action, decision.rule


@pytest.mark.parametrize("case", CORPUS, ids=[c["id"] for c in CORPUS])
def test_public_corpus(shell_pack: Policy, case: dict[str, Any]) -> None:
    decision = evaluate(
        shell_pack,
        CallView(capability=case["capability"], payload=case["payload"], agent_id=case.get("agent_id")),
    )
    assert decision.action == case["expect"], (
        f"{case['why']}: got {decision.action} by {decision.rule} ({decision.reason})"
    )


def test_pack_shape(shell_pack: Policy) -> None:
    assert shell_pack.default == "deny"
    assert all(rule.id and not rule.id.startswith(rule.section) for rule in shell_pack.rules)  # explicit ids
    # explicit reasons
    assert all(
        rule.reason and not rule.reason.startswith(rule.section + " rule") for rule in shell_pack.rules
    )
    assert {rule.section for rule in shell_pack.rules} == {"deny", "require_approval", "allow"}
    assert all(rule.capability == "shell.*" for rule in shell_pack.rules)


HOLD: list[tuple[Any, str]] = [
    # (payload, what the hold's reason says): not denied, but not known safe either
    ("exec bash", "reads commands from its standard input (bash)"),
    ("pip install -r requirements.txt && python -m pytest -q", "installs packages system-wide (pip install)"),
    (
        "docker build -t app . && docker run --rm app",
        "runs a container (it may mount the host or run privileged) (docker run)",
    ),
    (". ~/.bashrc", "runs a shell script whose code is not checked (. ~/.bashrc)"),
    ("kill $(lsof -t -i:8080)", "stops processes (kill)"),
    ("ps aux | grep python | awk '{print $2}' | xargs kill", "stops processes (kill)"),
    ("ssh user@host uptime", "runs commands on another machine (ssh)"),
    ("nohup python server.py > server.log 2>&1 &", "runs a python script whose code is not checked"),
    ("sudo -l", "runs as another user (sudo)"),
    ("rm -r ../node_modules", "recursive deletion (rm -r)"),
    ("rm -r src/*", "recursive deletion (rm -r)"),
    ("git push origin --delete old", "deletes a remote branch (git push --delete)"),
    ("chmod 777 /tmp/x", "makes files writable by every user (chmod 777)"),
    ("chmod -R 777 ./public", "makes files writable by every user (chmod 777)"),
    (
        "sudo fallocate -l 2G /swapfile && sudo chmod 600 /swapfile && sudo mkswap /swapfile && sudo swapon /swapfile",
        "runs as another user (sudo)",
    ),
    ("echo 3 | sudo tee /proc/sys/vm/drop_caches", "runs as another user (sudo)"),
    ("xargs -a files.txt rm -f", "operates on names read at run time"),
    ("sudo su -", "runs as another user (sudo)"),
    ("sudo -i", "runs as another user (sudo)"),
    # (print(1) there is checked and allowed: tests/policy/shell/test_shell_project_runs.py)
    ("python3 - <<'EOF'\nimport shutil; shutil.rmtree('x')\nEOF", "runs python code that is not checked"),
    ("python3 - <<EOF\nprint('$USER')\nEOF", "runs a python script whose code is not checked"),
    (
        "docker run -v $(pwd):/app img",
        "runs a container (it may mount the host or run privileged) (docker run)",
    ),
    ("git clone https://x/r.git && cd r && ./install.sh", "unknown program `install.sh`"),
    ("mount /dev/sdb1 /mnt", "mounts a file system (mount /dev/sdb1)"),
    ("fdisk -l /dev/sda", "unknown program `fdisk`"),
    ("service nginx restart", "starts, stops or changes a service (service nginx)"),
    ("terraform destroy -auto-approve", "changes infrastructure (terraform destroy)"),
    ("tar xzf file.tar.gz -C /opt", "extracts into /opt, outside the working tree"),
    (
        "curl -fsSL https://x/key.gpg | sudo gpg --dearmor -o /usr/share/keyrings/x.gpg",
        "runs as another user (sudo)",
    ),
    ("cat data.json | python3 script.py", "runs a python script whose code is not checked"),
    ("python3 script.py < input.txt", "runs a python script whose code is not checked"),
    ("bash script.sh", "runs a shell script whose code is not checked (bash script.sh)"),
    # (`sh ./configure` is judged as `./configure`, a project's launch script: test_shell_project_runs.py)
    ("sh ./bootstrap.sh --prefix=/usr", "runs a shell script whose code is not checked (sh ./bootstrap.sh)"),
    ('node -e \'console.log(require("fs").readdirSync("/"))\'', "runs node code that is not checked"),
    ("sudo apt-get install -y curl", "runs as another user (sudo)"),
    ("sudo -u postgres psql -c 'select 1'", "runs as another user (sudo)"),
    ("./build.sh 2>&1 | tee build.log", "unknown program `build.sh`"),
    ("cmd &> /dev/null", "unknown program `cmd`"),
    ("chown -R app:app /srv/app", "changes the owner of every file in a tree (chown -R)"),
    ("chown app:app /srv/app", "changes /srv/app, outside the working tree"),
    ("git clean -fdx", "deletes untracked files (git clean -f)"),
    (
        "ln -sf /usr/bin/python3 /usr/local/bin/python",
        "writes /usr/local/bin/python, outside the working tree",
    ),
    ("parted -l", "unknown program `parted`"),
    ("parted /dev/sda print", "unknown program `parted`"),
    ("sgdisk -p /dev/sda", "unknown program `sgdisk`"),
    ("hdparm -I /dev/sda", "unknown program `hdparm`"),
    ("chmod -R 777 /var/www/html", "makes files writable by every user (chmod 777)"),
    ("chmod 777 /etc/app.conf", "makes files writable by every user (chmod 777)"),
    ("chmod -R 755 /etc/nginx", "changes /etc/nginx, outside the working tree"),
    ("docker exec -it web bash", "reads commands from its standard input (bash)"),
    ("kubectl exec pod -- ls /data", "changes the cluster or runs a command in it (kubectl exec)"),
    ("kubectl exec -it pod -c app -- bash", "changes the cluster or runs a command in it (kubectl exec)"),
    ("kubectl delete pod web-1", "changes the cluster or runs a command in it (kubectl delete)"),
    ({"query": "SELECT 1", "limit": 5}, "unknown program `SELECT`"),
]


@pytest.mark.parametrize(
    ("rule", "payload"), [(r, p) for r, ps in DENY.items() for p in ps], ids=lambda v: str(v)[:60]
)
def test_deny(shell_pack: Policy, rule: str, payload: Any) -> None:
    assert decide(shell_pack, payload) == ("deny", rule)


@pytest.mark.parametrize(
    ("rule", "payload"), [(r, p) for r, ps in APPROVE.items() for p in ps], ids=lambda v: str(v)[:60]
)
def test_require_approval(shell_pack: Policy, rule: str, payload: Any) -> None:
    assert decide(shell_pack, payload) == ("require_approval", rule)


@pytest.mark.parametrize("payload", ALLOW, ids=lambda v: str(v)[:60])
def test_allow(shell_pack: Policy, payload: Any) -> None:
    assert decide(shell_pack, payload) == ("allow", "shell-known-safe")


@pytest.mark.parametrize(("payload", "why"), HOLD, ids=lambda v: str(v)[:60])
def test_hold_not_known_safe(shell_pack: Policy, payload: Any, why: str) -> None:
    """Risky-but-legitimate uses and whatever the catalogue does not know: held, saying why, never refused outright."""
    decision = evaluate(
        shell_pack,
        CallView(
            capability="shell.execute", payload=payload if isinstance(payload, dict) else {"command": payload}
        ),
    )
    assert (decision.action, decision.rule) == ("require_approval", "shell-not-known-safe")
    assert decision.reason == f"not known to be safe: {why}"


def test_other_capabilities_fall_to_default(shell_pack: Policy) -> None:
    assert decide(shell_pack, "ls", capability="filesystem.read") == ("deny", None)


def test_unparseable_reason_is_specific(shell_pack: Policy) -> None:
    decision = evaluate(shell_pack, CallView(capability="shell.execute", payload={"command": "echo 'oops"}))
    assert decision.rule == "shell-unparseable" and "cannot be parsed" in decision.reason


@pytest.mark.parametrize(
    "command", ["ls;" * 2000 + "ls", "a | " * 2000 + "a", "git status && " * 2500 + "ls"]
)
def test_more_commands_than_the_analyzer_takes_are_unparseable(shell_pack: Policy, command: str) -> None:
    """Over 2,000 commands in one text is unknowable, plain and ordinary as each of them is (the sketch must not skip the bound).

    (So is a text whose analysis would take more than its budget.)"""
    assert decide(shell_pack, command) == ("deny", "shell-unparseable")


@pytest.mark.shortcuts
def test_a_thousand_plain_commands_are_within_the_budget(shell_pack: Policy) -> None:
    """The plain-words route spends less of the budget than the lexer and the parser would (which run out on this text):
    1,000 commands of it are within the bound."""
    assert decide(shell_pack, "ls;" * 999 + "ls") == ("allow", "shell-known-safe")


def test_extending_the_pack(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"extends: {SHELL_PACK}\nallow:\n  - capability: filesystem.read\n")
    loaded = load_policy(policy)
    assert (
        evaluate(loaded, CallView(capability="shell.execute", payload={"command": "rm -rf /"})).action
        == "deny"
    )
    assert evaluate(loaded, CallView(capability="filesystem.read", payload={})).action == "allow"


@pytest.mark.parametrize("depth", [63, 64, 65, 70, 500])
def test_nesting_cannot_hide_a_command(shell_pack: Policy, depth: int) -> None:
    # commands used to be looked for only down to the payload walker's depth bound (64)
    payload: Any = {"command": "rm -rf /"}
    for i in range(depth):
        payload = {"step": payload} if i % 2 else {"steps": [payload]}
    assert decide(shell_pack, payload) == ("deny", "shell-rm-recursive-force")
