"""The user's home and the repository's own data are outside the working tree; endless sources copied into files, loops
that never pause, whole-tree deletions by rsync, recursive owner or lock-out permission changes, and project tasks named
for deploying or tearing down are held.

Changing a file in the home directory (``rm ~/thesis.docx``, ``truncate -s0 ~/data.csv``, ``mv a ~/b``) changes the
user's own files, not the project's: held, with what it changes. Only creating there is fine (``mkdir -p
~/projects/demo``, ``touch ~/notes.txt``), not in a hidden directory (``mkdir ~/.ssh``). Reading the home stays allowed.
Copying an endless device (``cp /dev/zero f``), or writing what reads one into a file without a size (``tr -dc a-z <
/dev/urandom > f``), fills the disk; an endless loop without a pause (``while :; do echo x >> log; done``) runs flat out
until killed. The repository's data under ``.git`` (HEAD, refs, objects) is not the working tree's to change, but for a
stale lock and the local ignore list. ``rsync --delete`` removes what the source lacks (an empty source: everything);
``chown -R`` changes a whole tree's owner; ``chmod -R 644 .`` takes the search permission from every directory. Each
A task runner's task named ``deploy``, ``publish``, ``teardown``... (``make deploy``, ``npm run deploy:prod``, ``mvn
deploy``) runs the project's code, but changes what lies outside the tree. Each case is spelled here independently of
the corpora that found the families.
"""

from __future__ import annotations

import pytest

from capfence.policy.compiled import Policy
from tests.support.shell_decide import decide

HELD = {
    # the home's files: changed, replaced, removed
    "rm ~/thesis.docx": "changes ~/thesis.docx, outside the working tree",
    "rm -f $HOME/Downloads/report.pdf": "outside the working tree",
    "shred -n1 ~/journal.md": "outside the working tree",
    "truncate --size=0 ~/ledger.csv": "outside the working tree",
    "echo done > ~/status.txt": "writes ~/status.txt",
    "printf x >> ~/Documents/log.txt": "outside the working tree",
    "mv notes.txt ~/Desktop/notes.txt": "outside the working tree",
    "cp -f build/app ~/bin/app": "outside the working tree",
    "sed -i s/a/b/ ~/todo.txt": "outside the working tree",
    "cd ~/Pictures && rm holiday.jpg": "holiday.jpg (in ~/Pictures)",
    "cd && rm old.txt": "outside the working tree",
    "tee ~/out.log < in.log": "outside the working tree",
    "mkdir -p ~/.config/evil": "~/.config/evil",
    "touch ~/.hushlogin": "~/.hushlogin",
    # endless sources into files
    "cp /dev/zero ./filler": "/dev/zero, which never ends",
    "cp --sparse=never /dev/urandom blob": "/dev/urandom, which never ends",
    "install -m 644 /dev/random seed.bin": "never ends",
    "rsync --copy-devices /dev/zero big.img": "never ends",
    "tr -dc 'A-Za-z0-9' < /dev/urandom > passwords.txt": "without end",
    "base32 /dev/random > noise": "without end",
    "sha256sum < /dev/zero > digest": "without end",
    "od -x /dev/urandom >> dump.txt": "without end",
    "dd of=./fill.bin bs=4M < /dev/urandom": "endless device",
    # the repository's own data
    "truncate -s 0 .git/HEAD": ".git/HEAD",
    "rm -f .git/refs/heads/main": "outside the working tree",
    "cp /dev/null .git/packed-refs": "outside the working tree",
    "cd .git && rm -f ORIG_HEAD": "(in .git)",
    "chmod 000 .git/objects/pack": "outside the working tree",
    "mv .git/index .git/index.bak": ".git/index",
    # whole-tree deletions and permission changes
    "rsync -a --delete /tmp/empty/ ./": "lacks (rsync --delete)",
    "rsync -rv --delete-during build/ ../public/": "source lacks",
    "rsync -rv --delete-during /srv/build/ public/": "source lacks",
    "rsync -a --delete-exclu --exclude=x a/ .": "source lacks",
    "chown -R www-data:www-data ./uploads": "owner of every file",
    "chgrp --recursive devs .": "owner of every file",
    "chmod -R 640 ./site": "owner's read, write or search",
    "chmod -R u-w .": "owner's read, write or search",
    "chmod -R a=r src": "owner's read, write or search",
    "chmod --recursive -x lib": "owner's read, write or search",
    # project tasks that deploy, publish or tear down
    "make deploy": "(make deploy)",
    "gmake -j4 release-upload": "deploys, publishes or tears down",
    "npm run deploy:staging": "deploys, publishes or tears down",
    "yarn run publish-storybook": "deploys, publishes or tears down",
    "pnpm run teardown": "deploys, publishes or tears down",
    "npm run lint && npm run redeploy": "deploys, publishes or tears down",
    "mvn -B clean deploy": "deploys, publishes or tears down",
    "./gradlew publishToMavenLocal publish": "deploys, publishes or tears down",
    "just ship": "deploys, publishes or tears down",
    "rake assets:upload": "deploys, publishes or tears down",
    "conda env remove -n analysis": "conda environment",
    # loops that never pause
    "while :; do date >> stamps.log; done": "never pauses",
    "while true; do mkdir -p d; cd d; done": "never pauses",
    "until false; do touch x$RANDOM; done": "never pauses",
    "while true\ndo\n  echo spin\ndone": "never pauses",
    "while true; do (while :; do echo a >> b; done) & sleep 1; done": "never pauses",
}

ALLOWED = [
    # reading and listing the home, creating in its visible part
    "cat ~/notes.txt",
    "ls -la ~/Downloads",
    "du -sh ~/projects",
    "cp ~/Downloads/data.csv data/",
    "mkdir -p ~/projects/demo && cd ~/projects/demo",
    'mkdir -p "$HOME/src/github.com/acme"',
    "touch ~/notes.txt",
    "cd ~/projects/api && git status",
    # the repository: reading, a stale lock, the local ignore list
    "cat .git/HEAD",
    "rm -f .git/index.lock",
    "echo '*.tmp' >> .git/info/exclude",
    "echo x > .gitignore",
    "cp ci.yml .github/workflows/ci.yml",
    # copies, ownership and modes that lock nobody out
    "rsync -av --exclude node_modules src/ /tmp/src-copy/",
    "rsync -a --delete build/ public/",
    "chown alice notes.txt",
    "chmod -R 755 ./dist",
    "chmod -R go-w .",
    "chmod -R u+rwX,go+rX docs",
    "chmod 600 notes.txt",
    "chmod -x run.sh",
    # project tasks that build and test
    "make build test",
    "npm run build && npm test",
    "yarn lint",
    "mvn -q package",
    "pytest tests/test_deploy.py",
    "make DEPLOY_ENV=staging build",
    "conda env list",
    # bounded reads of endless devices
    "head -c 32 /dev/urandom | base64 > token.txt",
    "tr -dc a-z0-9 < /dev/urandom | head -c 24",
    "od -An -N8 -tx8 /dev/urandom > seed",
    "hexdump -n 16 -e '4/4 \"%08x\"' /dev/urandom > id.txt",
    "dd if=/dev/zero of=swap.img bs=1M count=512",
    "dd of=blank.img bs=1k count=64 < /dev/zero",
    "cp a.txt b.txt",
    # loops that wait, read or leave
    "while true; do curl -s localhost:8080/health; sleep 5; done",
    'while :; do read -r line || break; echo "$line"; done < in.txt',
    "until false; do make test && break; done",
    "while true; do if [ -f ready ]; then break; fi; sleep 1; done",
    'while read -r f; do wc -l "$f"; done < files.txt',
    'for f in *.md; do [ -s "$f" ] || continue; echo "$f"; done',
]


@pytest.mark.parametrize(("command", "why"), HELD.items())
def test_held(shell_pack: Policy, command: str, why: str) -> None:
    action, reason = decide(shell_pack, command)
    assert action == "require_approval" and why in reason, (action, reason)


@pytest.mark.parametrize("command", ALLOWED)
def test_allowed(shell_pack: Policy, command: str) -> None:
    assert decide(shell_pack, command)[0] == "allow", decide(shell_pack, command)


def test_the_fork_bomb_loop_is_still_denied(shell_pack: Policy) -> None:
    """A loop that only starts background jobs stays the deny rule's (held is for a loop that merely never pauses)."""
    assert decide(shell_pack, "while true; do sleep 1 & done")[0] == "deny"


KNOWN_OUTPUTS_ALLOWED = [
    'ln -sf "$(pwd)/bin/tool" ./tool',
    'cp config.example "$(pwd)/config.local"',
    'tmp=$(mktemp) && sort -u words.txt > "$tmp" && mv "$tmp" words.txt',
    'out=$(mktemp -d); cp -r src "$out"; ls "$out"',
    'mv "$(mktemp)" scratch.txt',
]
KNOWN_OUTPUTS_HELD = {
    'cd /etc && rm "$(pwd)/hosts"': "(in /etc)",
    'cp a "$(pwd)/../elsewhere"': "outside the working tree",
    'TMPDIR=/etc; t=$(mktemp); mv "$t" x': "named only at run time",
    'tmp=$(mktemp); mv "$tmp/../../etc/passwd" y': "named only at run time",
    'x="/tmp/$NAME"; mv "$x" data.txt': "named only at run time",
    'x="/etc/$NAME"; echo hi > "$x"': "/etc/..., a path completed at run time",
}


@pytest.mark.parametrize("command", KNOWN_OUTPUTS_ALLOWED)
def test_pwd_and_mktemp_outputs_are_known_in_kind(shell_pack: Policy, command: str) -> None:
    """``$(pwd)`` is the current directory, as ``$PWD``; ``$(mktemp)`` a new name in the scratch directory."""
    assert decide(shell_pack, command)[0] == "allow", decide(shell_pack, command)


@pytest.mark.parametrize(("command", "why"), KNOWN_OUTPUTS_HELD.items())
def test_what_they_cannot_vouch_for_stays_held(shell_pack: Policy, command: str, why: str) -> None:
    action, reason = decide(shell_pack, command)
    assert action == "require_approval" and why in reason, (action, reason)
