"""The shortcut for ``command: {known: ...}``: plain commands known safe from their words, without an analysis.

``known_plain`` (through the sketch) may only say "known safe" where the full judgement (``why_held`` of every invocation
of the parser's analysis) says so too; and the pack's decisions with the shortcut must be those without it, for generated
commands and for the tldr-pages corpus.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capfence.call.view import CallView
from capfence.policy.compiled import Policy
from capfence.policy.engine import evaluate
from capfence.policy.shell import cache, sketch
from capfence.policy.shell.analyzer import analyze_script
from capfence.policy.shell.catalogue import CATALOGUE
from capfence.policy.shell.known import why_held
from capfence.policy.shell.model import HELD
from capfence.policy.shell.sketch import sketch_text
from tests.support.paths import TLDR


def full_known(text: str) -> bool | None:
    """Every invocation known safe, by the parser's analysis (the plain shortcuts bypassed); ``None``: unparseable."""
    from capfence.policy.shell import parser

    originals = sketch.split_plain, parser.parse_plain
    sketch.split_plain = lambda _text: None  # type: ignore[assignment]
    parser.parse_plain = lambda _text: None  # type: ignore[assignment]
    try:
        analysis = analyze_script(text)
    finally:
        sketch.split_plain, parser.parse_plain = originals
    if analysis.error is not None:
        return None
    return all(why_held(inv) is None for inv in analysis.invocations)


@pytest.fixture
def no_shortcut(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The sketch never says "known": every known: rule goes through the analysis."""
    cache.clear()
    monkeypatch.setattr(sketch, "known_plain", lambda _name, _words: False)
    yield
    cache.clear()


PROGRAMS = [
    *sorted(CATALOGUE)[::3],
    "git",
    "npm",
    "docker",
    "kubectl",
    "cargo",
    "go",
    "pip",
    "rm",
    "cp",
    "mkdir",
    "chmod",
    "ls",
    "grep",
    "systemctl",
    "terraform",
    "helm",
    "gh",
    "uv",
    "sort",
    "Git",
    "LS",
    "nsenter",
    "hash",
    "printf",
    "test",
    "read",
    "let",
    "echo",
    "cat",
    "jq",
    "apt",
    "yarn",
    "poetry",
    "shred",
    "kill",
    "curl",
    "wget",
    "touch",
    "mv",
    "ln",
    "rsync",
    "tee",
    "sed",
]
WORDS = [
    "status",
    "log",
    "run",
    "build",
    "test",
    "install",
    "-g",
    "--global",
    "-r",
    "-rf",
    "-f",
    "--force",
    "-p",
    "x",
    "src/",
    "/etc/passwd",
    "~/.ssh/id_rsa",
    ".git/hooks/pre-commit",
    "-",
    "--",
    "'a b'",
    '"-g"',
    "'$(id)'",
    "a[$(id)]",
    "push",
    "reset",
    "--hard",
    "clean",
    "compose",
    "up",
    "ps",
    "get",
    "apply",
    "-C",
    "repo",
    "restart",
    "plan",
    "list",
    "/tmp/x",
    "-n",
    "5",
    "'x'",
    "-s",
    "exec",
    "sub",
    "-p",
    "foo=bar",
    "*.log",
    "-sSL",
    "-o",
    "out",
    "-X",
    "POST",
    "-d",
    "--data=x",
    "-I",
    "--silent",
    "-O",
    "-q",
    "-fsSL",
    "-T",
    "-sk",
    "https://x/y",
    "/dev/sda",
    "-R",
    "--recursive",
    "--recursive=x",
    "-u",
]
COMMAND = st.tuples(st.sampled_from(PROGRAMS), st.lists(st.sampled_from(WORDS), max_size=5)).map(
    lambda t: " ".join([t[0], *t[1]])
)
TEXT = st.lists(
    st.tuples(COMMAND, st.sampled_from([" | ", " && ", " || ", "; "])), min_size=1, max_size=3
).map(lambda parts: "".join(c + op for c, op in parts)[: -len(parts[-1][1])])


@pytest.mark.shortcuts
@settings(max_examples=3000, deadline=None)
@given(TEXT)
def test_sketch_says_known_only_where_the_full_judgement_does(text: str) -> None:
    found = sketch_text(text)
    if found.known:
        assert found.keys is not None
        assert full_known(text) is True, text
        assert found.filter_keys == found.keys - {HELD}
    elif found.keys is not None:
        assert found.filter_keys == found.keys and HELD in found.keys


@pytest.mark.parametrize(
    "text",
    [
        "ls -la src",
        "cat README.md | grep TODO # 3",
        "npm test && npm run build",
        "git status",
        "git log --oneline -n 5 | head",
        "mkdir -p build && cp -r assets build/",
        "curl -s https://example.com | jq .",
        "gh pr list --limit 5",
        "cargo test --release",
        "go vet ./...",
    ],
)
def test_everyday_commands_are_known_from_their_words(text: str) -> None:
    assert sketch_text(text).known
    assert full_known(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "npm install -g x",
        "git -C repo status",
        "rm -r build",
        "git reset --hard",
        "nsenter -t 1",
        "printf 'a[$(id)]'",
        "cp a /etc/x",
        "docker compose up",
        "LS",
        "kill 1",
        "npx x",
        "reboot",
    ],
)
def test_the_rest_is_left_to_the_analysis(text: str) -> None:
    assert not sketch_text(text).known


def decide(policy: Policy, command: str) -> tuple[str, str, str | None]:
    decision = evaluate(policy, CallView("shell.execute", {"command": command}, "test"))
    return decision.action, decision.reason, decision.rule


@pytest.mark.shortcuts
@settings(max_examples=600, deadline=None)
@given(TEXT)
def test_pack_decides_the_same_without_the_shortcut(shell_pack: Policy, text: str) -> None:
    cache.clear()
    fast = decide(shell_pack, text)
    original = sketch.known_plain
    sketch.known_plain = lambda _name, _words: False  # type: ignore[assignment]
    cache.clear()
    try:
        slow = decide(shell_pack, text)
    finally:
        sketch.known_plain = original
        cache.clear()
    assert fast == slow, text


@pytest.mark.shortcuts
@pytest.mark.skipif(not TLDR.exists(), reason="tldr corpus not available")
def test_tldr_corpus_decided_the_same_without_the_shortcut(
    shell_pack: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = [json.loads(line)["command"] for line in TLDR.read_text().splitlines() if line.strip()]
    cache.clear()
    fast = [decide(shell_pack, c) for c in commands]
    shortcut = sum(1 for c in commands if len(c) <= cache.CACHED_CHARS and sketch_text(c).known)
    monkeypatch.setattr(sketch, "known_plain", lambda _name, _words: False)
    cache.clear()
    slow = [decide(shell_pack, c) for c in commands]
    cache.clear()
    differ = [(c, f, s) for c, f, s in zip(commands, fast, slow, strict=True) if f != s]
    assert not differ, differ[:5]
    assert shortcut > 1500  # a sizeable share of the corpus takes the shortcut


@pytest.mark.shortcuts
def test_known_plain_command_is_allowed_without_an_analysis(
    shell_pack: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The point of the shortcut: ``ls``/``cat | grep``/``npm test`` never seen before are allowed without being analysed."""
    analysed: list[str] = []
    real = cache.analyze_script

    def counting(text: str, found: sketch.Sketch | None = None, *budget: object) -> object:
        analysed.append(text)
        return real(text, found, *budget)

    monkeypatch.setattr(cache, "analyze_script", counting)
    cache.clear()
    for command in ("ls -la src # 1", "cat README.md | grep TODO # 2", "npm test && npm run build # 3"):
        assert decide(shell_pack, command)[0] == "allow"
    assert analysed == []
    assert decide(shell_pack, "git -C repo status # 4")[0] == "allow"  # not known from its words: analysed
    assert analysed == ["git -C repo status # 4"]
    cache.clear()


def test_every_option_the_catalogue_names_starts_like_an_option() -> None:
    """``known_plain`` skips the option checks for words none of which starts with ``-``, ``+`` or ``@``: that is only
    right while every held, output, code-file and risky-value option of the catalogue starts that way."""
    from capfence.policy.shell.catalogue import CATALOGUE, Entry

    def keys(entry: Entry) -> list[str]:
        own = [*entry.hold, *entry.outputs, *entry.code_files, *entry.risky_values]
        return own + [
            key for sub in (entry.subs or {}).values() if isinstance(sub, Entry) for key in keys(sub)
        ]

    assert [
        key for entry in CATALOGUE.values() for key in keys(entry) if not key.startswith(("-", "+", "@"))
    ] == []
