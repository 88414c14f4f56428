"""Secrets read: a credential file named in a command, a command that prints a secret, the cloud's metadata service.

An agent's command output goes back to the model, and from there anywhere: reading a private key, a token or a password
is held like sending it ("reads a credential file (`~/.ssh/id_rsa`)"), whatever the program (``cat``, ``base64``,
``cp``, ``less``). Both routes ask :func:`why_secret`: the full judgement with the invocation's static words and
redirection targets, the sketch of plain lists with its words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

_CREDENTIAL: Final = re.compile(
    r"(?:^|/)(?:\.ssh|\.aws|\.gnupg|\.kube|\.docker|\.azure|\.config/(?:gh|gcloud|hub|glab-cli)|\.password-store)(?:/|$)"
    r"|(?:^|/)(?:\.netrc|\.pgpass|\.git-credentials|\.npmrc|\.pypirc|\.vault-token|\.env(?:\.[\w.-]+)?"
    r"|[^/]*\.(?:pem|key|p12|pfx|kdbx|jks|keystore))$"
    # plain words as well (`grep id_rsa`, `echo credentials`): these only in a path
    r"|/(?:id_[a-z0-9_]+|credentials|shadow-?|gshadow-?|sudoers|master\.key)$"
    r"|/run/secrets/|/serviceaccount/token$|^/proc/[^/]+/environ$|^/etc/ssh/ssh_host_"
)
"""Files that hold secrets, wherever they are (searched, not matched: it has no nested repetition).

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
    "aws": (("secretsmanager", "get-secret-value"), ("ssm", "--with-decryption")),
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
_SECRET_NAME: Final = re.compile(
    r"TOKEN|SECRET|PASSW|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE
)


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


def _may_name_secret(word: str) -> bool:
    """Whether ``word`` could name a secret file or the metadata service at all: every file :data:`_CREDENTIAL` finds is named
    with a ``.`` or a ``/`` in it, and every host of :data:`_METADATA_HOSTS` with a ``.`` or a ``:``. A word with none of
    the three (``status``, ``-la``, ``build``, ``TODO``) is not searched (tested against the searches on every word of the
    tldr corpus)."""
    return "." in word or "/" in word or ":" in word


def why_secret(name: str, words: Sequence[str]) -> str | None:
    """Why ``name`` run with ``words`` (static words, redirection targets included) reads a secret, or ``None``."""
    listed = name in _SECRET_LISTERS and "get" in words and ("secret" in words or "secrets" in words)
    if listed and any(word.startswith(("-o", "--output")) for word in words):
        return f"prints a secret ({name} get secret -o)"
    previous = ""
    for word in words:
        if previous in _OUTPUT_OPTIONS:
            previous = word
            continue
        previous = word
        if not _may_name_secret(word):
            continue  # most words (`status`, `-la`, `build`) need none of the searches below
        path = word.partition("=")[2] if word.startswith("-") and "=" in word else word
        if path and _read_secret(path.lstrip("@<")):
            return f"names a file that holds secrets (`{path}`)"
        if _METADATA_HOSTS.search(word):
            return "asks the cloud's metadata service, which hands out the machine's credentials"
    for needed in _PRINTS_SECRETS.get(name, ()):
        if all(word in words for word in needed):
            return f"prints a secret ({name} {' '.join(needed)})"
    if name == "printenv" and any(_SECRET_NAME.search(word) for word in words):
        return "prints a secret from the environment (printenv)"
    return None
