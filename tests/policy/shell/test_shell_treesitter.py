"""The shell parser against an independent one: tree-sitter-bash finds the same programs in every corpus command.

A program the parser misses is a program no rule ever judges, so the program names of our analysis are compared with
those tree-sitter-bash (the grammar editors and GitHub use; a test-only dependency) finds in the same text:

- **in command position**: the command word of every simple command, wherever it stands (lists, pipelines, compound
  commands, function bodies, ``$(...)``, ``<(...)``, here-documents), against our invocations that no wrapper, shell or
  launcher started (``via == ()``). ``[ ... ]`` and ``export``/``local``/``unset``... count as commands (we list them);
  names are compared as the shell would look them up: quotes removed, the last path component, case-folded (our
  analysis knows ``RM`` as ``rm``), and a name with an unquoted glob is unknown (the shell expands it at run time).
  A command word tree-sitter finds only as built at run time (``$'rm'``, ``$HOME``, a glob) may be any one name of ours
  (our expansion may know it), and we also list the programs that ``NAME=value`` settings name (``EDITOR=vim git commit``
  runs vim): those extra names are not differences;
- **in nested shell code**: each ``sh -c CODE`` / ``bash -lc CODE`` / ``eval CODE`` whose code our analysis reads
  statically is parsed by tree-sitter too, and the programs it finds there must be among those our analysis lists as run
  by that shell or ``eval``. (What a wrapper such as ``sudo``, ``env`` or ``xargs`` runs is our analyzer's knowledge of
  those programs, not a parser's: tree-sitter has nothing to say about it.) Each corpus command is also given to
  ``sh -c`` as nested code, quoted.

Texts one parser rejects and the other accepts are compared too. Every difference found is listed below with its reason;
any other fails the test. The corpora: ``tests/data/*.jsonl`` (among them a sample of the tldr-pages examples, CC BY
4.0, see ``tests/data/README.md``) and the escape cases of ``tests/support/shell_escapes.py``.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from collections.abc import Iterator
from functools import cache

import pytest
import tree_sitter_bash
from tree_sitter import Language, Node, Parser

from capfence.policy.shell.analyzer import analyze_script
from capfence.policy.shell.model import Analysis, Kind
from tests.support.paths import ROOT
from tests.support.shell_escapes import ESCAPES, EVERYDAY

PARSER = Parser(Language(tree_sitter_bash.language()))

Names = Counter[str | None]
"""Program names (``None``: built at run time), each as often as it is run."""

# --- what tree-sitter finds --------------------------------------------------------------------------------------

_EXPANDING = frozenset(
    {
        "command_substitution",
        "process_substitution",
        "simple_expansion",
        "expansion",
        "arithmetic_expansion",
        "brace_expression",
        "translated_string",
    }
)
_GLOB = re.compile(r"[*?\[]")
_BRACES = re.compile(r"\{[^{}]*(,|\.\.)[^{}]*\}")
"""Brace expansion (``{a,b}``, ``{1..3}``): the shell makes several words of it."""
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_DQ_ESCAPED = re.compile(r'\\([$`"\\\n])')


def static_text(node: Node) -> str | None:
    """A word's text after quote removal, or ``None`` if it expands at run time (or is a glob)."""
    kind = node.type
    text = (node.text or b"").decode("utf-8", "surrogateescape")
    if kind in _EXPANDING:
        return None
    if kind in ("word", "number"):
        if _GLOB.search(_ESCAPED.sub("", text)) or _BRACES.search(_ESCAPED.sub("", text)):
            return None
        return _ESCAPED.sub(r"\1", text)
    if kind == "raw_string":
        return text[1:-1]
    if kind == "ansi_c_string":
        return None if "\\" in text else text[2:-1]
    if kind == "string":
        if any(child.type != "string_content" for child in node.named_children):
            return None
        return _DQ_ESCAPED.sub(r"\1", text[1:-1])
    if kind == "command_name" and _BRACES.search(_ESCAPED.sub("", text)):
        return None
    if kind in ("concatenation", "command_name"):
        parts = [
            static_text(child) for child in (node.named_children if kind == "command_name" else node.children)
        ]
        return None if any(part is None for part in parts) else "".join(p for p in parts if p is not None)
    return None


def lookup_name(word: str | None) -> str | None:
    """The name a program is known by: its last path component (``/`` itself for ``/``), case-folded."""
    if word is None:
        return None
    base = word.rstrip("/").rsplit("/", 1)[-1] or ("/" if word else "")
    return base.casefold()


def _nodes(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        found = stack.pop()
        yield found
        stack.extend(reversed(found.children))


def ts_parse(text: str) -> tuple[bool, Names]:
    """Whether tree-sitter finds a syntax error, and the programs in command position of ``text``."""
    root = PARSER.parse(text.encode("utf-8", "surrogateescape")).root_node
    names: Names = Counter()
    for node in _nodes(root):
        if node.type == "command":
            name = node.child_by_field_name("name")
            if name is not None:
                names[lookup_name(static_text(name))] += 1
        elif node.type == "test_command" and (node.text or b"").startswith(b"[ "):
            names["["] += 1  # ([[ ... ]] is syntax, [ ... ] a command)
        elif node.type in ("declaration_command", "unset_command"):
            names[(node.children[0].text or b"").decode()] += 1
    return root.has_error, names


# --- what our analysis finds -------------------------------------------------------------------------------------

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash"})
"""Shells whose ``-c CODE`` is compared (and ``eval CODE``)."""


def ours(analysis: Analysis) -> Names:
    """Our invocations that nothing started but the shell reading the text: the command words."""
    return Counter(
        None if inv.program is None else inv.program.casefold()
        for inv in analysis.invocations
        if not inv.via and inv.program != ""
    )


def named_by_settings(analysis: Analysis) -> set[str | None]:
    """The programs in the values of the commands' ``NAME=value`` settings (``EDITOR=vim git commit``), which our analysis
    lists as run (by the program given the variable) and a parser does not."""
    found: set[str | None] = set()
    for inv in analysis.invocations:
        for setting in inv.env:
            error, names = ts_parse(setting.text.partition("=")[2])
            found |= set() if error else set(names)
    return found


def nested_code(analysis: Analysis) -> list[tuple[str, str]]:
    """``(runner, code)`` for each shell ``-c`` or ``eval`` whose code our analysis knows statically."""
    found = []
    for inv in analysis.invocations:
        name = (inv.program or "").casefold()
        args = inv.args
        if args and args[0].text == "--":
            args = args[1:]  # (eval -- CODE)
        if name == "eval" and args and all(arg.kind is Kind.STATIC for arg in args):
            found.append((name, " ".join(arg.text for arg in args)))
        elif name in SHELLS:
            for i, arg in enumerate(args):
                if not arg.text.startswith("-"):
                    break
                if not arg.text.startswith("--") and "c" in arg.text[1:]:
                    code = next((a for a in args[i + 1 :] if not a.text.startswith("-")), None)
                    if code is not None and code.kind is Kind.STATIC:
                        found.append((name, code.text))
                    break
    return found


def run_by(analysis: Analysis, runners: frozenset[str]) -> Names:
    """Our invocations started directly by a shell or ``eval`` (the last of their ``via``)."""
    return Counter(
        None if inv.program is None else inv.program.casefold()
        for inv in analysis.invocations
        if inv.via and inv.via[-1].casefold() in runners and inv.program != ""
    )


# --- the comparison ----------------------------------------------------------------------------------------------


def compare(text: str) -> str | None:
    """How the two parsers differ on ``text`` (``None``: they agree)."""
    ts_error, ts_names = ts_parse(text)
    analysis = analyze_script(text)
    if ts_error or analysis.error is not None:
        if ts_error and analysis.error is not None:
            return None
        return "only tree-sitter rejects it" if ts_error else f"only we reject it ({analysis.error})"
    found = ours(analysis)
    if found != ts_names and not _explained(ts_names, found, analysis):
        return f"command words: tree-sitter {_show(ts_names - found)}, we {_show(found - ts_names)}"
    codes = nested_code(analysis)
    expected: Names = Counter()
    for _, code in codes:
        error, names = ts_parse(code)
        if not error:
            expected.update(names)
    missing = expected - run_by(analysis, frozenset(runner for runner, _ in codes))
    missing.pop(None, None)  # (a name built at run time: ours may know it)
    return f"nested code: we miss {_show(missing)}" if missing else None


def _explained(ts_names: Names, found: Names, analysis: Analysis) -> bool:
    """Every name tree-sitter knows is ours too; each more name of ours is a program a setting names, or the name of a
    command word tree-sitter knows only as built at run time (``$'rm'``, ``$HOME``: our expansion knows it)."""
    if ts_names - found - Counter({None: ts_names[None]}):
        return False
    more = found - ts_names
    more.pop(None, None)
    settings = named_by_settings(analysis)
    unexplained = sum(count for name, count in more.items() if name not in settings)
    return unexplained <= max(0, ts_names[None] - found[None])


def _show(names: Names) -> str:
    return "{" + ", ".join(f"{name!r}" for name in sorted(names.elements(), key=str)) + "}"


ACCEPTED: dict[str, str] = {
    # tree-sitter takes a word with '=' after an option-like start for an assignment: bash does not
    "mid3v2 --artist|--album|--song=string ./file1.mp3": "tree-sitter reads --song=string as an assignment",
    "mate-search-tool --start --user|group=value --path=./directory": "tree-sitter reads --path=... as an assignment",
    # texts bash rejects too: we refuse them (fail closed), tree-sitter's grammar is lenient
    "coproc { command1;; }": "';;' outside a case: bash rejects it too",
    "coproc name { command1;; }": "';;' outside a case: bash rejects it too",
    "coproc name { while read line; do command1;; done }": "';;' outside a case: bash rejects it too",
    "while getopts :x: opt; do case $opt in x) ;; :) echo;; ?) echo esac;; done": "the case has no esac (bash rejects it)",
    "sudo loadkeys en|de|fi|dvorak|defkeymap|...": "'fi' where a command starts (bash rejects it)",
    "loadkeys -m en|de|fi|...": "'fi' where a command starts (bash rejects it)",
    "loadkeys --bkeymap en|de|fi|...": "'fi' where a command starts (bash rejects it)",
    "loadkeys -p en|de|fi|...": "'fi' where a command starts (bash rejects it)",
    # code we read as shell code that is not: unparseable, so held (watch runs its operands with sh -c)
    "watch class-pattern method-pattern '{}' '\"5\".equals(params[0])' -x 4": "watch's operands are sh -c code",
    # valid bash tree-sitter's grammar rejects
    '[ "$variable" -eq|ne|gt|lt|ge|le integer ]': "tree-sitter: '|' inside [ ]",
    'for variable in */; do (cd "$variable" || continue; echo) done': "tree-sitter: 'done' right after a subshell",
    "[a-z][3-9]": "tree-sitter: a glob of two brackets in command position",
    "gopass ./store_name|directory|email@email.com": "tree-sitter: '@' in a word",
    "exec 3<>./file": "tree-sitter: the '<>' redirection",
    "exec 3<>/dev/tcp/remote_host/port_number": "tree-sitter: the '<>' redirection",
    "exec 3<>-": "tree-sitter: the '<>' redirection",
    "command << EOF <Enter> multiline_text <Enter> EOF": "a here-document ended by the end of input (bash warns)",
    "cat << EOF > ./file.txt <Enter> multiline_data <Enter> EOF": "a here-document ended by the end of input (bash warns)",
    "cat <<- EOF > ./file.txt <Enter> multiline_data <Enter> EOF": "a here-document ended by the end of input (bash warns)",
    "volta install node|npm|yarn@version": "tree-sitter: '@' in a word",
    "volta pin node|npm|yarn@version": "tree-sitter: '@' in a word",
    "fcrackzip -v --brute-force --length 3 -c a:$% archive": "tree-sitter: '$%' (literal to bash)",
    "pstoedit -f magick ./file page%d.png|page%d.jpg": "tree-sitter: '%' in a word",
    "systemd-cryptenroll --wipe-slot empty|password|fido2|pkcs#11|tpm2|recovery|all ./luks2_block_device": (
        "tree-sitter: '#' inside a word"
    ),
    "{ while true; do echo $RANDOM; sleep 1; done } | ttyplot": "tree-sitter: '}' right after 'done'",
    "wpctl set-mute @DEFAULT_SINK|SOURCE@ 1|0|toggle": "tree-sitter: '@' in a word",
    # tree-sitter reads coproc as a command name, so not coproc NAME { ... } (we parse it as bash does)
    "coproc name { while read line; do echo | command1 | cat /dev/fd/0; done }": "tree-sitter: coproc NAME compound",
    'coproc BC { bc -l; }; echo "1/3" >&"${BC[1]}"; read <&"${BC[0]}" output; echo "$output"': (
        "tree-sitter: coproc NAME compound"
    ),
    # bash rejects '|' inside [[ ]]; we accept it and find no program in it (nothing runs either way)
    "[[ $variable -eq|ne|gt|lt|ge|le integer ]]": "bash rejects '|' inside [[ ]]; tree-sitter too; we find no program",
}
"""Commands of the corpora on which the parsers differ, each with the reason (no program we miss is among them)."""


def corpus() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "tests" / "data").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                command = case["payload"].get("command") if "payload" in case else case["command"]
                if isinstance(command, str):
                    texts.append(command)
    return [*texts, *ESCAPES, *EVERYDAY]


@cache
def differences() -> dict[str, str]:
    found = {}
    for text in corpus():
        difference = compare(text)
        if difference is not None:
            found[text] = difference
    return found


def test_the_parsers_find_the_same_programs() -> None:
    texts = corpus()
    assert len(texts) > 3000
    unexplained = {text: why for text, why in differences().items() if text not in ACCEPTED}
    assert unexplained == {}


def test_every_accepted_difference_is_still_one() -> None:
    """(An entry whose difference went away is removed, so the list says what is true.)"""
    present = set(corpus())
    gone = [text for text in ACCEPTED if text in present and text not in differences()]
    assert gone == []
    assert set(ACCEPTED) <= present


def test_each_command_as_nested_code() -> None:
    """Each corpus command both parsers read alike, given to ``sh -c`` (quoted): the programs tree-sitter finds in the code
    are among those our analysis lists as run by that shell."""
    agreed = [text for text in corpus() if text not in differences() and not ts_parse(text)[0]]
    agreed = [text for text in agreed if analyze_script(text).error is None]
    assert len(agreed) > 3000
    differ = {}
    for text in agreed:
        wrapped = "sh -c " + shlex.quote(text)
        assert ("sh", text) in nested_code(analyze_script(wrapped))
        difference = compare(wrapped)
        if difference is not None:
            differ[text] = difference
    assert differ == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ls -la | grep x && echo $(whoami)", {"ls", "grep", "echo", "whoami"}),
        ("f() { rm -rf x; }; f", {"rm", "f"}),
        ('"/usr/bin/RM" -rf x', {"rm"}),
        ("cat <(curl x) | sh", {"cat", "curl", "sh"}),
        ("if [ -f x ]; then export A=1; fi", {"[", "export"}),
        ("$CMD x; ./*.sh", {None}),
    ],
)
def test_tree_sitter_side(text: str, expected: set[str | None]) -> None:
    """The oracle's own reading (so a broken extraction cannot agree with everything by finding nothing)."""
    error, names = ts_parse(text)
    assert not error and set(names) == expected


def test_a_missed_program_is_a_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    """Were our analysis to lose a command (here: every ``rm``), the comparison would say so."""
    from capfence.policy.shell import analyzer

    def losing_rm(text: str) -> Analysis:
        real = analyzer.analyze_script(text)
        return Analysis.of(tuple(inv for inv in real.invocations if inv.program != "rm"))

    for text in ("ls && rm -rf x", "sh -c 'ls; rm -rf x'"):
        assert compare(text) is None
    monkeypatch.setitem(globals(), "analyze_script", losing_rm)
    assert compare("ls && rm -rf x") == "command words: tree-sitter {'rm'}, we {}"
    assert compare("sh -c 'ls; rm -rf x'") == "nested code: we miss {'rm'}"
