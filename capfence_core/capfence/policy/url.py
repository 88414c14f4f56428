"""The ``url:`` condition: scheme, host, port, path and private-address tests on URLs in a call.

```yaml
deny:
  - capability: http.*
    url: {private: true}                      # SSRF: loopback, RFC 1918, link-local, metadata...
allow:
  - capability: http.get
    url:
      scheme: https
      host: ["api.github.com", "*.githubusercontent.com"]
      not_host: gist.githubusercontent.com
      path: "/repos/**"
```

Sub-keys: ``field``, ``scheme``, ``host``, ``not_host``, ``port``, ``private``,
``path``. All given sub-keys must hold for a URL. In ``deny``,
``require_approval`` and ``warn`` rules the condition holds when *any* URL of
the call satisfies it; in ``allow`` rules *every* URL must satisfy it, or one
allowed URL would carry a forbidden second one through. The full reference,
with the reasoning, is ``docs/url-matcher.md``.

Parsing follows the WHATWG URL standard where clients disagree (backslashes
as slashes, ``http:host`` without slashes, the last ``@`` ends the userinfo,
numeric IPv4 forms such as ``0x7f.1`` or ``2130706433``, percent-encoded and
full-width hosts) and is cross-checked with :func:`urllib.parse.urlsplit`: a
URL whose host the two readings disagree on, or that cannot be parsed, is
*unknown* (``None``), which the evaluator resolves fail-closed. No DNS lookups
are ever made.
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import re
import stringprep
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from capfence.call.view import CallView, deep_items, fold_key
from capfence.policy.conditions import combine, strict_mapping, string_list
from capfence.policy.patterns import path_glob_regex
from capfence.policy.spec import CompileContext, Condition, ConditionType, SpecError
from capfence.policy.tlds import PUBLIC_TLDS

__all__ = [
    "CONDITION",
    "DEFAULT_FIELDS",
    "ParsedURL",
    "is_private_host",
    "normalize_host",
    "parse_url",
    "urls_in_text",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_FIELDS: Final = frozenset(
    {"url", "urls", "uri", "uris", "href", "endpoint", "endpoints", "link", "links",
     "base_url", "webhook_url", "callback_url", "redirect_uri", "redirect_url"}
)  # fmt: skip
"""Argument names searched (case-insensitive, at any depth) when a rule gives no ``field``."""

SPECIAL_SCHEMES: Final = frozenset({"http", "https", "ws", "wss", "ftp", "file"})
DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "ssh": 22, "sftp": 22}
PRIVATE_NAME_SUFFIXES: Final = (
    "localhost", "local", "localdomain", "internal", "intranet", "lan", "home", "home.arpa", "corp", "private",
    "svc", "cluster.local", "consul",
    "nip.io", "sslip.io", "xip.io", "nip.direct", "localtest.me", "lvh.me", "vcap.me", "localhost.direct",
)  # fmt: skip
"""Names that only resolve inside a network (RFC 6761, 6762, 8375, ICANN's .internal, common LAN suffixes,
Kubernetes and Consul service names), and public names that exist to resolve to any address, loopback
included (``10.0.0.1.nip.io``, ``app.localtest.me``). Besides these, a name whose top-level domain is not
in the public root zone (:data:`~capfence.policy.tlds.PUBLIC_TLDS`) is private: ``kubernetes.default``."""
MAX_URL_LENGTH: Final = 1 << 20
MAX_RAW_HOST: Final = 4096
"""A host longer than this, before decoding, cannot become a valid 253-character DNS name."""
MAX_URLS: Final = 1000
"""More URLs than this in one call make the condition unknown."""

KEYS: Final = ("field", "scheme", "host", "not_host", "port", "private", "path")
EXAMPLE: Final = 'url: {scheme: https, host: ["*.example.com"]}'

_C0_AND_SPACE: Final = "".join(chr(i) for i in range(0x21))
_SCHEME_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_PORT_LIKE: Final = re.compile(r"[0-9]+(?:[/?#\\]|\Z)")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FORBIDDEN_HOST: Final = re.compile(r"[\x00-\x20\x7f-\x9f#%/:<>?@\[\\\]^|\s]")
_IDNA_DEVIATIONS: Final = frozenset("\u00df\u03c2\u200c\u200d")
_URL_IN_TEXT: Final = re.compile(
    r"(?<![A-Za-z0-9+.\-])(?:[A-Za-z][A-Za-z0-9+.\-]{0,30}://|(?:https?|wss?|ftp):[/\\]+)[^\s<>\"'`]*"
)
_TRAILING_PUNCTUATION: Final = ".,;:!?)]}'\""
_HOST_PATTERN_CHARS: Final = re.compile(r"[a-z0-9_\-*?\[\]!.]+")
_NAT64: Final = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")


# --- parsing --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedURL:
    """What the condition knows about one URL. ``None`` fields are absent or unknowable."""

    scheme: str | None
    """Lower-cased; ``None`` for ``//host/...`` and ``host/path`` forms."""
    host: str | None
    """Lower-case ASCII (IDNA), no trailing dot; IPv4 dotted-quad, IPv6 compressed without brackets; ``None`` if no host."""
    addresses: tuple[IPAddress, ...]
    """The host's IP and every IPv4 embedded in it (mapped, compatible, 6to4, Teredo, NAT64); empty for names."""
    port: int | None
    """Explicit port, else the scheme's default; ``None`` if neither is known."""
    path: str | None
    """Dot-segments resolved, percent-decoded; ``None`` if that is ambiguous (an encoded ``/`` or NUL)."""


def parse_url(raw: str) -> ParsedURL | None:
    """Parse one URL; ``None`` if it cannot be parsed or parsers would disagree on its host.

    Results for short strings are cached (several ``url:`` rules usually look at the same URL).
    """
    return _parse_cached(raw) if len(raw) <= 2048 else _parse(raw)


@functools.lru_cache(maxsize=4096)
def _parse_cached(raw: str) -> ParsedURL | None:
    return _parse(raw)


def _parse(raw: str) -> ParsedURL | None:
    text = _clean(raw)
    if text is None:
        return None
    split = _split(text)
    if split is None:
        return None
    scheme, authority, rest = split
    host: str | None = None
    addresses: tuple[IPAddress, ...] = ()
    port: int | None = None
    if authority is not None:
        parsed_authority = _parse_authority(authority, scheme)
        if parsed_authority is None:
            return None
        host, addresses, port = parsed_authority
        if not _urllib_agrees(text, scheme, host):
            return None
    if port is None and scheme is not None and host is not None:
        port = DEFAULT_PORTS.get(scheme)
    special = scheme is None or scheme in SPECIAL_SCHEMES
    return ParsedURL(scheme, host, addresses, port, _normalize_path(rest, special=special))


def _clean(raw: str) -> str | None:
    if len(raw) > MAX_URL_LENGTH:
        return None
    text = raw.strip(_C0_AND_SPACE).replace("\t", "").replace("\n", "").replace("\r", "")
    if not text or _CONTROL.search(text):
        return None
    return text


def _split(text: str) -> tuple[str | None, str | None, str] | None:
    """``(scheme, authority, rest)``; authority ``None`` when the URL has no host part."""
    match = _SCHEME_RE.match(text)
    if match is not None:
        scheme = match.group(1).lower()
        rest = text[match.end() :]
        if scheme in SPECIAL_SCHEMES or not _PORT_LIKE.match(rest):
            return (scheme, *_hierarchical(scheme, rest))
    if text[:2].replace("\\", "/") == "//":
        return (None, *_cut_authority(text[2:], special=True))
    if text.startswith(("/", "\\", "?", "#", ".")):
        return None, None, text
    return (None, *_cut_authority(text, special=True))  # "example.com/x", "localhost:8080"


def _hierarchical(scheme: str, rest: str) -> tuple[str | None, str]:
    if scheme == "file":
        if rest[:2].replace("\\", "/") == "//":
            return _cut_authority(rest[2:], special=True)
        return None, rest
    if scheme in SPECIAL_SCHEMES:  # WHATWG: any run of slashes or backslashes, even none, precedes the host
        return _cut_authority(rest.lstrip("/\\"), special=True)
    if rest.startswith("//"):
        return _cut_authority(rest[2:], special=False)
    return None, rest  # mailto:, data:, urn: ... have no host


def _cut_authority(text: str, *, special: bool) -> tuple[str, str]:
    end = len(text)
    for stop in "/?#\\" if special else "/?#":
        found = text.find(stop)
        if 0 <= found < end:
            end = found
    return text[:end], text[end:]


def _parse_authority(
    authority: str, scheme: str | None
) -> tuple[str | None, tuple[IPAddress, ...], int | None] | None:
    hostport = authority.rpartition("@")[2]
    split = _split_port(hostport)
    if split is None:
        return None
    raw_host, port = split
    if not raw_host:  # file:///etc/passwd has no host; http:/// has no valid one
        return None if scheme in SPECIAL_SCHEMES and scheme != "file" else (None, (), None)
    normalized = normalize_host(raw_host)
    if normalized is None:
        return None
    return normalized[0], normalized[1], port


def _split_port(hostport: str) -> tuple[str, int | None] | None:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return None
        host, after = hostport[: end + 1], hostport[end + 1 :]
        if after and not after.startswith(":"):
            return None
        port_text = after[1:]
    else:
        host, _, port_text = hostport.partition(":")
    if not port_text:
        return host, None
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
        return None
    return host, int(port_text)


def normalize_host(raw: str) -> tuple[str, tuple[IPAddress, ...]] | None:
    """Canonical host and its IP addresses (empty for names); ``None`` if invalid."""
    if len(raw) > MAX_RAW_HOST:
        return None
    if raw.startswith("[") and raw.endswith("]"):
        return _ipv6_host(raw[1:-1])
    host = _percent_decode(raw)
    if host is None or _FORBIDDEN_HOST.search(host):
        return None
    if not host.isascii():
        host = _idna(host)
        if host is None or _FORBIDDEN_HOST.search(host):
            return None
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    labels = host.split(".")
    if not host or "" in labels or any(len(label) > 63 for label in labels) or len(host) > 253:
        return None
    if _ends_in_number(labels):
        address = _parse_ipv4(labels)
        return None if address is None else (str(address), (address,))
    return host, ()


def _ipv6_host(inner: str) -> tuple[str, tuple[IPAddress, ...]] | None:
    decoded = _percent_decode(inner)
    if decoded is None:
        return None
    address_text = decoded.partition("%")[0]  # zone id (fe80::1%25eth0) does not change the address class
    try:
        address = ipaddress.IPv6Address(address_text)
    except ValueError:
        return None
    return _ipv6_text(address), _related_addresses(address)


def _ipv6_text(address: ipaddress.IPv6Address) -> str:
    """Compressed, an IPv4-mapped address as ``::ffff:a.b.c.d`` (RFC 5952, section 5) on every Python: ``str()`` gave
    ``::ffff:7f00:1`` before 3.13 and gives ``::ffff:127.0.0.1`` from 3.13 on."""
    mapped = address.ipv4_mapped
    return str(address) if mapped is None else f"::ffff:{mapped}"


def _percent_decode(text: str) -> str | None:
    """Strict percent-decoding as UTF-8; ``None`` for a stray ``%`` or invalid UTF-8."""
    if "%" not in text:
        return text
    parts = text.split("%")
    out = bytearray(parts[0].encode("utf-8"))
    for part in parts[1:]:
        if len(part) < 2 or not all(c in "0123456789abcdefABCDEF" for c in part[:2]):
            return None
        out.append(int(part[:2], 16))
        out += part[2:].encode("utf-8")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _idna(host: str) -> str | None:
    """IDNA ToASCII; ``None`` where IDNA 2003 (Python) and UTS 46 (browsers, ``idna``) could disagree."""
    if any(
        ch in _IDNA_DEVIATIONS or stringprep.in_table_b1(ch) for ch in unicodedata.normalize("NFKC", host)
    ):
        return None
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def _ends_in_number(labels: list[str]) -> bool:
    last = labels[-1]
    return last.isascii() and (
        last.isdigit() or (last.startswith("0x") and all(c in "0123456789abcdef" for c in last[2:]))
    )


def _parse_ipv4(labels: list[str]) -> ipaddress.IPv4Address | None:
    """WHATWG IPv4 parsing: 1-4 parts, each decimal, 0x-hex or 0-octal; the last part fills the remaining bytes."""
    if len(labels) > 4:
        return None
    numbers = [_ipv4_number(label) for label in labels]
    if any(n is None for n in numbers):
        return None
    parts = [n for n in numbers if n is not None]
    if any(n > 255 for n in parts[:-1]) or parts[-1] >= 256 ** (5 - len(parts)):
        return None
    value = parts[-1]
    for i, n in enumerate(parts[:-1]):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _ipv4_number(label: str) -> int | None:
    if not label.isascii():
        return None
    base, digits = 10, label
    if label[:2] in ("0x", "0X"):
        base, digits = 16, label[2:] or "0"
    elif len(label) > 1 and label.startswith("0"):
        base, digits = 8, label[1:]
    try:
        return int(digits, base) if digits.isalnum() else None
    except ValueError:
        return None


def _related_addresses(address: ipaddress.IPv6Address) -> tuple[IPAddress, ...]:
    """The address and the IPv4 addresses embedded in it, which is where traffic to it may end up."""
    related: list[IPAddress] = [address]
    value = int(address)
    if address.ipv4_mapped is not None:
        related.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        related.append(address.sixtofour)
    if address.teredo is not None:
        related.extend(address.teredo)
    if any(address in network for network in _NAT64) or (address in _COMPATIBLE and value > 1):
        related.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return tuple(related)


def _urllib_agrees(text: str, scheme: str | None, host: str | None) -> bool:
    """Whether :func:`urllib.parse.urlsplit` reads the same host (RFC 3986 vs WHATWG differential)."""
    try:
        theirs = urlsplit(text if scheme is not None else "//" + text.lstrip("/\\")).hostname
    except ValueError:
        return False
    if not theirs:
        return host is None
    normalized = normalize_host(f"[{theirs}]" if ":" in theirs else theirs)
    return normalized is not None and normalized[0] == host


def _normalize_path(rest: str, *, special: bool) -> str | None:
    path = rest
    for stop in "?#":
        path = path.partition(stop)[0]
    if special:
        path = path.replace("\\", "/")
    out: list[str] = []
    for segment in path.split("/")[1:] if path.startswith("/") else path.split("/"):
        lowered = segment.lower()
        if lowered in (".", "%2e"):
            continue
        if lowered in ("..", ".%2e", "%2e.", "%2e%2e"):
            if out:
                out.pop()
            continue
        decoded = _percent_decode(segment)
        if decoded is None or any(c in decoded for c in "/\\\x00"):
            return None
        out.append(decoded)
    return "/" + "/".join(out)


# --- classification ------------------------------------------------------------------


def _is_private_address(address: IPAddress) -> bool:
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )


def is_private_host(url: ParsedURL) -> bool:
    """The host is, literally, a non-public IP, or a name that only resolves inside a network (no DNS)."""
    # an IPv6 address that embeds IPv4 (::ffff:a.b.c.d, 6to4, NAT64...) is judged by the IPv4
    if url.addresses:
        return any(_is_private_address(address) for address in url.addresses[1:] or url.addresses)
    host = url.host or ""
    return (
        "." not in host
        or any(host == suffix or host.endswith("." + suffix) for suffix in PRIVATE_NAME_SUFFIXES)
        or host.rpartition(".")[2] not in PUBLIC_TLDS
    )


# --- compiling the condition ------------------------------------------------------------

UrlTest = Callable[[ParsedURL], "bool | None"]


@dataclass(frozen=True)
class _HostPattern:
    network: IPNetwork | None
    regex: re.Pattern[str] | None

    def matches(self, url: ParsedURL) -> bool:
        if self.network is not None:
            return any(
                address.version == self.network.version and address in self.network
                for address in url.addresses
            )
        return self.regex is not None and url.host is not None and self.regex.match(url.host) is not None


def _host_pattern(raw: str, what: str) -> _HostPattern:
    text = raw.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return _HostPattern(ipaddress.ip_network(text, strict=False), None)
    except ValueError:
        pass
    if any(mark in text for mark in ("://", "/", "@", ":")):
        raise SpecError(
            f"{what} {raw!r} is not a host name, IP address or CIDR network",
            hint="write api.github.com, not https://api.github.com/",
        )
    labels = text.removesuffix(".").split(".")
    try:
        ascii_labels = [
            label if label.isascii() else label.encode("idna").decode("ascii") for label in labels
        ]
    except UnicodeError:
        raise SpecError(f"{what} {raw!r} is not a valid international host name") from None
    host = ".".join(ascii_labels)
    if "" in ascii_labels or not _HOST_PATTERN_CHARS.fullmatch(host):
        raise SpecError(
            f"{what} {raw!r} is not a valid host pattern",
            hint='e.g. "api.example.com", "*.example.com" or "10.0.0.0/8"',
        )
    return _HostPattern(None, re.compile(fnmatch.translate(host)))


def host_patterns(value: object, what: str) -> list[_HostPattern]:
    """Host patterns (names with ``*``, IP addresses, CIDR networks), as ``url.host`` and ``hosts:`` take them."""
    return [_host_pattern(p, what) for p in string_list(value, what, '["*.example.com", "10.0.0.0/8"]')]


def _host_test(value: object, what: str, *, negate: bool) -> UrlTest:
    patterns = host_patterns(value, what)

    def host_test(url: ParsedURL) -> bool:
        if url.host is None:
            return False
        return any(p.matches(url) for p in patterns) != negate

    return host_test


def _scheme_test(value: object) -> UrlTest:
    schemes = frozenset(
        s.strip().lower().removesuffix("://").removesuffix(":")
        for s in string_list(value, "url.scheme", "[https]")
    )
    for scheme in schemes:
        if not re.fullmatch(r"[a-z][a-z0-9+.\-]*", scheme):
            raise SpecError(f"url.scheme {scheme!r} is not a URL scheme", hint="e.g. scheme: [https, wss]")
    return lambda url: None if url.scheme is None else url.scheme in schemes


def _port_test(value: object) -> UrlTest:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise SpecError("url.port must not be an empty list", hint="e.g. port: [443, 8443]")
    for i, port in enumerate(items):
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise SpecError(
                f"url.port must be a port number 1-65535 or a list of them, got {port!r}",
                key=(i,) if isinstance(value, list) else (),
                hint="e.g. port: [443, 8443]",
            )
    ports = frozenset(items)
    return lambda url: None if url.port is None else url.port in ports


def _private_test(value: object) -> UrlTest:
    if not isinstance(value, bool):
        raise SpecError(f"url.private must be true or false, got {value!r}", hint="private: true")
    return lambda url: url.host is not None and is_private_host(url) == value


def _path_test(value: object) -> UrlTest:
    globs = []
    for pattern in string_list(value, "url.path", '"/repos/**"'):
        if not pattern.startswith(("/", "*")):
            raise SpecError(
                f"url.path {pattern!r} must start with / (or a wildcard)", hint='e.g. path: "/api/v1/**"'
            )
        globs.append(path_glob_regex(pattern))
    return lambda url: None if url.path is None else any(g.match(url.path) for g in globs)


_TEST_BUILDERS: Final[dict[str, Callable[[object], UrlTest]]] = {
    "scheme": _scheme_test,
    "host": lambda value: _host_test(value, "url.host", negate=False),
    "not_host": lambda value: _host_test(value, "url.not_host", negate=True),
    "port": _port_test,
    "private": _private_test,
    "path": _path_test,
}


def _url_tests(spec: Mapping[str, object]) -> list[UrlTest]:
    tests = []
    for key, build in _TEST_BUILDERS.items():
        if key in spec:
            try:
                tests.append(build(spec[key]))
            except SpecError as exc:
                raise SpecError(exc.message, key=(key, *exc.key), hint=exc.hint) from None
    if not tests:
        raise SpecError("url needs at least one of " + ", ".join(_TEST_BUILDERS), hint=EXAMPLE)
    return tests


def _all_hold(tests: list[UrlTest], url: ParsedURL | None) -> bool | None:
    """Every test holds for this URL; a definite False wins over an unknown."""
    if url is None:
        return None
    unknown = False
    for test in tests:
        result = test(url)
        if result is False:
            return False
        unknown = unknown or result is None
    return None if unknown else True


# --- finding URLs in a call ---------------------------------------------------------------


HOST_KEYS: Final = frozenset({"host", "hostname"})
"""A mapping with one of these keys is a URL in parts: ``{"host": "10.0.0.1", "port": 3128, "scheme": "http"}``."""


def _field_values(
    value: object, fields: frozenset[str], *, explicit: bool, depth: int = 0, inner: bool = False
) -> Iterator[str | None]:
    """URL strings in one field's value; ``None`` for a value that cannot be read as a URL.

    A mapping is a URL in parts (:data:`HOST_KEYS`), or holds URL-named keys of its own (found by name),
    or else its values are URLs (``proxies: {"https": "http://10.0.0.1:3128"}``): with the default
    fields only values written with a scheme (``{"rel": "self"}`` names no host), with a rule's
    ``field`` every value.
    """
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            yield None
            return
    if isinstance(value, str):
        # an empty argument is no URL, not an unknown one
        if value.strip() and (explicit or not inner or "://" in value):
            yield value
    elif isinstance(value, list | tuple) and depth < 4:
        for item in value:
            yield from _field_values(item, fields, explicit=explicit, depth=depth + 1, inner=inner)
    elif isinstance(value, Mapping) and depth < 4:
        keys = {fold_key(key): item for key, item in value.items() if isinstance(key, str)}
        if HOST_KEYS & keys.keys():
            yield _url_from_parts(keys)
        elif not fields & keys.keys():
            for item in value.values():
                yield from _field_values(item, fields, explicit=explicit, depth=depth + 1, inner=True)
    elif value is not None and value is not False and not (inner and isinstance(value, int | float)):
        yield None  # (None and False: an option left unset)


def _url_from_parts(parts: Mapping[str, object]) -> str | None:
    """``scheme://host:port`` from a mapping's parts (keys folded); ``None`` if they are not text and a port."""
    host = parts.get("host", parts.get("hostname"))
    scheme = parts.get("scheme", parts.get("protocol", "http"))
    port = parts.get("port")
    if (
        not isinstance(host, str)
        or not isinstance(scheme, str)
        or not (port is None or isinstance(port, int | str))
    ):
        return None
    if isinstance(port, bool):
        return None
    bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{scheme.removesuffix('://').removesuffix(':')}://{bracketed}" + (
        "" if port is None else f":{port}"
    )


def urls_in_text(text: str) -> Iterator[str]:
    """``scheme://...`` tokens in free text (commands, messages); trailing punctuation dropped."""
    if ":" not in text:
        return
    for match in _URL_IN_TEXT.finditer(text):
        yield match.group().rstrip(_TRAILING_PUNCTUATION)


def _text_urls(view: CallView) -> Iterator[str]:
    for _, node in deep_items(view.payload):  # at any depth: nesting cannot hide a URL
        if isinstance(node, str):
            yield from urls_in_text(node)


def candidates(view: CallView, fields: frozenset[str], scan_text: bool) -> list[str | None]:
    folded = frozenset(map(fold_key, fields))
    found = [
        raw
        for value in view.find_fields(fields)
        for raw in _field_values(value, folded, explicit=not scan_text)
    ]
    if not found and scan_text:
        found = list(_text_urls(view))
    return found


def _compile_url(value: object, context: CompileContext) -> Condition:
    spec = strict_mapping(value, "url", KEYS, EXAMPLE)
    tests = _url_tests(spec)
    explicit = "field" in spec
    fields = (
        frozenset(f.strip().lower() for f in string_list(spec["field"], "url.field", "[url, endpoint]"))
        if explicit
        else DEFAULT_FIELDS
    )
    every = context.section == "allow"

    def url(view: CallView) -> bool | None:
        found = candidates(view, fields, scan_text=not explicit)
        if len(found) > MAX_URLS:
            return None
        results = [_all_hold(tests, parse_url(raw) if raw is not None else None) for raw in found]
        return combine(results, every=every)  # any URL (deny, require_approval, warn) or every URL (allow)

    return url


CONDITION: Final = ConditionType(
    key="url",
    compile=_compile_url,
    doc="URLs in url/uri/href/endpoint/link fields (else scheme://... in any string): scheme, host, not_host, port, private, path",
    example=EXAMPLE,
)
