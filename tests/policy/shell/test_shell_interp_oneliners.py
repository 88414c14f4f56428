"""Interpreter one-liners that only compute and print are allowed; everything that could run more stays held.

``python -c``, ``node -e``/``-p``, ``perl -e``/``-ne``/``-pe``/``-i``, ``php -r`` and ``ruby -e`` code is read by a
conservative checker per language (``known.harmless_python``, :mod:`capfence.policy.shell.oneliners`). The ``*_ALLOWED``
lists are everyday uses, many in spellings the checkers were not written against; the ``*_HELD`` lists try to get code
to run, a file written or a secret read through the allowed subset (string escapes, computed members, ``(?{ })``,
``s///e`` behind other delimiters, ``@{[ ]}`` interpolation, dunders, rebinding, module options). The checkers run in
linear time on adversarial text.
"""

from __future__ import annotations

import re
import time

import pytest

from capfence.policy.compiled import Policy
from capfence.policy.shell import known, oneliners
from tests.support.shell_decide import decide

PYTHON_ALLOWED = [
    "python3 -c 'import os; print(os.listdir(\"/home/u/.aws\"))'",  # names only, as `ls ~/.aws`
    "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
    "python3 -c 'import datetime as dt; print(dt.datetime.now().strftime(\"%Y-%m-%d\"))'",
    "python3 -c 'from datetime import datetime, timezone; print(datetime.now(timezone.utc).isoformat())'",
    "python -c 'import os; print(os.getcwd(), os.getpid())'",
    "python3 -c 'import os.path; print(os.path.splitext(\"a/b.tar.gz\")[1])'",
    'python3 -c \'from os.path import join, basename; print(basename(join("a", "b.txt")))\'',
    "python3 -c 'from os import path; print(path.exists(\"setup.py\"))'",
    "python3 -c 'import shutil; print(shutil.disk_usage(\".\").free // 2**30)'",
    'python3 -c \'print(len(open("README.md", encoding="utf-8").readlines()))\'',
    "python3 -c 'print(open(\"docs/dev/setup.md\").read()[:80])'",
    'python3 -c \'import json; print(json.load(open("package.json"))["version"])\'',
    'python3 -c \'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["name"])\'',
    "python3 -c 'with open(\"VERSION\") as f: print(f.read().strip())'",
    "python3 -c 'for n, line in enumerate(open(\"notes.txt\")): print(n, line.rstrip())'",
    "python3 -c 'import pandas as pd; print(pd.__version__)'",
    "python3 -c 'import torch; print(torch.__version__)'",
    "python3 -c 'import flask'",
    "python3 -c 'import hashlib; print(hashlib.md5(b\"x\").hexdigest())'",
    "python3 -c 'import base64; print(base64.b64decode(\"aGk=\").decode())'",
    "python3 -c 'import uuid; print(str(uuid.uuid4()).upper())'",
    "python3 -c 'import csv, sys; print(next(csv.reader(open(\"data.csv\"))))'",
    'python3 -c \'import yaml; print(yaml.safe_load(open("docker-compose.yml"))["services"].keys())\'',
    "python3 -c 'print(2**32 - 1, 1.1**-2, pow(3, 4), pow(2, 10**9, 97))'",
    "python3 -c 'import site; print(site.getusersitepackages())'",
    "python3 -c 'import sqlite3, ssl; print(sqlite3.sqlite_version, ssl.OPENSSL_VERSION)'",
    "python3 -c 'import socket, getpass; print(getpass.getuser() + \"@\" + socket.gethostname())'",
    "python3 -c 'from importlib.metadata import version; print(version(\"django\"))'",
    "python3 -c 'import multiprocessing; print(multiprocessing.cpu_count())' && python3 -c 'import tempfile; print(tempfile.gettempdir())'",
]
PYTHON_HELD = [
    "python3 -c 'import os; os.remove(\"x\")'",
    "python3 -c 'import os; os.unlink(\"x\")'",
    "python3 -c 'from os import system; system(\"id\")'",
    "python3 -c 'from os import path; path.os.system(\"id\")'",
    "python3 -c 'import os; os.path.os.system(\"id\")'",
    "python3 -c 'import os; f = os.listdir; print(os.environ)'",
    "python3 -c 'import os; print(os.environ[\"AWS_SECRET_ACCESS_KEY\"])'",
    "python3 -c 'import os as o; o.getcwd()'",
    "python3 -c 'import os; x = os; x.kill(1, 9)'",
    "python3 -c 'import shutil; shutil.rmtree(\"/\")'",
    "python3 -c 'from shutil import rmtree; rmtree(\"/home\")'",
    "python3 -c 'from shutil import which; which = print'",
    'python3 -c \'open("x", "w").write("a")\'',
    'python3 -c \'open("x", "a+").write("a")\'',
    'python3 -c \'open("x", mode="wb").write(b"a")\'',
    "python3 -c 'p = \"x\"; print(open(p).read())'",
    "python3 -c 'print(open(\"/root/.ssh/id_ed25519\").read())'",
    "python3 -c 'print(open(\".env.production\").read())'",
    'python3 -c \'print(open("/dev/urandom", "rb").read())\'',
    "python3 -c 'print(open(\"../../../../proc/self/environ\").read())'",
    "python3 -c 'print(open(\"../../../dev/zero\").read())'",
    # (reading one is held; listing names is what `ls -la ~/.aws` does, allowed)
    "python3 -c 'import os; print(open(\"/home/u/.aws/credentials\").read())'",
    'python3 -c \'import io; io.open("x", "w")\'',
    "python3 -c 'import deploy'",
    "python3 -c 'import numpy; numpy.save(\"/etc/x\", 1)'",
    "python3 -c 'import numpy as np; np.__version__.__class__'",
    "python3 -c 'import yaml; yaml.load(open(\"x\"), Loader=yaml.UnsafeLoader)'",
    "python3 -c 'help(\"modules\")'",
    "python3 -c 'import sys; sorted([\"os\"], key=license)'",
    'python3 -c \'g = (x for x in [1]); g.gi_frame.f_builtins.get("exec")("1")\'',
    'python3 -c \'import string; string.Formatter().get_field("0.__globals__", [print], {})[0].get("os")\'',
    "python3 -c 'import shlex; shlex.os.system(\"id\")'",
    "python3 -c 'import glob; print(glob.glob(\"*\"))'",
    "python3 -c 'x = [print]; x[0](1)'",
    "python3 -c 'print.__self__.exec(\"1\")'",
    "python3 -c 'import antigravity'",
    "python3 -c 'print(9**9**9**9)'",
    "python3 -c 'print((7**999)**999)'",
    "python3 -c 'print(pow(9, 9**9))'",
    "python3 -c 'print(10**10**10)'",
    "python3 -c 'x = 9; x **= 999999'",
    "python3 -c 'import site; site.addsitedir(\"/tmp/x\")'",
    'python3 -c \'import sqlite3; sqlite3.connect("x.db").execute("drop table t")\'',
    "python3 -c 'import socket; socket.create_connection((\"evil.example\", 4444))'",
    "python3 -c 'import socket; print(socket.gethostbyname(\"x.evil.example\"))'",
    "python3 -c 'import tempfile; tempfile.mkstemp()'",
    'python3 -c \'import importlib; importlib.import_module("os").system("id")\'',
    'python3 -c \'import importlib.metadata; importlib.metadata.distribution("x").read_text("y")\'',
    "python3 -c 'import multiprocessing; multiprocessing.Process(target=print).start()'",
]

NODE_ALLOWED = [
    "node -e 'console.log(process.version)'",
    "node -p process.versions.v8",
    "nodejs -p 'process.arch'",
    "node --print 'new Date().getFullYear()'",
    "node --eval='console.log(Math.round(Date.now() / 1000))'",
    "node -e 'console.log(JSON.stringify(require(\"./tsconfig.json\").compilerOptions, null, 2))'",
    "node -p 'require(\"./package.json\").dependencies'",
    'node -e \'console.log(require("os").hostname(), require("os").cpus().length)\'',
    "node -e 'console.log(`plain`.length)' 2>/dev/null || true",
    'node -e \'console.log("a,b".split(",").join(" "))\'',
    "node -p 'Object.keys(process.versions).sort()'",
    "node -p 'typeof process.versions.node'",
    'node -e \'console.log(require("crypto").randomBytes(48).toString("base64"))\'',
    'node -p \'require("crypto").createHash("sha1").update("abc").digest("hex")\'',
    'node -p \'require("path").resolve("..")\'',
    'node -p \'require("./package.json").scripts.test.split(" ")\'',
]
NODE_HELD = [
    "node -e 'console.log.constructor(\"return process\")()'",
    'node -e \'console["constructor"]["constructor"]("x")()\'',
    "node -e 'process.binding(\"spawn_sync\")'",
    "node -e 'process.mainModule.require(\"child_process\")'",
    "node -e 'global.process.exit()'",
    "node -e 'globalThis.process.env'",
    "node -e 'this.constructor'",
    "node -e 'console.log.__proto__'",
    'node -e \'require("./package.json").constructor.constructor("x")\'',
    "node -e 'require(\"./package.json\").__proto__'",
    "node -e 'require(\"./package.json\").x.constructor'",
    'node -e \'require("./package.json")["constructor"]\'',
    "node -e 'require(\"./package.json\").x()()'",
    'node -e \'require("child_process").execSync("id")\'',
    'node -e \'require("fs").writeFileSync("/etc/x", "")\'',
    "node -e 'require(\"./build.js\")'",
    'node -e \'require("./x" + ".json")\'',
    "node -e 'require(process.argv[1])' ./x.js",
    "node -e 'require.cache'",
    "node -e 'import(\"fs\")'",
    "node -e 'Function(\"return this\")()'",
    "node -e 'eval(\"1\")'",
    "node -e 'console.log(`${require(\"fs\")}`)'",
    "node -e 'console.log(process.env)'",
    "node -e 'process.getBuiltinModule(\"child_process\")'",
    "node -e 'console.\\u006cog(1)'",
    "node -e 'console.log(1) /* x */'",
    "node -e 'Object.keys(process)[0]()'",
    "node -e 'require(\"os\").setPriority(19)'",
    "node -e 'require(\"crypto\").webcrypto'",
    "node -e 'require(\"path\").constructor'",
    "node -e 'require(\"util\").inspect(1)'",
    "node -e 'x = 1'",
    "node -e $'1 <!-- \\'\\nprocess.binding(\"spawn_sync\") //\\''",
    "node -e $'1\\n--> \\'\\nprocess.exit() //\\''",
    "node -e 'console.log(1)' --require ./evil.js",
    "node -r ./evil.js -e 'console.log(1)'",
    "node --import=./evil.mjs -e 'console.log(1)'",
    "NODE_OPTIONS=--require=./evil.js node -e 'console.log(1)'",
    "node -e \"require('./.aws/credentials.json')\"",
]

PERL_ALLOWED = [
    "perl -ne 'print if /^\\s*#/' config.ini",
    "perl -lne 'print $1 if /version=(\\d+)/' build.gradle",
    "perl -pe 's|/usr/local|/opt|g' paths.txt",
    "perl -pe 's#foo#bar#gi' a.txt b.txt",
    "perl -pe 'y/A-Z/a-z/' words.txt",
    "perl -i -pe 's/\\r$//' scripts/run.sh",
    "perl -i.orig -pe 's/old/new/' src/app.conf",
    "perl -0777 -ne 'print length' big.txt",
    "perl -lane 'print \"$F[1] $.\"' table.txt",
    "perl -F, -lane 'print $F[2]' data.csv",
    "perl -ne 'print unless /^$/' notes.md",
    "perl -e 'print \"hello\\n\"'",
    "perl -E 'say for reverse 1..3'",
    "perl -le 'print \"=\" x 72'",
    'perl -e \'print "-"x40, "\\n"\'',
    "cat log.txt | perl -pe 's/(\\d+)ms/$1 ms/g'",
]
PERL_HELD = [
    "perl -pe 's/x/system(\"id\")/e' f",
    "perl -pe 's{x}{system(\"id\")}e' f",
    "perl -pe 's(x)(system 1)gee' f",
    "perl -pe 's!x!`id`!e' f",
    "perl -pe 's/x/@{[ system(\"id\") ]}/' f",
    "perl -pe 's/x/\\\\@{[ system(\"id\") ]}/' f",
    'perl -ne \'print "${\\ system("id")}"\' f',
    "perl -ne 'print \"$x[system 1]\"' f",
    "perl -ne 'print \"$_->{system 1}\"' f",
    "perl -ne 'print if /(?{ system(\"id\") })/' f",
    "perl -ne 'print if m{(??{ system 1 })}' f",
    "perl -e 'print `id`'",
    "perl -e 'print qx{id}'",
    "perl -e 'system \"rm -rf ~\"'",
    "perl -e 'exec qw(rm -rf /home)'",
    "perl -e '$0 = \"x\"'",
    "perl -e 'print %ENV'",
    "perl -e 'print *STDOUT'",
    "perl -e 'sub x { 1 }'",
    "perl -e 'BEGIN { 1 }'",
    "perl -e 'print <STDIN>'",
    "perl -e 'print <*.txt>'",
    "perl -e 'open F, \">x\"'",
    "perl -e 'eval \"1\"'",
    "perl -e 'do \"x.pl\"'",
    "perl -e 'CORE::system 1'",
    "perl -e 'print STDERR 1'",
    "perl -e 'print 1 # x'",
    "perl -e $'print 1;\\n=print \\'\\n=cut\\nsystem(\"id\"); print \\''",
    "perl -e 'print for 1..1e12'",
    "perl -e 'print \"x\" x 99999'",
    "perl -e 'print ((\"x\" x 999) x 999)'",
    "perl -e 'print \"x\" x 9e9'",
    "perl -e 'print \"x\" x= 9'",
    "perl -e 'print 1 x 9'",
    "perl -MPOSIX -e 'print 1'",
    "perl -Mstrict -le 'print 1'",
    "perl -Ilib -e 'print 1'",
    "perl -x script.pl",
    "perl -d -e 1",
    "perl -pie 's/a/b/' f",
    "perl -ne 'print' 'rm -rf ~|'",
    "perl -ne 'print' '|id'",
    "perl -ne 'print' .env",
    "perl -ne 'print' /dev/zero",
    "perl -ne 'print' ../../../dev/zero",
    "perl -pi -e 's/a/b/' /etc/hosts",
    "perl -i.bak/x -pe 's/a/b/' f",
    "perl -F'\"@{[system 1]}\"' -lane 'print' f",
    "PERL5OPT=-Mx perl -le 'print 1'",
]

PHP_ALLOWED = [
    "php -r 'echo PHP_VERSION;'",
    "php -r 'echo PHP_MAJOR_VERSION . \".\" . PHP_MINOR_VERSION, PHP_EOL;'",
    "php -r 'var_dump(extension_loaded(\"mbstring\"));'",
    "php -r 'echo json_encode(get_loaded_extensions());'",
    "php -n -r 'echo date(\"c\");'",
]
PHP_HELD = [
    "php -r 'system(\"id\");'",
    "php -r 'echo `id`;'",
    "php -r 'echo shell_exec(\"id\");'",
    'php -r \'"sys"."tem"("id");\'',
    'php -r \'("system")("id");\'',
    'php -r \'echo date("Y")("x");\'',
    'php -r \'$f = "system"; $f("id");\'',
    "php -r 'echo \"{$x}\";'",
    "php -r 'echo \"${x}\";'",
    'php -r \'array_map("system", ["id"]);\'',
    "php -r 'SYSTEM(\"id\");'",
    "php -r 'eval(\"echo 1;\");'",
    "php -r 'echo file_get_contents(\"/etc/shadow\");'",
    "php -r 'unlink(\"x\");'",
    "php -r 'echo 1; // x'",
    "php -r $'echo 1 ?> \\' <?php system(\"id\"); ?> \\''",
    "php -r $'echo <<<PHP_EOL\\n\\'\\nPHP_EOL;\\nsystem(\"id\");\\n\\';'",
    "php -d auto_prepend_file=/tmp/x.php -r 'echo 1;'",
    "PHP_INI_SCAN_DIR=/tmp php -r 'echo 1;'",
    "PHPRC=/tmp php -r 'echo 1;'",
]

RUBY_ALLOWED = [
    "ruby -e 'puts RUBY_VERSION'",
    "ruby -e 'p RUBY_PLATFORM'",
    "ruby -e 'puts Time.now.utc.iso8601'",
    "ruby -w -e 'puts Math.sqrt(2)'",
]
RUBY_HELD = [
    "ruby -e 'system \"id\"'",
    "ruby -e 'puts `id`'",
    "ruby -e 'puts %x(id)'",
    "ruby -e 'puts \"#{`id`}\"'",
    "ruby -e 'puts \"#$0\"'",
    "ruby -e 'exec \"id\"'",
    "ruby -e 'puts ENV'",
    "ruby -e 'Kernel.send(:system, \"id\")'",
    "ruby -e 'puts RUBY_VERSION.send(:x)'",
    "ruby -e 'puts Time.now.instance_eval(\"x\")'",
    "ruby -e 'puts Time::now'",
    "ruby -e 'p(open(\"|id\").read)'",
    "ruby -e 'BEGIN { system 1 }'",
    "ruby -e 'puts 1 # x'",
    "ruby -e $'puts ?\\'; system(\"id\") ; puts ?\\''",
    "ruby -e $'puts %(\\') ; system(\"id\") ; puts %(\\')'",
    "ruby -e $'puts RUBY_VERSION.split /\\'/; system(\"id\"); puts \\'/'",
    "ruby -e $'puts <<RUBY_VERSION\\n\\'\\nRUBY_VERSION\\nsystem(\"id\")\\n\\''",
    "ruby -rsocket -e 'puts 1'",
    "ruby -n -e 'puts 1'",
    "ruby -run -e httpd",
    "RUBYOPT=-rx ruby -e 'puts 1'",
]

ALLOWED = PYTHON_ALLOWED + NODE_ALLOWED + PERL_ALLOWED + PHP_ALLOWED + RUBY_ALLOWED
HELD = PYTHON_HELD + NODE_HELD + PERL_HELD + PHP_HELD + RUBY_HELD


@pytest.mark.parametrize("command", ALLOWED)
def test_one_liners_that_only_compute_and_print_are_allowed(shell_pack: Policy, command: str) -> None:
    action, reason = decide(shell_pack, command)
    assert action == "allow", (command, reason)


@pytest.mark.parametrize("command", HELD)
def test_one_liners_that_could_do_more_are_held(shell_pack: Policy, command: str) -> None:
    action, reason = decide(shell_pack, command)
    assert action in ("require_approval", "deny"), (command, reason)


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("perl -i -pe 's/a/b/' /etc/hosts", "edits /etc/hosts, outside the working tree"),
        ("perl -pi.bak/x -e 's/a/b/' f", "perl -i keeps backups"),
        ("node -e 'require(\"fs\")'", "runs node code that is not checked"),
        ("perl -e 'system 1'", "runs perl code that is not checked"),
        ("php -r 'system(1);'", "runs php code that is not checked"),
        ("ruby -e 'system 1'", "runs ruby code that is not checked"),
        ("python3 -c 'import os; os.remove(1)'", "runs python code that is not checked"),
    ],
)
def test_held_with_the_reason(shell_pack: Policy, command: str, reason: str) -> None:
    action, why = decide(shell_pack, command)
    assert action == "require_approval" and reason in why, (command, why)


_SIZE = oneliners.MAX_CODE
_ADVERSARIAL = [
    '"' + "\\" * _SIZE,
    "s{" * (_SIZE // 2),
    "(" * _SIZE,
    "$" * _SIZE,
    "s/" + "\\" * _SIZE,
    '"' + "$1" * (_SIZE // 2),
    "console.log(" * (_SIZE // 12),
    "require(" * (_SIZE // 8),
    "./" + "a/" * (_SIZE // 2),
    "1." * (_SIZE // 2),
    "print(" * (_SIZE // 6) + ")" * (_SIZE // 6),
    "import os;" * (_SIZE // 10),
]
_REGEXES = [value for value in vars(oneliners).values() if isinstance(value, re.Pattern)]


@pytest.mark.parametrize("text", _ADVERSARIAL, ids=range(len(_ADVERSARIAL)))
def test_checkers_take_linear_time(text: str) -> None:
    """At the bound, every checker is fast; 1 MB is held at once (too long); every regex is linear on 1 MB."""
    checkers = (
        lambda t: oneliners._harmless(t, oneliners._JS),
        lambda t: oneliners._harmless(t, oneliners._PHP),
        oneliners._harmless_perl,
        known.harmless_python,
    )
    for scale in (1, 512):
        sample = (text * scale)[: _SIZE * scale]
        for checker in checkers:
            started = time.perf_counter()
            checker(sample)
            assert time.perf_counter() - started < 0.5, text[:20]
    big = (text * 512)[: 1 << 20]
    for regex in _REGEXES:
        assert min(_timed(regex, big) for _ in range(3)) < 0.5, (regex.pattern, text[:20])


def _timed(regex: re.Pattern[str], text: str) -> float:
    """(the best of a few runs: the machine may be busy with other work)"""
    started = time.perf_counter()
    regex.search(text)
    regex.fullmatch(text)
    return time.perf_counter() - started
