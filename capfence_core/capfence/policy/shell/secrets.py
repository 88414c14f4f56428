"""Secrets read: a credential file named in a command, a command that prints a secret, the cloud's metadata service.

An agent's command output goes back to the model, and from there anywhere: reading a private key, a token or a password
is held like sending it ("reads a credential file (`~/.ssh/id_rsa`)"), whatever the program (``cat``, ``base64``,
``cp``, ``less``). Both routes ask :func:`why_secret`: the full judgement with the invocation's static words and
redirection targets, the sketch of plain lists with its words.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from itertools import pairwise
from typing import Final

from capfence.policy.shell.catalogue import DESTINATION_UNREAD, NAMES_ONLY, UNREAD_SUBCOMMANDS

_CREDENTIAL: Final = re.compile(
    r"(?:^|/)(?:\.ssh|\.aws|\.gnupg|\.kube|\.docker|\.azure|\.oci|\.kaggle|\.password-store|\.mozilla|\.thunderbird"
    r"|\.config/(?:gh|gcloud|hub|glab-cli|google-chrome|chromium|BraveSoftware|microsoft-edge|vivaldi|opera|Slack"
    r"|discord|Signal|keepassxc|1Password|Bitwarden)|\.local/share/keyrings|\.cache/huggingface/token|\.huggingface"
    r"|Library/(?:Keychains|Cookies|Application Support/(?:Google/Chrome|Firefox|BraveSoftware|Microsoft Edge|Slack"
    r"|1Password)))(?:/|$)"
    r"|(?:^|/)(?:\.netrc|\.pgpass|\.git-credentials|\.npmrc|\.pypirc|\.vault-token|\.env(?:\.[\w.-]+)?"
    r"|[^/]*\.(?:pem|key|p12|pfx|kdbx|jks|keystore|binarycookies|keyring|keychain|keychain-db)|\.[a-z_]*history"
    r"|\.histfile|\.boto|\.s3cfg|\.my\.cnf|\.terraformrc|\.dockercfg|key[34]\.db|logins\.json|cookies\.sqlite"
    r"|signons\.sqlite|credentials(?:\.tfrc)?\.(?:json|ya?ml|toml|ini|xml|csv)|client_secrets?[\w.-]*\.json"
    r"|service[-_]account[\w.-]*\.json)$"
    # plain words as well (`grep id_rsa`, `echo credentials`): these only in a path
    r"|/(?:id_[a-z0-9_]+|fish_history|Login Data|Web Data|Cookies|Local State|credentials|shadow-?|gshadow-?|sudoers"
    r"|master\.key)$"
    r"|/run/secrets/|/serviceaccount/token$|^/proc/[^/]+/environ$|^/etc/ssh/ssh_host_"
)
"""Files that hold secrets, wherever they are (searched, not matched: it has no nested repetition). Shells' and clients'
histories (``~/.bash_history``, ``.psql_history``) hold the passwords and tokens typed on command lines.

Each alternative needs a ``.`` or a ``/`` in the word (:func:`_may_name_secret` skips the others: keep it so)."""
_NOT_SECRET: Final = re.compile(
    r"\.env\.(?:example|sample|template|dist|defaults?)$|\.pub$|(?:^|/)(?:known_hosts|authorized_keys)$"
)
"""Templates of ``.env`` files (committed without secrets), public keys, and the lists of known hosts and keys."""

_METADATA_HOSTS: Final = re.compile(
    r"(?:^|[/@])(?:169\.254\.169\.254|169\.254\.170\.2|\[?fd00:ec2::254\]?|metadata\.google\.internal"
    r"|metadata\.azure\.com|100\.100\.100\.200)(?:[:/]|$)",
    re.IGNORECASE,
)
"""Cloud instance metadata services, which hand out the machine's credentials (each named with a ``.`` or a ``:``)."""

_PRINTS_SECRETS: Final[dict[str, tuple[tuple[str, ...], ...]]] = {
    "gh": (("auth", "token"),),
    "glab": (("auth", "token"),),
    "oc": (("extract", "secret"),),
    "aws": (
        ("secretsmanager", "get-secret-value"),
        ("ssm", "--with-decryption"),
        ("configure", "get", "aws_secret_access_key"),
        ("configure", "get", "aws_session_token"),
        ("configure", "export-credentials"),
        ("sts", "get-session-token"),
        ("ecr", "get-login-password"),
    ),
    "gcloud": (
        ("auth", "print-access-token"),
        ("auth", "print-identity-token"),
        ("secrets", "versions", "access"),
    ),
    "az": (("account", "get-access-token"), ("keyvault", "secret", "show")),
    "bw": (("get",),),
    "secret-tool": (("lookup",),),
    "kubectl": (("config", "view", "--raw"),),
    "gpg": (("--export-secret-keys",), ("--export-secret-subkeys",)),
    "gpg2": (("--export-secret-keys",), ("--export-secret-subkeys",)),
    "vault": (("kv", "get"), ("read",), ("token", "create")),
    "op": (("read",), ("item", "get")),
    "pass": (("show",),),
    "security": (("find-generic-password",), ("find-internet-password",)),
    "heroku": (("config",), ("auth:token",)),
    "doctl": (("auth", "token"),),
}
"""Commands that print a secret: each tuple lists words that must all be given (``kubectl get secret``)."""
_SECRET_WORDS: Final = frozenset(
    {
        "TOKEN",
        "SECRET",
        "SECRETS",
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "PASSWORDS",
        "APIKEY",
        "CREDENTIALS",
        "CREDENTIAL",
    }
)
"""Words of a variable's name (split at ``_``) that say it holds a secret (``GITHUB_TOKEN``, ``DB_PASSWORD``)."""
_SECRET_ENDINGS: Final = ("PASSWORD", "PASSWD", "SECRET", "TOKEN")
_KEY_KINDS: Final = frozenset(
    {"API", "ACCESS", "PRIVATE", "SECRET", "SIGNING", "ENCRYPTION", "MASTER", "CLIENT", "AUTH"}
)
"""Words before ``KEY`` that make it a secret key (``OPENAI_API_KEY``; a ``SORT_KEY`` or ``CACHE_KEY`` is not)."""
_ABOUT_SECRET: Final = frozenset(
    {
        "COUNT",
        "LIMIT",
        "LEN",
        "LENGTH",
        "SIZE",
        "TYPE",
        "URL",
        "URI",
        "FILE",
        "PATH",
        "DIR",
        "ID",
        "NAME",
        "TTL",
    }
    | {
        "EXPIRY",
        "EXPIRES",
        "ENDPOINT",
        "HOST",
        "PORT",
        "USER",
        "USERNAME",
        "HEADER",
        "PREFIX",
        "REGION",
        "ENABLED",
    }
)
"""Last words of a name that say it holds something about a secret, not the secret (``TOKEN_COUNT``, ``GITHUB_TOKEN_FILE``,
``AWS_ACCESS_KEY_ID``)."""


_CONTAINER_CLIS: Final = frozenset({"docker", "podman", "nerdctl"})
_NO_ENVIRONMENT: Final = frozenset(
    {"image", "volume", "network", "context", "manifest", "buildx", "plugin", "secret"}
)
"""Objects whose ``inspect`` holds no secret environment: an image's is what its published build set, not what a container
was started with (``docker run -e``); ``docker secret inspect`` shows no value."""
_WHOLE_CONFIG: Final = re.compile(r"env|\.config\s*(?:}}|\))|(?:json|\{\{)\s*\.\s*(?:}}|\))", re.IGNORECASE)
"""A ``--format`` printing the environment (``{{.Config.Env}}``), the whole ``.Config`` or everything (``{{json .}}``)."""


def secret_variable(name: str) -> bool:
    """A variable whose name says it holds a secret: a word of it (split at ``_``, any case) is one of
    :data:`_SECRET_WORDS`, or ``KEY`` after one of :data:`_KEY_KINDS`, and its last word is not one of
    :data:`_ABOUT_SECRET`. ``MAX_TOKENS`` and ``TOKENIZERS_PARALLELISM`` are not secrets (whole words only)."""
    words = name.upper().split("_")
    if words[-1] in _ABOUT_SECRET:
        return False
    for index, word in enumerate(words):
        if word in _SECRET_WORDS or (word == "KEY" and index and words[index - 1] in _KEY_KINDS):
            return True
        # run together with a tool's name (PGPASSWORD, MYSQL_PWD; not PWD itself, nor OLDPWD: directories)
        if word.endswith(_SECRET_ENDINGS) or (word == "PWD" and index):
            return True
    return False


_SECRET_PATTERN: Final = re.compile(
    r"passw|secret|token|api.?key|access.?key|private.?key|credential|bearer|authorization|BEGIN [A-Z ]{0,20}PRIVATE",
    re.IGNORECASE,
)
"""Search patterns that look for credentials (``grep -r password``, ``rg 'BEGIN RSA PRIVATE KEY'``): searched, linear."""
_BROAD_ROOTS: Final = re.compile(
    r"~[^/]*(?:/\*?)?|~/\.[^/]+.*|/\*?|/(?:root|home|Users|etc|var|opt|srv|mnt|media|run|proc|usr)(?:/[^/]*)?/?"
)
"""Search paths that reach past the project into every user's or the system's files (``~``, ``~/.config``, another
user's home, ``/``, ``/etc``): full-matched, each repetition stops at a ``/``."""
_SEARCHERS: Final = {
    "grep": False,
    "egrep": False,
    "fgrep": False,
    "rg": True,
    "ag": True,
    "ack": True,
    "ugrep": False,
}
"""Programs that search file contents, and whether they recurse without being asked (``rg``, ``ag``, ``ack``)."""
_RECURSE: Final = re.compile(r"-[a-zA-Z]*[rR]|--recursive$|--dereference-recursive$|--directories=recurse$")
ENVIRONMENT_PRINTERS: Final = frozenset({"env", "printenv", "set", "export", "declare", "typeset"})
"""Programs that print the whole environment when given no names (``export -p``, ``declare -x``)."""


_CERTIFICATE: Final = re.compile(r"\.(?:pem|crt)$")
_KEY_NAMED: Final = re.compile(r"key|priv|secret", re.IGNORECASE)


def credential(path: str) -> bool:
    """A path naming a file that holds secrets (``~/.ssh/id_rsa``, ``.env``, ``/etc/shadow``, ``*.pem``): not to be sent."""
    return _CREDENTIAL.search(path) is not None and _NOT_SECRET.search(path) is None


def _read_secret(path: str) -> bool:
    """:func:`credential`, for reading it here: a ``.pem`` file is most often a certificate (``cert.pem``), read to see its
    dates; one named as a key (``server-key.pem``, ``privkey.pem``) is a key."""
    if _CERTIFICATE.search(path) and not _KEY_NAMED.search(path.rsplit("/", 1)[-1]):
        return False
    return credential(path)


_OUTPUT_OPTIONS: Final = frozenset({"-o", "-O", "-out", "-keyout", "--out", "--output", "--output-document"})
"""Options whose value is a file written (``openssl req -keyout dev.key``): judged as a write, not a secret read."""
_SECRET_LISTERS: Final = frozenset({"kubectl", "oc"})
"""``get secret(s)`` lists names; with an output format (``-o yaml``, ``-o jsonpath=...``) it prints the values."""


_HOST = re.compile(r"(?:[a-zA-Z][\w+.-]*://)?(?:[^/@\s]*@)?(\[[^\]/]*\]|[^/:?#\s]+)")
"""The host of a URL or of a bare ``host/path`` word (``curl 2852039166/latest``), at the word's start."""
_LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
_OTHER_METADATA = frozenset({ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")})


_URL_CLIENTS = frozenset(
    {
        "curl",
        "wget",
        "http",
        "https",
        "xh",
        "curlie",
        "aria2c",
        "lynx",
        "w3m",
        "links",
        "nc",
        "ncat",
        "netcat",
        "telnet",
    }
)
"""Programs whose bare word is a host: for them a lone number is an address (``curl 2852039166``), elsewhere a number."""


def _metadata_address(word: str, client: bool) -> bool:
    """A metadata service's address spelled another way, in a URL or a bare word of a URL ``client``: one number
    (``2852039166``, ``0xa9fea9fe``), octal or hex parts
    (``0251.0376.0251.0376``, ``169.254.43518``), an IPv4-mapped IPv6 address (``[::ffff:169.254.169.254]``), or a
    name that wildcard DNS resolves to it (``169.254.169.254.nip.io``, ``169-254-169-254.sslip.io``)."""
    if not client and "://" not in word:
        return False  # (text: echo '169.254.169.254 is blocked')
    found = _HOST.match(word)
    host = found.group(1) if found else ""
    if "169.254." in host or "169-254-" in host:
        return True
    if host.startswith("["):
        try:
            address = ipaddress.ip_address(host[1:-1])
        except ValueError:
            return False
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        return address in _OTHER_METADATA or (mapped is not None and _metadata_v4(int(mapped)))
    number = _inet_aton(host)
    return number is not None and _metadata_v4(number)


def _metadata_v4(number: int) -> bool:
    address = ipaddress.IPv4Address(number)
    return address in _LINK_LOCAL or address in _OTHER_METADATA


def _inet_aton(host: str) -> int | None:
    """The address ``host`` names as the C library reads it: 1 to 4 parts, each decimal, ``0x`` hex or ``0`` octal, the
    last filling the bytes left (``169.254.43518``); ``None`` if it is not one."""
    parts = host.split(".")
    if not host[:1].isdigit() or len(parts) > 4 or len(host) > 64:
        return None
    values: list[int] = []
    for part in parts:
        try:
            values.append(
                int(part, 16)
                if part[:2].lower() == "0x"
                else int(part, 8)
                if part[:1] == "0" and part != "0"
                else int(part)
            )
        except ValueError:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    number = 0
    for value in head:
        number = number << 8 | value
    return number << (8 * (4 - len(head))) | last


def _may_name_secret(word: str) -> bool:
    """Whether ``word`` could name a secret file or the metadata service at all: every file :data:`_CREDENTIAL` finds is named
    with a ``.`` or a ``/`` in it, and every host of :data:`_METADATA_HOSTS` with a ``.`` or a ``:``. A word with none of
    the three (``status``, ``-la``, ``build``, ``TODO``) is not searched (tested against the searches on every word of the
    tldr corpus), unless it starts with a digit (an address written as one number: :func:`_metadata_address`)."""
    return "." in word or "/" in word or ":" in word or word[:1].isdigit()


def why_secret(name: str, words: Sequence[str], read: Sequence[str] = ()) -> str | None:
    """Why ``name`` run with ``words`` (its arguments, ``""`` for one known only at run time) and reading the files
    ``read`` (its redirections') reads a secret, or ``None``."""
    listed = name in _SECRET_LISTERS and "get" in words and ("secret" in words or "secrets" in words)
    if listed and any(word.startswith(("-o", "--output")) for word in words):
        return f"prints a secret ({name} get secret -o)"
    if read:
        reason = why_secret("", read)
        if reason is not None:
            return reason
    previous = ""
    for at, word in enumerate(words):
        if previous in _OUTPUT_OPTIONS:
            previous = word
            continue
        previous = word
        if not _may_name_secret(word):
            continue  # most words (`status`, `-la`, `build`) need none of the searches below
        path = word.partition("=")[2] if word.startswith("-") and "=" in word else word
        # (whether the program reads it is asked only of a secret's name: ordinary commands never get there)
        if path and _read_secret(path.lstrip("@<")) and not _unread(name, words, at):
            return f"names a file that holds secrets (`{path}`)"
        if _METADATA_HOSTS.search(word) or _metadata_address(word, name in _URL_CLIENTS):
            return "asks the cloud's metadata service, which hands out the machine's credentials"
    return _program_secret(name, words)


def _program_secret(name: str, words: Sequence[str]) -> str | None:
    """What ``name`` itself prints or searches: a secret it hands out, a secret variable, a container's environment,
    files that hold secrets."""
    for needed in _PRINTS_SECRETS.get(name, ()):
        if all(word in words for word in needed):
            return f"prints a secret ({name} {' '.join(needed)})"
    if name in _VARIABLE_PRINTERS and _names_secret_variable(name, words):
        return f"prints a secret from the environment ({name})"
    if name in _CONTAINER_CLIS and "inspect" in words and _inspects_environment(words):
        return f"prints a container's configuration, with the environment that holds its secrets ({name} inspect)"
    if name == "find" and _finds_secrets(words):
        return "runs a command on files that hold secrets (find -exec)"
    searcher = _SEARCHERS.get(name)
    if searcher is not None:
        return _searches_secrets(name, words, recursive=searcher)
    return None


_VARIABLE_PRINTERS = frozenset({"printenv", "declare", "typeset"})
_ROOTED = re.compile(r"[~/]").match
"""A word that may be a path from the root or the home directory (:data:`_BROAD_ROOTS` needs one)."""
_FIND_RUNS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_FIND_NAMES = frozenset({"-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename"})


def _finds_secrets(words: Sequence[str]) -> bool:
    """``find`` running a command (``-exec cat {} +``) on files its name tests call secret (``-name id_rsa``, ``'*.key'``);
    in the home directory or the system also ``*.pem`` (elsewhere most often a certificate, read for its dates)."""
    if _FIND_RUNS.isdisjoint(words):
        return False
    broad = any(_BROAD_ROOTS.fullmatch(word) for word in words[:1])
    check = credential if broad else _read_secret
    for previous, word in pairwise(words):
        if previous in _FIND_NAMES:
            # (a pattern's wildcards as a letter or as nothing: `id_*` names id_rsa, `.env*` names .env)
            path = "/" + word.lstrip("/").replace("?", "x")
            if check(path.replace("*", "x")) or check(path.replace("*", "")):
                return True
    return False


def _names_secret_variable(name: str, words: Sequence[str]) -> bool:
    """``printenv NAME`` or ``declare -p NAME`` (``typeset -p``) of a variable whose name says it holds a secret."""
    prints = name == "printenv" or (
        name in ("declare", "typeset") and any(w[:1] == "-" and "p" in w for w in words)
    )
    return prints and any(secret_variable(word) for word in words if not word.startswith("-"))


def _searches_secrets(name: str, words: Sequence[str], *, recursive: bool) -> str | None:
    """A recursive search for a credential (``password``, ``PRIVATE KEY``) through the home directory, another user's or
    the system's files (``grep -r token ~``): the project's own files (``grep -rn password src/``) are fine."""
    if not any(map(_ROOTED, words)):
        return None  # (most searches: only the project's paths)
    broad = False
    pattern = False
    for word in words:
        if word.startswith("-"):
            recursive = recursive or _RECURSE.match(word) is not None
            # (a pattern given as an option's value: --regexp=token, --include=*secret*)
            value = word.partition("=")[2]
        elif _BROAD_ROOTS.fullmatch(word):
            broad = True
            continue
        else:
            recursive = recursive or word == "recurse"
            value = word
        pattern = pattern or _SECRET_PATTERN.search(value) is not None
    if broad and pattern and recursive:
        return f"searches the home directory or the system for credentials ({name})"
    return None


def _inspects_environment(words: Sequence[str]) -> bool:
    """``docker inspect`` words that print a container's or image's environment: without a format (the whole JSON), or a
    format naming ``Env``, the whole ``.Config`` or everything (``{{json .}}``). Volumes and networks have none."""
    if not _NO_ENVIRONMENT.isdisjoint(words) or "--type=image" in words:
        return False
    formats = [
        value
        for option, value in zip(("", *words), words, strict=False)
        if option in ("-f", "--format") and not value.startswith("-")
    ]
    formats.extend(word.partition("=")[2] for word in words if word.startswith("--format="))
    formats.extend(word[2:] for word in words if word.startswith("-f") and len(word) > 2 and word[2] != "-")
    return not formats or any(_WHOLE_CONFIG.search(value) for value in formats)


def reads_environment(name: str, words: Sequence[str]) -> bool:
    """``name`` with ``words`` prints the whole environment (``env``, ``printenv``, ``set``, ``export -p``)."""
    if name not in ENVIRONMENT_PRINTERS:
        return False
    if name in ("env", "printenv", "set"):
        return not words or all(word.startswith("-") for word in words)
    return bool(words) and all(word.startswith("-") and ("p" in word or "x" in word) for word in words)


def searches_for_secret(words: Sequence[str]) -> bool:
    """Words of a search (``grep -i token``) whose pattern looks for credentials."""
    return any(_SECRET_PATTERN.search(word) for word in words if not word.startswith("--"))


_PATTERN_FIRST = frozenset({"grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", "ugrep"})
"""Searchers whose first operand is the pattern (``grep -rn '/etc/shadow' tests/`` reads ``tests/``, not the file)."""


def _is_pattern(words: Sequence[str], at: int) -> bool:
    """``words[at]`` is the searcher's pattern: its first operand, when no option gives the pattern (``-e``, ``-f``,
    ``--regexp``, ``--file``, or ``e``/``f`` in a cluster: ``-rne``). An option's value taken for the pattern only makes
    the real pattern be judged as a file, which holds: never the other way round."""
    for word in words[:at]:
        if not word.startswith("-") or word.startswith(("--regexp", "--file")):
            return False
        if not word.startswith("--") and ("e" in word[1:] or "f" in word[1:]):
            return False
    return not any(word.startswith(("--regexp", "--file")) for word in words[at + 1 :])


def _unread(name: str, words: Sequence[str], at: int) -> bool:
    """Whether ``words[at]``, an operand, is a file ``name`` does not read: it lists or changes its name or mode
    (:data:`~capfence.policy.shell.catalogue.NAMES_ONLY`), writes it (the destination of ``cp``), or removes it from
    the index (``git rm --cached``). Option words and their attached values are read as written."""
    word = words[at]
    if word.startswith("-") or not word:
        return False
    if name in NAMES_ONLY:
        return True
    if name in _PATTERN_FIRST:
        return _is_pattern(words, at)
    if name in DESTINATION_UNREAD:
        # the last word, when it is the destination: not with -t DIR (every operand is then a source)
        operands = [w for w in words if not w.startswith("-")]
        return (
            at == len(words) - 1
            and len(operands) > 1
            and not any(
                w.startswith("--t") or (w[1:2] != "-" and "t" in w) for w in words if w.startswith("-")
            )
        )
    subcommand = UNREAD_SUBCOMMANDS.get(name)
    if subcommand is None or not words or words[0] != subcommand[0]:
        return False
    return all(w in subcommand[1] for w in words[1:] if w.startswith("-"))
