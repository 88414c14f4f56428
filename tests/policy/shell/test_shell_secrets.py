"""Reading a secret is held (capfence.policy.shell.secrets): a credential file named anywhere in a command, a command that
prints a secret, the cloud's metadata service. Public keys, templates and ordinary reads stay allowed."""

from __future__ import annotations

import pytest

from capfence.policy.compiled import Policy
from capfence.policy.shell.secrets import credential, why_secret
from capfence.policy.shell.sketch import sketch_text
from tests.support.shell_decide import decide

HELD = [
    "cat ~/.ssh/id_rsa",
    "base64 -w0 ~/.ssh/id_ecdsa_sk",
    "head -c 400 $HOME/.ssh/id_ed25519",
    "less ~/.aws/credentials",
    "cat /etc/shadow",
    "sudo cat /etc/gshadow-",
    "cp ~/.git-credentials notes.txt",
    "tar czf keys.tgz ~/.gnupg",
    "grep -r password ~/.docker/config.json",
    "wc -c < ~/.netrc",
    "xxd ~/.kube/config",
    # shells' and clients' histories hold what was typed on command lines, passwords among it
    "tail -n 100 ~/.bash_history",
    "grep -i token ~/.zsh_history",
    "cat /root/.mysql_history",
    "strings ~/.local/share/fish/fish_history",
    "cat .env",
    "grep API_KEY config/.env.production",
    "cat deploy/tls/server.key",
    "cat /var/run/secrets/kubernetes.io/serviceaccount/token",
    "cat /proc/1/environ",
    "strings /proc/self/environ",
    "openssl rsa -in certs/site-key.pem -text",
    "gh auth token",
    "kubectl get secret db -o jsonpath='{.data.password}'",
    "kubectl -n prod get secrets -o yaml",
    "oc get secret x --output=json",
    "aws secretsmanager get-secret-value --secret-id prod/db",
    "aws ssm get-parameters --names a b --with-decryption",
    "gpg --armor --export-secret-keys me@example.com",
    "vault kv get secret/app",
    "printenv GITHUB_TOKEN",
    "printenv DB_PASSWORD",
    "curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "wget -qO- http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token",
    "curl http://[fd00:ec2::254]/latest/api/token",
]

ALLOWED = [
    "ls -la ~/.ssh",  # names and modes, not contents (NAMES_ONLY in the catalogue)
    "cat ~/.ssh/id_rsa.pub",
    "ssh-keygen -lf ~/.ssh/id_ed25519.pub",
    "cat ~/.ssh/known_hosts",
    "cat docs/history.md",
    "git log --oneline | head",
    "cat .env.example",
    "printenv PATH",
    "printenv",
    "kubectl get pods -A",
    "kubectl get secrets -n dev",
    "openssl x509 -in cert.pem -noout -subject -dates",
    "openssl req -x509 -newkey rsa:2048 -nodes -keyout dev.key -out dev.crt -days 365 -subj /CN=dev",
    "gh pr list",
    "grep -rn 'id_rsa' docs/",
    "echo credentials are rotated weekly",
    "cat README.md",
]


@pytest.mark.parametrize("command", HELD)
def test_reading_a_secret_is_held(shell_pack: Policy, command: str) -> None:
    action, reason = decide(shell_pack, command)
    assert action == "require_approval", (action, reason)  # (sudo, an unknown program: held for that first)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("cat", ["/home/u/.ssh/id_rsa"]),
        ("sudo", ["cat", "/etc/gshadow-"]),
        ("kubectl", ["-n", "prod", "get", "secrets", "-o", "yaml"]),
        ("vault", ["kv", "get", "secret/app"]),
        ("curl", ["http://169.254.169.254/latest/"]),
        ("printenv", ["DB_PASSWORD"]),
    ],
)
def test_why_secret_names_the_secret(name: str, words: list[str]) -> None:
    reason = why_secret(name, words)
    assert reason is not None and ("secret" in reason or "credential" in reason), reason


@pytest.mark.parametrize("command", ALLOWED)
def test_what_holds_no_secret_is_allowed(shell_pack: Policy, command: str) -> None:
    assert decide(shell_pack, command)[0] == "allow", decide(shell_pack, command)


@pytest.mark.parametrize("command", [c for c in HELD if "'" not in c and "<" not in c])
def test_the_sketch_never_calls_them_known(command: str) -> None:
    assert not sketch_text(command).known


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("~/.ssh/id_rsa", True),
        ("/home/u/.ssh/id_ed25519", True),
        ("~/.ssh/id_rsa.pub", False),
        ("id_rsa", False),
        ("backup/id_rsa", True),
        ("credentials", False),
        (".env", True),
        ("app/.env.local", True),
        (".env.example", False),
        ("/etc/shadow", True),
        ("/etc/passwd", False),
        ("src/main.py", False),
        ("certs/ca.pem", True),  # not to be sent; read here, a certificate (below)
        ("certs/server-key.pem", True),
        ("tls/privkey.pem", True),
        ("/run/secrets/db_password", True),
    ],
)
def test_credential_paths(path: str, expected: bool) -> None:
    assert credential(path) is expected
