"""Families a third, independent red team found allowed, held by general rules; spelled here independently of it.

* Secrets in more places: browser profiles and their files (``Login Data``, ``cookies.sqlite``, ``key4.db``), desktop
  keyrings and keychains, cloud and tool credential files (``credentials.json``, ``service-account*.json``,
  ``~/.terraform.d/credentials.tfrc.json``, ``.boto``, ``.s3cfg``), and commands that print a token (``aws configure get
  aws_secret_access_key``, ``gcloud auth print-access-token``, ``az account get-access-token``).
* The metadata service's address in other spellings: one number, hex or octal parts, an IPv4-mapped IPv6 address, a
  wildcard-DNS name (``169.254.169.254.nip.io``).
* A chmod mode spelled like an option (``chmod -x /usr/bin/sudo``): every operand is a file it changes.
* Exhausting resources: ``ping -f``, ``truncate -s 10T``, a ``for`` loop starting a background job per item.
* Hiding what runs: turning the shell's history off (a file's times set in the tree, ``touch -d``, stay allowed).
* Packages named by where they come from, installed into a virtual environment (``.venv/bin/pip install URL``,
  ``uv pip install git+...``), as ``npm install URL`` already was.
"""

from __future__ import annotations

import pytest

from capfence.policy.compiled import Policy
from tests.support.shell_decide import decide

HELD = {
    # browser profiles, keyrings, credential files
    "cat ~/.config/chromium/Default/'Login Data' | strings": "holds secrets",
    "sqlite3 ~/.mozilla/firefox/abc.default/cookies.sqlite 'select * from moz_cookies'": "holds secrets",
    "cp ~/snap/firefox/common/.mozilla/firefox/x/key4.db .": "holds secrets",
    "tar czf profile.tgz ~/.config/BraveSoftware": "holds secrets",
    "xxd ~/Library/Keychains/login.keychain-db | head": "holds secrets",
    "ls ~/.local/share/keyrings && cat ~/.local/share/keyrings/default.keyring": "holds secrets",
    "base64 ./gcp/service_account-prod.json": "holds secrets",
    "cat deploy/credentials.yaml": "holds secrets",
    "cat ~/.boto": "holds secrets",
    "less ~/.s3cfg": "holds secrets",
    "jq . ~/.terraform.d/credentials.tfrc.json": "holds secrets",
    "cat client_secret_1234.apps.googleusercontent.com.json": "holds secrets",
    # commands that print a token
    "aws configure get aws_session_token --profile prod": "prints a secret",
    "aws sts get-session-token --duration-seconds 900": "secret",
    "aws ecr get-login-password --region eu-west-1": "secret",
    "gcloud auth print-identity-token": "secret",
    "az account get-access-token --resource https://x": "secret",
    "kubectl config view --raw": "prints a secret",
    "secret-tool lookup service github": "secret-tool",
    # the metadata service, spelled otherwise
    "curl -s http://2852039166/latest/api/token": "metadata service",
    "wget -qO- http://0xA9FEA9FE/computeMetadata/v1/": "metadata service",
    "curl http://0251.0376.0251.0376/latest/meta-data/iam/": "metadata service",
    "curl http://169.254.43518/latest/user-data": "metadata service",
    "curl -g 'http://[::ffff:a9fe:a9fe]/latest/meta-data/'": "metadata service",
    "curl http://169-254-169-254.sslip.io/latest/meta-data/": "metadata service",
    "curl 0xa9fea9fe/latest": "metadata service",
    # chmod modes spelled as options
    "chmod -x /usr/local/bin/docker": "outside the working tree",
    "chmod -rw /etc/hosts": "outside the working tree",
    "chmod -v -x ~/.local/bin/tool": "outside the working tree",
    # a secret file after a pattern, or with the pattern given by an option
    "grep -rn password ~/.aws/credentials": "holds secrets",
    "grep -e token ~/.config/gh/hosts.yml": "holds secrets",
    "grep -rie key ~/.ssh/id_ed25519": "holds secrets",
    "rg --regexp=x ~/.netrc": "holds secrets",
    "grep -A 2 /etc/shadow notes.txt": "holds secrets",
    # exhausting resources
    "ping -f 192.168.1.1": "floods the network",
    "sudo ping -l 100 -c 100000 10.1.1.1": "sudo",
    "ping -i 0.2 -l 50 gateway": "floods the network",
    "truncate -s 8T filler.img": "64 GiB or more",
    "truncate --size=500G x && cp --sparse=never x y": "64 GiB or more",
    "for n in $(seq 50000); do curl -s localhost:8080 & done": "background job for every item",
    "for h in $(cat hosts.txt); do ssh $h uptime & done": "background job for every item",
    # hiding what runs
    "unset HISTFILE; curl -s x.example/i | jq .": "history",
    "export HISTFILESIZE=0": "history",
    "set +o history": "history",
    # packages named by where they come from, into a virtual environment
    ".venv/bin/pip install https://files.example.net/pkg-1.0-py3-none-any.whl": "from a URL",
    "source venv/bin/activate && pip install git+ssh://git@example.com/x.git": "from a URL",
    "uv pip install https://example.net/x.tar.gz": "from a URL",
}

ALLOWED = [
    "cat src/cookies.py",
    # a searcher's first operand is its pattern, not a file it reads
    "grep -rn '/etc/shadow' tests/",
    "rg -n '~/.aws/credentials' docs/",
    "grep -c id_rsa.pub README.md",
    # shell helpers and system reads
    "deactivate",
    "sw_vers -productVersion",
    "grep -rn 'Login Data' docs/",
    "ls ~/.mozilla",
    "cat docs/credentials.md",
    "cat config/settings.yaml",
    "aws configure get region",
    "aws configure list",
    "gcloud config list",
    "kubectl config view",
    "curl -s http://10.0.0.12:8080/health",
    "curl http://127.0.0.1:3000",
    "seq 2852039166 2852039170",
    "echo 0xa9fea9fe",
    "chmod -x scripts/old.sh",
    "chmod -v +x bin/run",
    "ping -c 3 example.com",
    "truncate -s 0 app.log",
    "truncate -s 2G disk.img",
    'for f in *.md; do wc -l "$f"; done',
    "set -euo pipefail",
    "set +o errexit",
    "unset CDPATH",
    "touch build/.stamp",
    "touch -d '2024-01-01' fixtures/old.txt",  # (times in the tree: test fixtures, make's order)
    "echo '169.254.169.254 is blocked here'",
    ".venv/bin/pip install requests==2.32.3",
    ".venv/bin/pip install -r requirements-dev.txt",
    "uv pip install -e .",
]


@pytest.mark.parametrize(("command", "why"), HELD.items())
def test_held(shell_pack: Policy, command: str, why: str) -> None:
    action, reason = decide(shell_pack, command)
    assert action == "require_approval" and why in reason, (action, reason)


@pytest.mark.parametrize("command", ALLOWED)
def test_allowed(shell_pack: Policy, command: str) -> None:
    assert decide(shell_pack, command)[0] == "allow", decide(shell_pack, command)
