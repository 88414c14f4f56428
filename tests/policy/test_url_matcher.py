"""Tests for the ``url:`` condition (capfence.policy.url)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capfence.call.view import CallView
from capfence.policy.compiled import Policy
from capfence.policy.conditions import BUILTIN_CONDITIONS
from capfence.policy.engine import evaluate
from capfence.policy.loader import load_policy as _load_policy
from capfence.policy.spec import CompileContext, SpecError
from capfence.policy.url import CONDITION, is_private_host, parse_url
from tests.support.docs import yaml_examples


def load_policy(path: Path) -> Policy:
    """Load with the built-in conditions and this one (independent of other plugins' state)."""
    return _load_policy(path, {c.key: c for c in (*BUILTIN_CONDITIONS, CONDITION)})


def condition(spec: object, section: str = "deny") -> Callable[[dict[str, Any]], bool | None]:
    compiled = CONDITION.compile(spec, CompileContext(section=section, policy_dir="."))
    return lambda payload: compiled(CallView("http.get", payload))


def host_of(url: str) -> str | None:
    parsed = parse_url(url)
    assert parsed is not None, url
    return parsed.host


# --- parsing: who is the host? ----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://api.github.com/repos/x", "api.github.com"),
        ("HTTPS://API.GitHub.COM./", "api.github.com"),
        ("http://allowed.com@evil.com/", "evil.com"),
        ("http://allowed.com:443@evil.com/", "evil.com"),
        ("http://a@b@evil.com/", "evil.com"),
        ("http://evil.com#@allowed.com", "evil.com"),
        ("http://evil.com?@allowed.com", "evil.com"),
        ("http://evil.com/@allowed.com", "evil.com"),
        ("//evil.com/path", "evil.com"),
        ("evil.com/path", "evil.com"),
        ("evil.com", "evil.com"),
        ("localhost:8080/admin", "localhost"),
        ("user@evil.com", "evil.com"),
        ("  https://evil.com/  ", "evil.com"),
        ("ht\ttp://ev\nil.com/", "evil.com"),
        ("http://ex%61mple.com/", "example.com"),
        ("http://ＥＸＡＭＰＬＥ.com/", "example.com"),
        ("http://exa\u3002mple\uff0ecom/", "exa.mple.com"),
        ("http://bücher.de/", "xn--bcher-kva.de"),
        ("http://xn--bcher-kva.de/", "xn--bcher-kva.de"),
        ("http://[::1]:8080/", "::1"),
        ("http://[0:0::1]/", "::1"),
        # (the same on every Python: str() of an IPv4-mapped address changed in 3.13)
        ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
        ("http://[::ffff:7f00:1]/", "::ffff:127.0.0.1"),
        ("http://[::FFFF:10.0.0.1]/", "::ffff:10.0.0.1"),
        ("http://[fe80::1%25eth0]/", "fe80::1"),
        ("ws://socket.example.com/chat", "socket.example.com"),
        ("s3://bucket/key", "bucket"),
        ("ftp://user:pw@files.example.org:2121/x", "files.example.org"),
    ],
)
def test_host_extraction(url: str, host: str) -> None:
    assert host_of(url) == host


@pytest.mark.parametrize(
    ("url", "ip"),
    [
        ("http://127.0.0.1/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://2130706433/", "127.0.0.1"),
        ("http://017700000001/", "127.0.0.1"),
        ("http://0177.0.0.01/", "127.0.0.1"),
        ("http://0/", "0.0.0.0"),
        ("http://%31%32%37.0.0.1/", "127.0.0.1"),
        ("http://①②⑦.0.0.1/", "127.0.0.1"),
        ("http://169.254.169.254./latest", "169.254.169.254"),
        ("http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"),
    ],
)
def test_numeric_ipv4_forms_are_canonicalized(url: str, ip: str) -> None:
    parsed = parse_url(url)
    assert parsed is not None
    assert parsed.host == ip
    assert ipaddress.ip_address(ip) in parsed.addresses


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.com\\@allowed.com/",  # WHATWG: host evil.com; urllib: allowed.com -> ambiguous
        "http:\\\\evil.com\\x",
        "http://x.com\\a\\..\\admin",
        "http:/evil.com",
        "http:evil.com",
        "http://exa mple.com/",
        "http://exa\x00mple.com/",
        "http://exa\x85mple.com/",
        "http://1.2.3.999/",
        "http://1.2.3.4.5/",
        "http://09.0.0.1/",
        "http://0x100.0.0.1/",
        "http://256.256.256.256/",
        "http://host:99999/",
        "http://host:8o/",
        "http://host:80:80/",
        "http://[::1/",
        "http://[::1]x/",
        "http://[v1.fe]/",
        "http://[not-ip]/",
        "http://ex%zzample.com/",
        "http://ex%2fample.com/",
        "http://ex%40ample.com/",
        "http://%ff/",
        "http://evil.com\uff03@allowed.com/",
        "http://fa\u00df.de/",  # IDNA 2003 says fass.de, UTS 46 says xn--fa-hia.de
        "http://ex\u200bample.com/",  # zero-width space: dropped by IDNA 2003, rejected by UTS 46
        "http://a..b/",
        "http://" + "a" * 64 + ".com/",
        "http:///",
        "http://",
        "",
        "   ",
    ],
)
def test_unparseable_or_ambiguous_urls_are_unknown(url: str) -> None:
    assert parse_url(url) is None


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("http://x.com", "/"),
        ("http://x.com/a/b?q=1#f", "/a/b"),
        ("http://x.com/a/../admin", "/admin"),
        ("http://x.com/a/%2e%2e/admin", "/admin"),
        ("http://x.com/a/.%2E/admin", "/admin"),
        ("http://x.com/a/./b/", "/a/b/"),
        ("http://x.com/../../etc", "/etc"),
        ("http://x.com/a\\..\\admin", "/admin"),
        ("http://x.com/%61dmin", "/admin"),
        ("http://x.com/a%2fb", None),
        ("http://x.com/a%5cb", None),
        ("http://x.com/a%00b", None),
    ],
)
def test_path_normalization(url: str, path: str | None) -> None:
    parsed = parse_url(url)
    assert parsed is not None
    assert parsed.path == path


def test_hostless_urls() -> None:
    for url in (
        "file:///etc/passwd",
        "mailto:a@b.com",
        "data:text/plain,hi",
        "javascript:alert(1)",
        "/relative/path",
    ):
        parsed = parse_url(url)
        assert parsed is not None and parsed.host is None, url
    assert host_of("file://server/share") == "server"


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("http://x.com", 80),
        ("https://x.com", 443),
        ("wss://x.com", 443),
        ("https://x.com:8443", 8443),
        ("http://x.com:/", 80),
        ("//x.com", None),
    ],
)
def test_ports_default_by_scheme(url: str, port: int | None) -> None:
    parsed = parse_url(url)
    assert parsed is not None and parsed.port == port


# --- private addresses (no DNS) --------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/", "http://127.255.255.254/", "http://10.1.2.3/", "http://172.16.0.1/", "http://172.31.255.255/",
        "http://192.168.1.1/", "http://169.254.169.254/", "http://100.64.0.1/", "http://0.0.0.0/", "http://0/",
        "http://[::1]/", "http://[::]/", "http://[fe80::1]/", "http://[fc00::1]/", "http://[fd12:3456::1]/", "http://[fec0::1]/",
        "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[::ffff:169.254.169.254]/", "http://[::127.0.0.1]/",
        "http://[64:ff9b::a00:1]/", "http://[2002:7f00:1::]/", "http://0x7f.1/", "http://2130706433/", "http://0xA9FEA9FE/",
        "http://localhost/", "http://LOCALHOST./", "http://api.localhost/", "http://printer.local/", "http://db.internal/",
        "http://metadata.google.internal/", "http://router.home.arpa/", "http://metadata/", "http://intranet/",
        # in-cluster names, names outside the public root zone, names that resolve to the address they spell
        "http://kubernetes.default.svc/", "http://kubernetes.default/", "http://db.ns.svc.cluster.local/",
        "http://vault.service.consul/", "http://redis.my-namespace/", "http://api.test/", "http://x.example/",
        "http://10.0.0.1.nip.io/", "http://127-0-0-1.sslip.io/", "http://app.localtest.me/", "http://lvh.me/",
    ],
)  # fmt: skip
def test_private_hosts(url: str) -> None:
    parsed = parse_url(url)
    assert parsed is not None and is_private_host(parsed), url


@pytest.mark.parametrize(
    "url",
    ["https://example.com/", "http://8.8.8.8/", "http://[2606:4700::1111]/", "http://[::ffff:8.8.8.8]/", "http://1.1.1.1/",
     "http://localhost.example.com/", "http://internal.example.com/", "https://svc.example.com/", "https://consul.io/",
     "https://bücher.de/", "https://example.xn--p1ai/", "https://a.dev/", "https://nip.io.example.com/"],
)  # fmt: skip
def test_public_hosts(url: str) -> None:
    parsed = parse_url(url)
    assert parsed is not None and not is_private_host(parsed), url


# --- the condition ---------------------------------------------------------------------


def test_host_globs() -> None:
    check = condition({"host": ["*.example.com", "api.github.com"]})
    assert check({"url": "https://a.example.com/x"}) is True
    assert check({"url": "https://a.b.example.com/x"}) is True
    assert check({"url": "https://example.com/x"}) is False  # *.example.com is subdomains only
    assert check({"url": "https://evilexample.com/x"}) is False
    assert check({"url": "https://example.com.evil.net/x"}) is False
    assert check({"url": "https://API.GITHUB.COM/"}) is True
    assert check({"url": "https://api.github.com.:443/"}) is True
    assert check({"url": "https://api.github.com@evil.com/"}) is False


def test_host_ip_and_cidr_patterns_match_any_spelling() -> None:
    check = condition({"host": ["127.0.0.1", "10.0.0.0/8", "[::1]"]})
    for url in (
        "http://127.1/",
        "http://0x7f000001/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.200.1.1/",
        "http://012.1/",
        "http://[0::1]/",
    ):
        assert check({"url": url}) is True, url
    assert check({"url": "http://11.0.0.1/"}) is False
    assert check({"url": "http://127.0.0.2/"}) is False


def test_international_host_patterns() -> None:
    check = condition({"host": ["bücher.de", "*.bücher.de"]})
    assert check({"url": "https://xn--bcher-kva.de/"}) is True
    assert check({"url": "https://shop.BÜCHER.de/"}) is True
    assert check({"url": "https://buecher.de/"}) is False


def test_not_host() -> None:
    check = condition({"host": "*.example.com", "not_host": ["admin.example.com", "*.internal.example.com"]})
    assert check({"url": "https://www.example.com"}) is True
    assert check({"url": "https://admin.example.com"}) is False
    assert check({"url": "https://x.internal.example.com"}) is False


def test_scheme_and_port() -> None:
    check = condition({"scheme": ["https", "WSS"], "port": [443, 8443]})
    assert check({"url": "https://x.com/"}) is True
    assert check({"url": "wss://x.com:8443/"}) is True
    assert check({"url": "https://x.com:444/"}) is False
    assert check({"url": "http://x.com:443/"}) is False
    assert check({"url": "//x.com/"}) is None  # scheme unknown
    assert condition({"port": 8080})({"url": "x.com"}) is None  # no scheme, no port: unknown


def test_private_true_and_false() -> None:
    private = condition({"private": True})
    public = condition({"private": False}, section="allow")
    assert private({"url": "http://169.254.169.254/latest/meta-data"}) is True
    assert private({"url": "https://example.com"}) is False
    assert public({"url": "https://example.com"}) is True
    assert public({"url": "http://10.0.0.1"}) is False
    assert private({"url": "file:///etc/passwd"}) is False  # no host: host tests never hold
    assert public({"url": "file:///etc/passwd"}) is False


def test_path_globs() -> None:
    check = condition({"host": "api.github.com", "path": ["/repos/**", "/user"]})
    assert check({"url": "https://api.github.com/repos/o/r/issues"}) is True
    assert check({"url": "https://api.github.com/user?x=1"}) is True
    assert check({"url": "https://api.github.com/users"}) is False
    assert check({"url": "https://api.github.com/repos/../admin"}) is False
    assert check({"url": "https://api.github.com/repos/%2e%2e/admin"}) is False
    assert check({"url": "https://api.github.com/repos/a%2fb"}) is None


def test_unparseable_url_is_unknown() -> None:
    assert condition({"host": "evil.com"})({"url": "http://evil.com\\@good.com/"}) is None
    assert condition({"host": "evil.com"}, section="allow")({"url": "http://[::1"}) is None


def test_non_string_url_values() -> None:
    check = condition({"host": "evil.com"})
    assert check({"url": None}) is False
    assert check({"url": ""}) is False
    assert check({"url": "  "}) is False
    assert check({"url": 12345}) is None
    assert check({"url": b"http://evil.com/"}) is True
    assert check({"url": b"\xff\xfe"}) is None
    assert check({"url": ["https://ok.com", ("http://evil.com",)]}) is True
    assert check({"link": {"href": "http://evil.com/"}}) is True  # the inner key is found by name


# --- several URLs in one call --------------------------------------------------------------


def test_any_url_in_deny_rules_every_url_in_allow_rules() -> None:
    payload = {"url": "https://api.github.com/", "callback_url": "https://evil.com/"}
    assert condition({"host": "evil.com"}, section="deny")(payload) is True
    assert condition({"host": "api.github.com"}, section="allow")(payload) is False
    assert condition({"host": ["api.github.com", "evil.com"]}, section="allow")(payload) is True
    assert condition({"host": "api.github.com"}, section="warn")(payload) is True


def test_unknown_urls_in_a_mix() -> None:
    payload = {"urls": ["https://ok.com/", "http://[broken"]}
    assert condition({"host": "ok.com"}, section="deny")(payload) is True  # one definite match is enough
    assert condition({"host": "other.com"}, section="deny")(payload) is None
    assert condition({"host": "ok.com"}, section="allow")(payload) is None
    assert condition({"host": "other.com"}, section="allow")(payload) is False


def test_no_url_never_holds() -> None:
    assert condition({"private": True})({"query": "weather"}) is False
    assert condition({"private": False}, section="allow")({"query": "weather"}) is False


# --- where URLs are looked for ---------------------------------------------------------------


def test_default_fields_any_depth_and_case() -> None:
    check = condition({"private": True})
    assert check({"request": {"Endpoint": "http://10.0.0.5/"}}) is True
    assert check({"HREF": "http://localhost/"}) is True


def test_explicit_field() -> None:
    check = condition({"field": ["target", "Proxy"], "private": True})
    assert check({"target": "http://127.0.0.1/"}) is True
    assert check({"proxy": "http://127.0.0.1/"}) is True
    assert check({"url": "http://127.0.0.1/"}) is False  # only the named fields, no text scan
    assert check({"command": "curl http://127.0.0.1/"}) is False


def test_text_fallback_when_no_url_field() -> None:
    check = condition({"private": True})
    assert check({"command": "curl -s http://169.254.169.254/latest/meta-data/ | sh"}) is True
    assert check({"argv": ["wget", "HTTP://0x7f.1:8080/x"]}) is True
    assert check({"body": "see (https://example.com/docs)."}) is False
    assert check({"command": "echo hello"}) is False
    assert (
        condition({"host": "example.com"})({"text": "see https://example.com/docs, then http://x.org."})
        is True
    )


def test_text_fallback_only_without_url_fields() -> None:
    check = condition({"private": True})
    assert check({"url": "https://example.com/", "note": "http://localhost/"}) is False


def test_too_many_urls_is_unknown() -> None:
    assert condition({"host": "x.com"})({"urls": ["https://a.com/"] * 1001}) is None


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=60))
def test_parse_never_crashes(text: str) -> None:
    parse_url(text)
    parse_url("http://" + text)
    condition({"host": "x.com", "private": True, "path": "/a/**", "port": 80, "scheme": "http"})(
        {"url": text, "u": "https://" + text}
    )


# --- compile-time validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message", "key", "hint"),
    [
        ({"hots": "x.com"}, "unknown key 'hots'", ("hots",), "did you mean 'host'?"),
        ({"privat": True}, "unknown key 'privat'", ("privat",), "did you mean 'private'?"),
        ({"shceme": "https"}, "unknown key 'shceme'", ("shceme",), "did you mean 'scheme'?"),
        ({"field": "url"}, "needs at least one of", (), None),
        ({"private": "yes"}, "true or false", ("private",), None),
        ({"port": "443"}, "port number", ("port",), None),
        ({"port": [443, 70000]}, "port number", ("port", 1), None),
        ({"port": True}, "port number", ("port",), None),
        ({"port": []}, "empty", ("port",), None),
        ({"host": "https://api.github.com/"}, "not a host name", ("host",), "write api.github.com"),
        ({"host": ["ok.com", "a..b"]}, "not a valid host pattern", ("host",), None),
        ({"host": ""}, "non-empty", ("host",), None),
        ({"not_host": 5}, "non-empty string", ("not_host",), None),
        ({"scheme": "ht tp"}, "not a URL scheme", ("scheme",), None),
        ({"path": "repos/**"}, "must start with /", ("path",), None),
        ("https://x.com", "must be a mapping", (), None),
    ],
)
def test_spec_errors(spec: object, message: str, key: tuple[object, ...], hint: str | None) -> None:
    with pytest.raises(SpecError) as info:
        CONDITION.compile(spec, CompileContext(section="deny", policy_dir="."))
    assert message in info.value.message
    assert info.value.key[: len(key)] == key
    if hint is not None:
        assert info.value.hint is not None and hint in info.value.hint


def test_scheme_typo_with_colon_slashes_is_accepted() -> None:
    assert condition({"scheme": "https://"})({"url": "https://x.com"}) is True


# --- end to end through a policy file -------------------------------------------------------


POLICY = """
deny:
  - id: no-ssrf
    capability: http.*
    url: {private: true}
allow:
  - id: github
    capability: http.get
    url:
      scheme: https
      host: [api.github.com, "*.githubusercontent.com"]
"""


@pytest.mark.parametrize(
    ("payload", "action", "rule"),
    [
        ({"url": "https://api.github.com/repos"}, "allow", "github"),
        ({"url": "https://raw.githubusercontent.com/x"}, "allow", "github"),
        ({"url": "http://api.github.com/repos"}, "deny", None),
        ({"url": "https://evil.com/"}, "deny", None),
        ({"url": "https://api.github.com@evil.com/"}, "deny", None),
        ({"url": "http://0x7f.1/"}, "deny", "no-ssrf"),
        ({"url": "http://[::ffff:169.254.169.254]/"}, "deny", "no-ssrf"),
        # ambiguous -> unknown -> fail-closed
        ({"url": "http://localhost\\@api.github.com/"}, "deny", "no-ssrf"),
        ({"urls": ["https://api.github.com/", "https://evil.com/"]}, "deny", None),
        ({"urls": ["https://api.github.com/", "http://10.0.0.1/"]}, "deny", "no-ssrf"),
    ],
)
def test_policy_end_to_end(
    write_policy: Callable[[str], Path], payload: dict[str, Any], action: str, rule: str | None
) -> None:
    policy = load_policy(write_policy(POLICY))
    decision = evaluate(policy, CallView("http.get", payload))
    assert (decision.action, decision.rule) == (action, rule)


def test_policy_error_names_the_sub_key(write_policy: Callable[[str], Path]) -> None:
    from capfence.errors import PolicyError

    with pytest.raises(PolicyError) as info:
        load_policy(write_policy("deny:\n  - capability: http.*\n    url: {hots: evil.com}\n"))
    assert "hots" in str(info.value) and "host" in str(info.value)


def test_doc_examples_load(tmp_path: Path) -> None:

    examples = yaml_examples("url-matcher.md")
    assert len(examples) >= 2
    for i, example in enumerate(examples):
        path = tmp_path / f"example{i}.yaml"
        path.write_text(example, encoding="utf-8")
        assert load_policy(path).rules
