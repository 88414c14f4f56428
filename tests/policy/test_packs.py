"""The filesystem, http and payments packs decide what their READMEs promise."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from capfence.call.view import CallView
from capfence.policy.engine import evaluate
from tests.support.loading import load_policy
from tests.support.paths import PACKS

HOME = os.path.expanduser("~")


def decide(pack: str, capability: str, payload: dict[str, object]) -> tuple[str, str | None]:
    decision = evaluate(load_policy(PACKS / pack), CallView(capability, payload, "agent"))
    return decision.action, decision.rule


@pytest.mark.parametrize(
    ("capability", "payload", "expected"),
    [
        # secrets: never, however the path is spelled
        ("filesystem.read", {"path": "~/.ssh/id_ed25519"}, ("deny", "fs-secrets")),
        ("filesystem.read", {"path": f"{HOME}/.aws/credentials"}, ("deny", "fs-secrets")),
        ("filesystem.read", {"path": "/srv/app/../../etc/shadow"}, ("deny", "fs-secrets")),
        ("filesystem.read", {"path": "/srv/app//config/.env"}, ("deny", "fs-secret-files")),
        ("filesystem.read", {"file_path": "certs/server.pem"}, ("deny", "fs-secret-files")),
        # system directories are read-only
        ("filesystem.write", {"path": "/etc/hosts"}, ("deny", "fs-system-write")),
        ("filesystem.write", {"path": "/tmp/../usr/bin/ls"}, ("deny", "fs-system-write")),
        ("filesystem.delete", {"path": "/var/log/syslog"}, ("deny", "fs-system-delete")),
        ("filesystem.read", {"path": "/etc/hosts"}, ("allow", "fs-read")),
        # deletion needs a human; writes in the workspace are fine
        ("filesystem.delete", {"path": "/srv/app/build/out.txt"}, ("require_approval", "fs-delete")),
        ("filesystem.write", {"path": "/srv/app/notes.md"}, ("allow", "fs-write-workspace")),
        # one forbidden path among allowed ones is not allowed
        ("filesystem.write", {"paths": ["/srv/app/a.txt", "/var/spool/x"]}, ("deny", None)),
        ("filesystem.write", {"content": "no path at all"}, ("deny", None)),
    ],
)
def test_filesystem_pack(capability, payload, expected):
    assert decide("filesystem.yaml", capability, payload) == expected


def deep_list(value: object, levels: int) -> object:
    for _ in range(levels):
        value = [value]
    return value


# Each row: (capability, payload, expected action, expected rule or ANY). Every row was decided
# differently (mostly: let through) before the gap it names was closed.
ANY = object()
FS_GAPS = [
    # -- a path nested in the value of a path argument: every path must qualify for fs-write-workspace
    ("filesystem.write", {"paths": [["/etc/passwd"]]}, "deny", "fs-system-write"),
    ("filesystem.write", {"paths": ["/srv/app/a.txt", ["/etc/cron.d/evil"]]}, "deny", "fs-system-write"),
    ("filesystem.write", {"paths": ["/srv/app/a.txt", [["/usr/local/bin/x"]]]}, "deny", "fs-system-write"),
    ("filesystem.write", {"paths": ("/srv/app/a.txt", ("/boot/grub/grub.cfg",))}, "deny", "fs-system-write"),
    ("filesystem.write", {"paths": ["/srv/app/a.txt", {"/var/spool/cron/root"}]}, "deny", None),
    (
        "filesystem.write",
        {"paths": ["/srv/app/a.txt", deep_list("/etc/hosts", 100)]},
        "deny",
        "fs-system-write",
    ),
    ("filesystem.write", {"paths": ["/srv/app/a.txt", [b"/lib/x.so"]]}, "deny", "fs-system-write"),
    ("filesystem.write", {"paths": ["/srv/app/a.txt", [Path("/sbin/init")]]}, "deny", "fs-system-write"),
    (
        "filesystem.write",
        {"path": "/srv/app/a", "files": [{"name": "/etc/passwd", "content": "x"}]},
        "deny",
        "fs-system-write",
    ),
    (
        "filesystem.write",
        {"path": "/srv/app/a", "files": {"/etc/cron.d/evil": "* * * * * root sh\n"}},
        "deny",
        "fs-system-write",
    ),
    (
        "filesystem.write",
        {"path": "/srv/app/a", "files": {"main": "/usr/lib/x.so"}},
        "deny",
        "fs-system-write",
    ),
    (
        "filesystem.write",
        {"path": "/srv/app/a", "targets": [{"location": "/var/lib/x"}]},
        "deny",
        "fs-system-write",
    ),
    ("filesystem.read", {"paths": [["~/.ssh/id_rsa"]]}, "deny", "fs-secrets"),
    ("filesystem.read", {"paths": ["/srv/app/a.txt", ["/srv/app/.env"]]}, "deny", "fs-secret-files"),
    ("filesystem.read", {"files": {"/etc/shadow": None}}, "deny", "fs-secrets"),
    ("filesystem.delete", {"paths": [["/usr/bin/python3"]]}, "deny", "fs-system-delete"),
    # was: no path found
    ("filesystem.write", {"files": {"/srv/app/a.txt": "line one\nline two"}}, "allow", "fs-write-workspace"),
    # -- /proc/<pid>/root is /; a process's cwd and open files cannot be known (deny matches, allow does not)
    ("filesystem.read", {"path": "/proc/self/root/etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "/proc/1/root/etc/gshadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "/proc/thread-self/root/root/.bash_history"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "/proc/self/task/4242/root/etc/sudoers"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": f"/proc/31337/root{HOME}/.aws/credentials"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "/proc/self/root/../../etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "/proc/self/root/proc/self/root/etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "/proc//self/./root//srv/../etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "/proc/self/cwd/notes.txt"}, "deny", ANY),
    ("filesystem.read", {"path": "/proc/1/cwd"}, "deny", ANY),
    ("filesystem.read", {"path": "/proc/self/fd/3"}, "deny", ANY),
    ("filesystem.read", {"path": "/proc/self/fd/3/x"}, "deny", ANY),
    ("filesystem.read", {"path": "/dev/fd/7"}, "deny", ANY),
    ("filesystem.read", {"path": "/proc/self/environ"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/proc/1/task/1/environ"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/proc/self/mem"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/proc/self/root/dev/mem"}, "deny", "fs-secret-files"),
    ("filesystem.write", {"path": "/proc/self/cwd/notes.txt"}, "deny", "fs-secrets"),
    # it is /srv/app/notes.md
    ("filesystem.write", {"path": "/proc/self/root/srv/app/notes.md"}, "allow", "fs-write-workspace"),
    # -- SSH keys and other key material, whatever the name, wherever the .ssh directory
    ("filesystem.read", {"path": "/srv/backup/id_ecdsa"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/srv/backup/id_ecdsa_sk"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/srv/backup/id_dsa"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/srv/backup/id_dsa.pub"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/srv/backup/identity"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/mnt/c/Users/me/putty/server.ppk"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/home/bob/.ssh/config"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/home/bob/.ssh"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/etc/ssh/ssh_host_ed25519_key"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/srv/app/certs/client.p12"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/srv/app/.git-credentials"}, "deny", "fs-secret-files"),
    ("filesystem.write", {"path": "/home/bob/.ssh/authorized_keys"}, "deny", "fs-secret-files"),
    ("filesystem.write", {"path": "/srv/app/authorized_keys2"}, "deny", "fs-secret-files"),
    ("filesystem.write", {"path": "/srv/app/known_hosts"}, "deny", "fs-secret-files"),
    # case-insensitive filesystems
    ("filesystem.read", {"path": "/home/alice/.SSH/ID_RSA"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/srv/app/Server.PEM"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/srv/app/.ENV"}, "deny", "fs-secret-files"),
    ("filesystem.write", {"path": "/ETC/cron.d/evil"}, "deny", "fs-system-write"),
    # -- file: URLs, any case, empty host or localhost, percent-escapes decoded; another host is unknown
    ("filesystem.read", {"path": "FILE:///etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "File:///etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "file://localhost/etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "file://LocalHost/etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "file:/etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "file:///etc/%73hadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "  FILE:///srv/../etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "file://fileserver/etc/x"}, "deny", ANY),
    ("filesystem.write", {"path": "FILE:///etc/cron.d/evil"}, "deny", "fs-system-write"),
    ("filesystem.write", {"path": "file://localhost/usr/bin/ls"}, "deny", "fs-system-write"),
    ("filesystem.write", {"path": "file:///srv/app/x?.md"}, "deny", ANY),
    # -- account databases, their backups, sudoers drop-ins
    ("filesystem.read", {"path": "/etc/shadow-"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/etc/gshadow-"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/etc/passwd-"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/etc/shadow.bak"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/etc/sudoers.d/90-cloud-init-users"}, "deny", "fs-secrets"),
    ("filesystem.read", {"path": "/etc/security/opasswd"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"path": "/etc/ssl/private/server.key"}, "deny", "fs-secrets"),
    # -- path arguments under more names, in any spelling
    ("filesystem.read", {"name": "~/.ssh/id_rsa"}, "deny", "fs-secrets"),
    ("filesystem.read", {"file_name": "/etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"file-name": "/etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"FILE NAME": "/etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"File-Path": "/etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"FILE_PATH ": "/etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"pathname": "/etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"input_file": "/etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"options": {"location": "/etc/shadow"}}, "deny", "fs-secrets"),
    ("filesystem.write", {"path": "/srv/app/a", "output_path": "/etc/cron.d/x"}, "deny", "fs-system-write"),
    ("filesystem.write", {"path": "/srv/app/a", "save_as": "/usr/bin/ls"}, "deny", "fs-system-write"),
    ("filesystem.write", {"path": "/srv/app/a", "to": "/etc/profile"}, "deny", "fs-system-write"),
    ("filesystem.write", {"path": "/srv/app/a", "destPath": "/boot/x"}, "deny", "fs-system-write"),
    ("filesystem.write", {"path": "/srv/app/a", "targetFile": "/sys/x"}, "deny", "fs-system-write"),
    ("filesystem.write", {"path": "/srv/app/a", "newPath": "/dev/sda"}, "deny", "fs-system-write"),
    ("filesystem.read", {"uri": "file:///etc/shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"configPath": "/etc/shadow"}, "deny", "fs-secrets"),
    (
        "filesystem.read",
        {"request": {"key-file": "/srv/certs/tls"}, "backup_dir": "/root"},
        "deny",
        "fs-secrets",
    ),
    ("filesystem.write", {"path": "/srv/app/a", "log_file": "/var/log/x"}, "deny", "fs-system-write"),
    ("filesystem.write", {"path": "/srv/app/a", "cacheDirectory": "/usr/share/x"}, "deny", "fs-system-write"),
    # -- a relative path is also judged against the directory the call names (cwd, dir, root, ...)
    ("filesystem.read", {"outputFolder": "/etc", "name": "shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"base": "/etc", "path": "gshadow-"}, "deny", "fs-secret-files"),
    ("filesystem.read", {"directory": "/etc", "filename": "shadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"cwd": "/etc", "path": "sudoers"}, "deny", "fs-secrets"),
    ("filesystem.read", {"working_dir": "/etc", "file": "./gshadow"}, "deny", "fs-secrets"),
    ("filesystem.read", {"folder": "/etc/ssl", "name": "private/x.crt"}, "deny", "fs-secrets"),
    ("filesystem.write", {"cwd": "/etc", "path": "cron.d/evil"}, "deny", "fs-system-write"),
    ("filesystem.write", {"root": "/usr/lib", "path": "x.so"}, "deny", "fs-system-write"),
    ("filesystem.write", {"workDir": "/srv/app/../../etc", "file": "profile"}, "deny", "fs-system-write"),
]


@pytest.mark.parametrize(("capability", "payload", "action", "rule"), FS_GAPS)
def test_filesystem_pack_gaps(capability, payload, action, rule):
    got = decide("filesystem.yaml", capability, payload)
    assert got[0] == action and (rule is ANY or got[1] == rule), got


@pytest.mark.parametrize(
    ("capability", "payload", "expected"),
    [
        ("http.get", {"url": "https://api.github.com/repos/x/y"}, ("allow", "http-reads")),
        ("http.get", {"url": "http://169.254.169.254/latest/meta-data/"}, ("deny", "http-internal")),
        ("http.get", {"url": "https://allowed.example.com@127.0.0.1/"}, ("deny", "http-internal")),
        ("http.get", {"url": "https://0x7f.1/admin"}, ("deny", "http-internal")),
        ("http.get", {"url": "https://metadata.google.internal/"}, ("deny", "http-internal")),
        ("http.get", {"url": "http://example.com/"}, ("deny", "http-plaintext")),
        ("http.get", {"url": "https://db.example.com:5432/"}, ("deny", "http-odd-ports")),
        (
            "http.post",
            {"url": "https://api.example.com/v1/items", "body": {"a": 1}},
            ("require_approval", "http-writes"),
        ),
        ("http.patch", {"url": "https://api.example.com/v1/items/1"}, ("require_approval", "http-writes")),
        ("http.delete", {"url": "https://api.example.com/v1/items/1"}, ("require_approval", "http-deletes")),
        ("http.get", {"url": "https://[::ffff:10.0.0.1]/"}, ("deny", "http-internal")),
        ("http.get", {"query": "no url"}, ("deny", None)),
    ],
)
def test_http_pack(capability, payload, expected):
    assert decide("http.yaml", capability, payload) == expected


@pytest.mark.parametrize(
    ("capability", "payload", "expected"),
    [
        ("payments.refund", {"amount": 40}, ("warn", "refund-observe")),
        ("payments.refund", {"amount": "99.99"}, ("warn", "refund-observe")),
        ("payments.refund", {"amount": 100.01}, ("require_approval", "refund-over-100")),
        ("payments.refund", {"amount": 20000}, ("deny", "pay-over-hard-limit")),
        ("payments.refund", {"amount": -5}, ("deny", "pay-negative")),
        ("payments.refund", {"amount": "lots"}, ("deny", "pay-over-hard-limit")),  # not a number: fail-closed
        ("payments.refund", {"order": "o-1"}, ("deny", None)),  # no amount: not allowed
        ("payments.charge", {"amount": 20}, ("allow", "charge-small")),
        ("payments.charge", {"amount": 501}, ("require_approval", "charge-over-500")),
        ("payments.payout", {"amount": 1}, ("require_approval", "payouts")),
        ("payments.read", {"id": "ch_1"}, ("allow", "read")),
    ],
)
def test_payments_pack(capability, payload, expected):
    assert decide("payments.yaml", capability, payload) == expected


HTTP_GAPS = [
    # -- in-cluster service names: Kubernetes, Consul, any name outside the public top-level domains
    ("http.get", {"url": "https://kubernetes.default.svc/api/v1/secrets"}, "deny", "http-internal"),
    ("http.get", {"url": "https://kubernetes.default/api"}, "deny", "http-internal"),
    ("http.get", {"url": "https://KUBERNETES.DEFAULT.SVC./api"}, "deny", "http-internal"),
    ("http.get", {"url": "https://redis.cache.svc:443/"}, "deny", "http-internal"),
    ("http.get", {"url": "https://payments.team-a/"}, "deny", "http-internal"),
    ("http.get", {"url": "https://vault.service.consul/v1/secret"}, "deny", "http-internal"),
    ("http.get", {"url": "https://web.service.dc1.consul:8501/"}, "deny", "http-internal"),
    ("http.get", {"url": "https://consul.consul/"}, "deny", "http-internal"),
    ("http.get", {"url": "https://api.test/"}, "deny", "http-internal"),
    ("http.get", {"url": "https://10.0.0.1.nip.io/"}, "deny", "http-internal"),
    ("http.get", {"url": "https://app.localtest.me/"}, "deny", "http-internal"),
    ("http.get", {"endpoint": "kubernetes.default.svc:443/healthz"}, "deny", "http-internal"),
    (
        "http.post",
        {"url": "https://kubernetes.default.svc/api/v1/namespaces/default/pods"},
        "deny",
        "http-internal",
    ),
    ("http.delete", {"url": "https://etcd.kube-system.svc:2379/v3/kv"}, "deny", "http-internal"),
    (
        "http.get",
        {"request": {"method": "GET", "url": "https://argocd-server.argocd.svc/"}},
        "deny",
        "http-internal",
    ),
    # -- a proxy argument pointing inside
    (
        "http.get",
        {"url": "https://example.com/", "proxy": "http://10.0.0.1:3128"},
        "deny",
        "http-internal-proxy",
    ),
    ("http.get", {"url": "https://example.com/", "proxy": "10.0.0.1:3128"}, "deny", "http-internal-proxy"),
    (
        "http.get",
        {"url": "https://example.com/", "proxy": "http://user:pw@squid.proxy.svc:3128"},
        "deny",
        "http-internal-proxy",
    ),
    (
        "http.get",
        {"url": "https://example.com/", "proxies": {"https": "http://127.0.0.1:8080"}},
        "deny",
        "http-internal-proxy",
    ),
    (
        "http.get",
        {
            "url": "https://example.com/",
            "proxies": {"http": "https://proxy.example.org", "https": "socks5h://[::1]:1080"},
        },
        "deny",
        "http-internal-proxy",
    ),
    (
        "http.get",
        {"url": "https://example.com/", "proxies": ["http://169.254.169.254/"]},
        "deny",
        "http-internal-proxy",
    ),
    (
        "http.get",
        {"url": "https://example.com/", "http_proxy": "http://192.168.1.10:8080"},
        "deny",
        "http-internal-proxy",
    ),
    (
        "http.get",
        {"url": "https://example.com/", "HTTPS_PROXY": "http://proxy.internal:3128"},
        "deny",
        "http-internal-proxy",
    ),
    (
        "http.get",
        {"url": "https://example.com/", "env": {"ALL_PROXY": "socks5://localhost:1080"}},
        "deny",
        "http-internal-proxy",
    ),
    (
        "http.get",
        {"url": "https://example.com/", "proxyUrl": "http://0x7f.1:3128"},
        "deny",
        "http-internal-proxy",
    ),
    (
        "http.get",
        {"url": "https://example.com/", "proxy": {"host": "10.1.2.3", "port": 3128}},
        "deny",
        "http-internal-proxy",
    ),
    (
        "http.get",
        {"url": "https://example.com/", "proxy": {"scheme": "http", "hostname": "kubernetes.default"}},
        "deny",
        "http-internal-proxy",
    ),
    (
        "http.post",
        {"url": "https://example.com/hook", "options": {"proxy": "http://[fd00::1]:3128"}},
        "deny",
        "http-internal-proxy",
    ),
    (
        "http.get",
        {"url": "https://example.com/", "proxy_host": "10.0.0.1", "proxy_port": 3128},
        "deny",
        "http-internal-proxy",
    ),
    (
        "http.get",
        {"url": "https://example.com/", "proxyServer": "localhost:8888"},
        "deny",
        "http-internal-proxy",
    ),
    # -- a host given apart from the URL
    ("http.get", {"url": "https://example.com/", "host": "169.254.169.254"}, "deny", "http-internal-host"),
    (
        "http.get",
        {"url": "https://example.com/", "headers": {"Host": "kubernetes.default.svc"}},
        "deny",
        "http-internal-host",
    ),
    ("http.get", {"url": "https://example.com/", "hostname": "0x7f000001"}, "deny", "http-internal-host"),
    # -- URL arguments under other spellings of the default names, and URLs given in parts
    (
        "http.get",
        {"url": "https://example.com/", "callbackUrl": "https://169.254.169.254/"},
        "deny",
        "http-internal",
    ),
    ("http.get", {"url": "https://example.com/", "webhookURL": "https://10.0.0.5/"}, "deny", "http-internal"),
    (
        "http.get",
        {"url": "https://example.com/", "redirect-uri": "https://localhost/"},
        "deny",
        "http-internal",
    ),
    (
        "http.get",
        {"url": "https://example.com/", "endpoint": {"host": "169.254.169.254"}},
        "deny",
        "http-internal",
    ),
    (
        "http.get",
        {"url": "https://example.com/", "urls": {"mirror": "https://127.0.0.1/"}},
        "deny",
        "http-internal",
    ),
]


@pytest.mark.parametrize(("capability", "payload", "action", "rule"), HTTP_GAPS)
def test_http_pack_gaps(capability, payload, action, rule):
    got = decide("http.yaml", capability, payload)
    assert got[0] == action and (rule is ANY or got[1] == rule), got


PAYMENTS_GAPS = [
    # -- the same amount under another case or spelling of its name
    ("payments.charge", {"amount": 5, "AMOUNT": 50000}, "deny", "pay-over-hard-limit"),
    ("payments.charge", {"AMOUNT": 50000, "amount": 5}, "deny", "pay-over-hard-limit"),
    ("payments.charge", {"amount": 5, "Amount": 600}, "require_approval", "charge-over-500"),
    ("payments.charge", {"amount": 5, "aMoUnT": "600.00"}, "require_approval", "charge-over-500"),
    ("payments.charge", {"amount": 5, "amount ": 50000}, "deny", "pay-over-hard-limit"),
    ("payments.charge", {"amount": 5, "ａｍｏｕｎｔ": 50000}, "deny", "pay-over-hard-limit"),  # full-width
    # zero-width space
    ("payments.charge", {"amount": 5, "am\u200bount": 50000}, "deny", "pay-over-hard-limit"),
    ("payments.charge", {"amount": 5, "AMOUNT": -1}, "deny", "pay-negative"),
    # not a number: fail-closed
    ("payments.charge", {"amount": 5, "AMOUNT": "lots"}, "deny", "pay-over-hard-limit"),
    ("payments.charge", {"Amount": 20}, "allow", "charge-small"),
    ("payments.refund", {"amount": 5, "AMOUNT": 500}, "require_approval", "refund-over-100"),
    ("payments.refund", {"Amount": 40}, "warn", "refund-observe"),
    ("payments.payout", {"amount": 5, "AMOUNT": 50000}, "deny", "pay-over-hard-limit"),
    # -- a nested amount that disagrees with the top-level one
    ("payments.charge", {"amount": 5, "order": {"amount": 50000}}, "deny", "pay-over-hard-limit"),
    ("payments.charge", {"amount": 5, "order": {"Amount": 600}}, "require_approval", "charge-over-500"),
    (
        "payments.charge",
        {"amount": 5, "items": [{"amount": 2}, {"amount": 600}]},
        "require_approval",
        "charge-over-500",
    ),
    (
        "payments.charge",
        {"amount": 5, "payment": {"details": {"AMOUNT": "20000"}}},
        "deny",
        "pay-over-hard-limit",
    ),
    ("payments.charge", {"order": {"amount": 20}}, "allow", "charge-small"),
    ("payments.refund", {"amount": 5, "refund": {"amount": -5}}, "deny", "pay-negative"),
    ("payments.refund", {"amount": 5, "lines": [{"amount": 101}]}, "require_approval", "refund-over-100"),
    # not a number
    ("payments.refund", {"amount": 5, "meta": {"amount": {"value": 900}}}, "deny", "pay-over-hard-limit"),
    # -- a Decimal is a number (an in-process tool is called with Python objects)
    ("payments.charge", {"amount": Decimal("20.00")}, "allow", "charge-small"),
    ("payments.charge", {"amount": Decimal("600")}, "require_approval", "charge-over-500"),
]


@pytest.mark.parametrize(("capability", "payload", "action", "rule"), PAYMENTS_GAPS)
def test_payments_pack_gaps(capability, payload, action, rule):
    assert decide("payments.yaml", capability, payload) == (action, rule)


STILL_DECIDED_AS_BEFORE = [
    # regression guards for the gap fixes above: ordinary calls keep their decision
    (
        "filesystem.yaml",
        "filesystem.write",
        {"files": [{"path": "/srv/app/a.txt", "content": "/etc/shadow"}]},
        "allow",
    ),
    (
        "filesystem.yaml",
        "filesystem.write",
        {"directory": "/srv/app", "filename": "notes.md", "name": "Notes"},
        "allow",
    ),
    (
        "filesystem.yaml",
        "filesystem.write",
        {"path": "/srv/app/x.json", "content": {"name": "Alice", "source": "crm"}},
        "allow",
    ),
    ("filesystem.yaml", "filesystem.read", {"path": "/srv/app/identity/models.py"}, "allow"),
    ("filesystem.yaml", "filesystem.read", {"path": "/proc/cpuinfo"}, "allow"),
    ("filesystem.yaml", "filesystem.read", {"path": "file:///srv/app/README.md"}, "allow"),
    (
        "http.yaml",
        "http.get",
        {"url": "https://api.example.io/v1", "proxy": "https://proxy.example.com:8080"},
        "allow",
    ),
    ("http.yaml", "http.get", {"url": "https://bücher.de/"}, "allow"),
    (
        "http.yaml",
        "http.get",
        {"url": "https://docs.python.org/3/", "links": [{"rel": "self", "title": "Home"}]},
        "allow",
    ),
    ("http.yaml", "http.get", {"url": "https://mirror.xn--p1ai/", "no_proxy": "localhost,.svc"}, "allow"),
    (
        "payments.yaml",
        "payments.charge",
        {"amount": 20, "order": {"amount": "20.00"}, "amount_refunded": 50000},
        "allow",
    ),
]


@pytest.mark.parametrize(("pack", "capability", "payload", "action"), STILL_DECIDED_AS_BEFORE)
def test_gap_fixes_keep_ordinary_calls(pack, capability, payload, action):
    assert decide(pack, capability, payload)[0] == action


def test_payments_pack_redacts_card_data():
    policy = load_policy(PACKS / "payments.yaml")
    assert {"card_number", "cvc", "iban"} <= policy.redact
    assert (
        policy.rule("refund-over-100") is not None and policy.rule("refund-over-100").approval_timeout == 900
    )  # type: ignore[union-attr]


@pytest.mark.parametrize("depth", [63, 64, 65, 200])
def test_nesting_cannot_hide_a_url_in_text(depth):
    # URLs in free text used to be looked for only down to the payload walker's depth bound (64)
    payload: dict[str, object] = {"note": "then fetch http://169.254.169.254/latest/meta-data/"}
    for _ in range(depth):
        payload = {"items": [payload]}
    assert decide("http.yaml", "http.get", payload) == ("deny", "http-internal")
