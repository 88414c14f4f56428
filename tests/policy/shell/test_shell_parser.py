"""The shell lexer/parser: quoting, operators, compound commands, substitutions, errors.

Unit tests pin the structure for each construct; property tests check that
(a) the parser fails only with ParseError and in bounded time on any text,
(b) words quoted by Python's ``shlex.quote`` come back unchanged, and
(c) where bash is installed, quote removal and brace expansion agree with
bash itself on generated words (bash prints the words it would pass).
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capfence.policy.shell.analyzer import analyze_argv, analyze_script
from capfence.policy.shell.ast import (
    ArithCommand,
    Case,
    CmdSub,
    For,
    FunctionDef,
    Group,
    If,
    Lit,
    Loop,
    Param,
    ProcSub,
    Script,
    Simple,
    Word,
)
from capfence.policy.shell.ast import (
    Test as CondTest,
)
from capfence.policy.shell.expand import Env, Expander
from capfence.policy.shell.lexer import MAX_NESTING
from capfence.policy.shell.model import Analysis
from capfence.policy.shell.parser import ParseError, parse
from capfence.policy.shell.plain import parse_plain, split_plain
from capfence.policy.shell.sketch import argv_keys, sketch_text

BASH = shutil.which("bash")


def only(script: Script):
    """The single command of a one-command script."""
    assert len(script.items) == 1
    item = script.items[0]
    assert not item.rest and len(item.first.commands) == 1
    return item.first.commands[0]


def words(text: str) -> list[str | None]:
    """Literal text of each word of a single simple command (None for words with expansions)."""
    command = only(parse(text))
    assert isinstance(command, Simple)
    return [w.literal for w in command.words]


def expanded(text: str) -> list[str]:
    """Words after brace expansion, for a single simple command of static words."""
    command = only(parse(text))
    assert isinstance(command, Simple)
    expander = Expander(Env(), lambda body: frozenset())
    return [arg.text for word in command.words for arg in expander.word(word)]


# --- quoting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rm -rf /", ["rm", "-rf", "/"]),
        ("'rm' -rf /", ["rm", "-rf", "/"]),
        ("r''m -rf /", ["rm", "-rf", "/"]),
        ('r""m -rf', ["rm", "-rf"]),
        ("\\rm -rf ~", ["rm", "-rf", "~"]),
        ("r\\m -r\\f", ["rm", "-rf"]),
        ("echo 'a b'  \"c d\"", ["echo", "a b", "c d"]),
        ('echo "a \\"b\\" \\\\ \\$x \\q"', ["echo", 'a "b" \\ $x \\q']),
        ("echo 'it'\\''s'", ["echo", "it's"]),
        ("echo ''", ["echo", ""]),
        ('echo ""', ["echo", ""]),
        ("echo a\\\nb", ["echo", "ab"]),
        ("echo a#b #comment", ["echo", "a#b"]),
        (
            "echo $'\\x72\\x6d' $'a\\tb' $'\\101' $'\\u00e9' $'it\\'s'",
            ["echo", "rm", "a\tb", "A", "é", "it's"],
        ),
        ("echo $'ab\\0cd'", ["echo", "ab"]),
        ('echo $"hi"', ["echo", "hi"]),
        ("echo a$ b", ["echo", "a$", "b"]),
        ("echo \\$HOME", ["echo", "$HOME"]),
    ],
)
def test_quote_removal(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_expansions_are_parts() -> None:
    command = only(parse('echo "$HOME" ${x:-$(id)} $1 $@ `whoami` $((1+2))'))
    assert isinstance(command, Simple)
    kinds = [type(p).__name__ for w in command.words[1:] for p in w.parts]
    assert kinds == ["Param", "Param", "Param", "Param", "CmdSub", "Arith"]
    braced = command.words[2].parts[0]
    assert isinstance(braced, Param) and not braced.simple and isinstance(braced.inner[0], CmdSub)


def test_cmdsub_is_parsed_recursively() -> None:
    command = only(parse("echo $(rm -rf / ; ls | wc -l)"))
    assert isinstance(command, Simple)
    sub = command.words[1].parts[0]
    assert isinstance(sub, CmdSub)
    assert len(sub.body.items) == 2


def test_case_inside_cmdsub_does_not_close_it() -> None:
    command = only(parse("echo $(case $x in a) echo A;; b) echo B;; esac) after"))
    assert isinstance(command, Simple) and command.words[2].literal == "after"


def test_backquotes_nest_with_escapes() -> None:
    command = only(parse("echo `echo \\`rm -rf /\\``"))
    assert isinstance(command, Simple)
    outer = command.words[1].parts[0]
    assert isinstance(outer, CmdSub)
    inner_cmd = only(outer.body)
    assert isinstance(inner_cmd, Simple)
    assert isinstance(inner_cmd.words[1].parts[0], CmdSub)


def test_process_substitution() -> None:
    command = only(parse("diff <(ls a) >(cat)"))
    assert isinstance(command, Simple)
    subs = [w.parts[0] for w in command.words[1:]]
    assert all(isinstance(s, ProcSub) for s in subs)
    assert [s.direction for s in subs if isinstance(s, ProcSub)] == ["<", ">"]


def test_arithmetic_vs_nested_subshell() -> None:
    command = only(parse("echo $(( (1+2) * 3 )) $( (ls) )"))
    assert isinstance(command, Simple)
    assert type(command.words[1].parts[0]).__name__ == "Arith"
    assert isinstance(command.words[2].parts[0], CmdSub)


# --- operators and lists ----------------------------------------------------------------------------


def test_lists_pipelines_and_background() -> None:
    script = parse("a && b || c; d | e |& f & g\nh")
    assert [len(i.rest) for i in script.items] == [2, 0, 0, 0]
    assert [i.background for i in script.items] == [False, True, False, False]
    assert len(script.items[1].first.commands) == 3


def test_newline_continuation_after_operators() -> None:
    script = parse("a &&\n  b |\n  c")
    assert len(script.items) == 1


def test_negation() -> None:
    script = parse("! grep x f")
    assert script.items[0].first.negated


def test_redirections() -> None:
    command = only(parse("cmd 2>/dev/null >>out <in 2>&1 &>all >|force 3<>rw <<<'here'"))
    assert isinstance(command, Simple)
    assert [(r.op, r.fd) for r in command.redirects] == [
        (">", 2),
        (">>", None),
        ("<", None),
        (">&", 2),
        ("&>", None),
        (">|", None),
        ("<>", 3),
        ("<<<", None),
    ]
    assert [w.literal for w in command.words] == ["cmd"]


def test_digits_not_adjacent_are_words() -> None:
    command = only(parse("echo 2 > x"))
    assert isinstance(command, Simple)
    assert [w.literal for w in command.words] == ["echo", "2"]
    assert command.redirects[0].fd is None


def test_heredocs() -> None:
    script = parse("cat <<EOF > f; cat <<-'END'\nhello $(id)\nEOF\n\tquoted $(id)\n\tEND\nls")
    first = script.items[0].first.commands[0]
    second = script.items[1].first.commands[0]
    assert isinstance(first, Simple) and isinstance(second, Simple)
    body1 = first.redirects[0].heredoc
    body2 = second.redirects[0].heredoc
    assert body1 is not None and body1.body is not None and body2 is not None and body2.body is not None
    assert any(isinstance(p, CmdSub) for p in body1.body.parts)
    assert body2.body.literal == "quoted $(id)\n"
    assert len(script.items) == 3


def test_heredoc_body_with_quotes_is_not_code() -> None:
    script = parse("cat > notes <<'EOF'\nit's \"fine\" ; rm -rf /\nEOF\necho done")
    assert len(script.items) == 2


def test_heredoc_without_delimiter_runs_to_end() -> None:
    command = only(parse("cat <<EOF\nabc"))
    assert isinstance(command, Simple)
    doc = command.redirects[0].heredoc
    assert doc is not None and doc.body is not None and doc.body.literal == "abc\n"


# --- compound commands --------------------------------------------------------------------------------


def test_fork_bomb_shape() -> None:
    script = parse(":(){ :|:& };:")
    definition = script.items[0].first.commands[0]
    assert isinstance(definition, FunctionDef) and definition.name == ":"
    assert isinstance(definition.body, Group) and definition.body.body.items[0].background


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("if a; then b; elif c; then d; else e; fi", If),
        ("while true; do x; done", Loop),
        ("until false; do x; done", Loop),
        ('for f in *.log; do rm "$f"; done', For),
        ("for f\ndo echo $f\ndone", For),
        ("for ((i=0; i<3; i++)); do echo $i; done", For),
        ("select x in a b; do break; done", For),
        ("case $1 in start|up) run;; (stop) halt;; *) ;; esac", Case),
        ("{ a; b; }", Group),
        ("( cd x && ls )", Group),
        ("(( i += 1 ))", ArithCommand),
        ("[[ -f a && $b == c* ]]", CondTest),
        ("function f { echo; }", FunctionDef),
        ("function f() ( echo )", FunctionDef),
        ("f () {\n  echo\n}", FunctionDef),
    ],
)
def test_compound_commands(text: str, kind: type) -> None:
    assert isinstance(only(parse(text)), kind)


def test_compound_redirects() -> None:
    command = only(parse("{ echo a; } > /dev/sda 2>&1"))
    assert isinstance(command, Group) and [r.op for r in command.redirects] == [">", ">&"]


@pytest.mark.parametrize(
    ("text", "kind", "first"),
    [
        ("time ls -l", Simple, "time"),
        ("time -p ls", Simple, "time"),
        ("time", Simple, "time"),
        ("time { ls; }", Group, None),
        ("time (ls)", Group, None),
        ("time if a; then b; fi", If, None),
    ],
)
def test_time_keyword(text: str, kind: type, first: str | None) -> None:
    command = only(parse(text))
    assert isinstance(command, kind)
    if isinstance(command, Simple):
        assert command.words[0].literal == first


@pytest.mark.parametrize(
    ("text", "kind", "first"),
    [
        ("coproc ls -l", Simple, "coproc"),
        ("coproc", Simple, "coproc"),
        ("coproc X=1 rm x", Simple, "coproc"),
        ("coproc { ls; }", Group, None),
        ("coproc NAME { ls; }", Group, None),
        ("coproc NAME (ls)", Group, None),
        ("coproc (ls) > out", Group, None),
        ("coproc NAME while a; do b; done", Loop, None),
    ],
)
def test_coproc_keyword(text: str, kind: type, first: str | None) -> None:
    """``coproc [NAME] compound`` runs the compound (bash, as tree-sitter-bash parses it); before a simple command it is a
    wrapper, and the simple command may start with assignments (``coproc X=1 rm x`` runs ``rm``)."""
    command = only(parse(text))
    assert isinstance(command, kind)
    if isinstance(command, Simple):
        assert command.words[0].literal == first
    if text == "coproc X=1 rm x":
        assert isinstance(command, Simple) and [a.name for a in command.assigns] == ["X"]


@pytest.mark.parametrize("text", ["a | ! b", "a |\n! b", "a | ! ! b"])
def test_bang_only_starts_a_pipeline(text: str) -> None:
    """bash and dash reject ``!`` after ``|`` (it negates a whole pipeline): nothing runs, so it is unparseable."""
    with pytest.raises(ParseError):
        parse(text)
    assert parse("! a | b") and parse("a && ! b")


def test_reserved_words_only_in_command_position() -> None:
    assert words("echo if then fi done }") == ["echo", "if", "then", "fi", "done", "}"]
    assert isinstance(only(parse("'if' x")), Simple)


def test_assignments_and_arrays() -> None:
    command = only(parse('A=1 B="x y" arr=(a b $(c)) env'))
    assert isinstance(command, Simple)
    assert [a.name for a in command.assigns] == ["A", "B", "arr"]
    assert command.assigns[2].array is not None and len(command.assigns[2].array) == 3
    assert [w.literal for w in command.words] == ["env"]


def test_assignment_only_after_command_word_is_an_argument() -> None:
    command = only(parse("env A=1 rm"))
    assert isinstance(command, Simple) and not command.assigns and len(command.words) == 3


def test_extglob_is_a_word() -> None:
    assert words("ls !(*.txt) @(a|b)") == ["ls", "!(*.txt)", "@(a|b)"]


# --- brace expansion (static) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{rm,-rf,/}", ["rm", "-rf", "/"]),
        ("rm -{r,f} /", ["rm", "-r", "-f", "/"]),
        ("echo a{b,c}d{1..3}", ["echo", "abd1", "abd2", "abd3", "acd1", "acd2", "acd3"]),
        ("echo {a..e..2} {3..1} {01..03}", ["echo", "a", "c", "e", "3", "2", "1", "01", "02", "03"]),
        ("echo {a,{b,c}}x", ["echo", "ax", "bx", "cx"]),
        ("echo {} {x} '{a,b}' {a\\,b}", ["echo", "{}", "{x}", "{a,b}", "{a,b}"]),
    ],
)
def test_brace_expansion(text: str, expected: list[str]) -> None:
    assert expanded(text) == expected


def test_brace_bomb_is_bounded() -> None:
    start = time.thread_time()  # CPU time of this thread: a busy machine does not stretch it
    analysis = analyze_script("{1..99999999999}{1..99999} -rf /")
    assert time.thread_time() - start < 1
    assert analysis.invocations[0].program is None  # too many words: treated as built at run time


# --- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "echo 'unterminated",
        'echo "unterminated',
        "echo $(ls",
        "echo $(ls )x )",
        "echo ${x",
        "echo `ls",
        "echo $'abc",
        "echo $((1+2)",
        "if true; then ls",
        "if true; ls; fi",
        "while true; do ls",
        "for x in a b; ls; done",
        "case x in a) ls;;",
        "{ ls",
        "( ls",
        "ls )",
        "ls ;;",
        "| ls",
        "&& ls",
        "ls &&",
        "ls |",
        "; ls",
        "ls > ",
        "fi",
        "f() ",
        "[[ -f a",
        "echo <(ls",
    ],
)
def test_unparseable(text: str) -> None:
    with pytest.raises(ParseError):
        parse(text)


def test_nesting_is_bounded() -> None:
    deep = "echo " + "$(" * (MAX_NESTING + 5) + "ls" + ")" * (MAX_NESTING + 5)
    with pytest.raises(ParseError):
        parse(deep)
    ok = "echo " + "$(" * 5 + "ls" + ")" * 5
    parse(ok)


# --- properties ----------------------------------------------------------------------------------------------

SHELLISH = st.text(
    alphabet=st.sampled_from(list("ab -'\"\\$`(){}[]<>|&;*?!#~=\n\t0123456789xyz")), max_size=60
)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(SHELLISH)
def test_parser_raises_only_parse_error(text: str) -> None:
    start = time.thread_time()  # CPU time of this thread: a busy machine does not stretch it
    with contextlib.suppress(ParseError):
        parse(text)
    assert time.thread_time() - start < 0.5


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12).filter(lambda w: "\x00" not in w), min_size=1, max_size=6))
def test_shlex_quoted_words_are_static_args(argv: list[str]) -> None:
    quoted = " ".join(shlex.quote(w) for w in ["cmd", *argv])
    command = only(parse(quoted))
    assert isinstance(command, Simple)
    assert [w.literal for w in command.words] == ["cmd", *argv]


WORDISH = st.text(alphabet=st.sampled_from(list("ab-'\"\\{},. 0")), min_size=1, max_size=24)


@pytest.mark.skipif(BASH is None, reason="bash not installed")
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(WORDISH)
def test_words_agree_with_bash(text: str) -> None:
    """Quote removal, escapes and brace expansion match bash (globbing off, no expansions in the alphabet)."""
    assert BASH is not None
    script = "set -f; printf '%s\\0' START " + text
    run = subprocess.run([BASH, "-c", script], capture_output=True, text=True, timeout=5, check=False)
    try:
        mine = expanded("printf START " + text)[1:]
    except ParseError:
        assert run.returncode != 0, f"bash accepted {text!r} but we did not"
        return
    assert run.returncode == 0, f"we accepted {text!r} but bash did not: {run.stderr}"
    theirs = run.stdout.split("\0")[:-1]
    assert mine == theirs


@pytest.mark.skipif(BASH is None, reason="bash not installed")
@pytest.mark.parametrize(
    "text",
    [
        "$'\\x72\\x6d'",
        "$'a\\tb\\n'",
        "$'\\101\\102'",
        "$'\\u00e9\\U0001F600'",
        "$'\\cA'",
        "$'\\e[0m'",
        "$'q\\'q'",
    ],
)
def test_ansi_c_agrees_with_bash(text: str) -> None:
    assert BASH is not None
    run = subprocess.run([BASH, "-c", "printf '%s\\0' " + text], capture_output=True, timeout=5, check=True)
    assert expanded("printf " + text)[1:] == [run.stdout.decode().split("\0")[0]]


def test_word_parts_merge() -> None:
    command = only(parse("echo a'b'\"c\"d"))
    assert isinstance(command, Simple)
    assert command.words[1] == Word((Lit("a", False), Lit("bc", True), Lit("d", False)))


PLAIN_LIST = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "ls",
                "rm",
                "-rf",
                "/",
                "git",
                "status",
                "a=b",
                "A=1",
                "x*",
                "[ab]",
                "~/x",
                "if",
                "time",
                "!",
                "{",
                "[[",
                "]]",
                "-",
                "--",
                "1",
                "2",
                "done",
                "in",
                "|",
                "||",
                "&&",
                ";",
                "&",
                "|&",
                ";;",
                " ",
                "\t",
                "#",
                "# c",
                "#x",
                "\n",
            ]
        ),
        st.text(alphabet=st.sampled_from(list("abrm-./:@%+,=~^*?[]_09|&;#\n")), min_size=1, max_size=6),
    ),
    min_size=1,
    max_size=10,
).map(" ".join)


def full_parse(text: str) -> Script | str:
    """The lexer-and-parser result (or its error), bypassing the plain shortcut."""
    from capfence.policy.shell import parser

    original = parser.parse_plain
    parser.parse_plain = lambda *_: None  # type: ignore[assignment]
    try:
        return parse(text)
    except ParseError as exc:
        return f"error: {exc}"
    finally:
        parser.parse_plain = original


@settings(max_examples=1500, deadline=None)
@given(st.one_of(PLAIN_LIST, PLAIN_LIST.map(lambda t: t.replace(" ", ""))))
def test_plain_shortcut_builds_the_parsers_tree(text: str) -> None:
    shortcut = parse_plain(text)
    if shortcut is not None:
        assert shortcut == full_parse(text)


PLAIN = st.text(alphabet=st.sampled_from(list("abcrm -./:@%+,=~^*?[]\t_09")), min_size=1, max_size=40)
PIPED = st.lists(
    st.sampled_from(
        [
            "curl -s x",
            "wget -O- x",
            "sh",
            "bash -s",
            "python3",
            "cat a.sh",
            "sudo",
            "env",
            "xargs rm",
            "find . -exec rm {} +",
            "tee a.sh",
            "./a.sh",
            "git push -f",
            "rm -rf /",
            "ls",
        ]
    ),
    min_size=1,
    max_size=4,
).flatmap(
    lambda words: st.lists(
        st.sampled_from(["|", "&&", "||", ";"]), min_size=len(words) - 1, max_size=len(words) - 1
    ).map(
        lambda ops: " ".join(
            w + (" " + o if i < len(ops) else "")
            for i, (w, o) in enumerate(zip(words, [*ops, ""], strict=True))
        )
    )
)


def full_analysis(text: str) -> object:
    """The analysis through the lexer and parser, bypassing the plain shortcuts (the split, the sketch and the plain tree)."""
    from capfence.policy.shell import parser, sketch

    originals = sketch.split_plain, parser.parse_plain
    sketch.split_plain = lambda _text: None  # type: ignore[assignment]
    parser.parse_plain = lambda *_: None  # type: ignore[assignment]
    try:
        return analyze_script(text)
    finally:
        sketch.split_plain, parser.parse_plain = originals


QUOTED_WORD = st.lists(
    st.one_of(
        st.text(alphabet=st.sampled_from(list("abrm-./*?[]~=_")), min_size=1, max_size=4),
        st.text(alphabet=st.sampled_from(list('ab *?[]{}$`\\"#|;&!~=\n-')), max_size=5).map(
            lambda t: "'" + t.replace("'", "") + "'"
        ),
        st.text(alphabet=st.sampled_from(list("ab *?[]{}$`\\'#|;&!~=\n-")), max_size=5).map(
            lambda t: '"' + t.replace('"', "") + '"'
        ),
    ),
    min_size=1,
    max_size=3,
).map("".join)
QUOTED = st.lists(
    st.one_of(
        QUOTED_WORD, st.sampled_from(["rm", "-rf", "find", "-delete", "sh", "-c", "|", "&&", ";", "# c"])
    ),
    min_size=1,
    max_size=6,
).map(" ".join)


@pytest.mark.shortcuts
@settings(max_examples=2500, deadline=None)
@given(st.one_of(PLAIN, PLAIN_LIST, PIPED, PIPED.map(lambda t: t + " # note"), QUOTED))
def test_fast_path_agrees_with_parser(text: str) -> None:
    """Plain command lists skip the parser; the analysis must be what the parser's tree would give."""
    assert analyze_script(text) == full_analysis(text)


HEADS = [
    "ls",
    "LS",
    "Git",
    "git",
    "grep",
    "npm",
    "mkfs.ext4",
    "python3.12",
    "python3",
    "sh",
    "Bash",
    "docker",
    "kubectl",
    "tee",
    "curl",
    "wget",
    "eval",
    "alias",
    "trap",
    "source",
    ".",
    "env",
    "sudo",
    "find",
    "fd",
    "xargs",
    "busybox",
    "awk",
    "at",
    "watch",
    "ssh",
    "exec",
    "command",
    "nice",
    "timeout",
    "./a.sh",
    "/bin/rm",
    "rm",
    "r'm'",
    '"ls"',
    "l*",
    "~x",
    "x1",
    "",
]
ARGS = [
    "-rf",
    "p'us'h",
    "'-x'",
    "''",
    "x",
    "a.sh",
    "-",
    "--force",
    "push",
    "'a b'",
    "*.log",
    "-exec",
    "-ex'ec'",
    "-x",
    "rm",
    "{}",
    "';'",
    "+",
    "-delete",
]
ORDINARY = st.lists(
    st.tuples(
        st.sampled_from(HEADS),
        st.lists(st.sampled_from(ARGS), max_size=4),
        st.sampled_from([" | ", " && ", " || ", "; ", " # c"]),
    ),
    min_size=1,
    max_size=4,
).map(lambda parts: "".join(" ".join([head, *args]) + op for head, args, op in parts).rstrip("|&; "))


@pytest.mark.shortcuts
@settings(max_examples=2500, deadline=None)
@given(st.one_of(ORDINARY, PLAIN, PLAIN_LIST, PIPED, QUOTED))
def test_sketch_keys_are_the_analysis_keys(text: str) -> None:
    """Commands the prefilter judges from a sketch have exactly the keys (and programs) their analysis would give."""
    sketch = sketch_text(text)
    if sketch.keys is not None:
        analysis = full_analysis(text)
        assert isinstance(analysis, Analysis) and analysis.error is None and not analysis.unknown_program
        assert (sketch.keys, sketch.programs) == (analysis.keys, analysis.programs)
        assert sketch.filter_keys == (sketch.keys - {"held"} if sketch.known else sketch.keys)


@pytest.mark.shortcuts
@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from([*HEADS, "-rf", "x", "$X", "a b", "-exec", "rm", "{}", ";", "-x"]), max_size=5)
)
def test_argv_sketch_keys_are_the_analysis_keys(argv: list[str]) -> None:
    keys = argv_keys(argv)
    if keys is not None:
        assert keys == analyze_argv(argv).keys


def test_sketch_agrees_for_every_program_the_analyzer_knows() -> None:
    """Every name in the analyzer's tables, with arguments that would make it run something: sketched only if exact."""
    from capfence.policy.shell import programs

    names = {
        *programs.WRAPPERS,
        *programs.RUNNERS,
        *programs.INTERPRETERS,
        *programs.SOURCE_COMMANDS,
        *programs.LAUNCHER_ACTIONS,
        *programs.APPLET_HOSTS,
        *programs.DOWNLOADERS,
        *programs.OPTION_SPECS,
        "eval",
        "alias",
        "trap",
        "python3.12",
        "bash5",
    }
    tails = [
        "",
        " rm -rf /",
        " -c 'rm -rf /'",
        " exec rm -rf /",
        " -exec rm {} +",
        " -x rm",
        " x | sh",
        " -o a.sh x && sh a.sh",
    ]
    sketched = 0
    for name in sorted(names):
        for tail in tails:
            text = name + tail
            sketch = sketch_text(text)
            if sketch.keys is not None:
                sketched += 1
                analysis = full_analysis(text)
                assert isinstance(analysis, Analysis) and sketch.keys == analysis.keys, text
    assert sketched > 50  # downloaders, find without -exec, option-spec programs: sketched; the rest analysed


@pytest.mark.parametrize("count", [1999, 2000, 2001, 2600])
def test_sketch_keeps_the_command_bound(count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from capfence.policy.shell import budget

    # the bound on commands, not the budget, is tested here
    monkeypatch.setattr(budget, "MAX_STEPS", 1_000_000)
    text = "ls;" * (count - 1) + "ls"
    analysis = full_analysis(text)
    assert isinstance(analysis, Analysis) and (analysis.error is not None) == (count > 2000)
    assert (sketch_text(text).keys is None) == (count > 2000)
    assert analyze_script(text) == analysis


@pytest.mark.parametrize("count", [10, 300, 600, 1000, 1500, 3000])
@pytest.mark.parametrize("command", ["ls", "ls -la src 'a b'", "cat f | grep x | wc -l"])
@pytest.mark.shortcuts
def test_sketch_keeps_the_budget(count: int, command: str) -> None:
    """Where the sketch gives keys, the analysis does not run out of budget: it has those keys (and no error)."""
    text = "; ".join([command] * count)
    sketch = sketch_text(text)
    analysis = analyze_script(text)
    if sketch.keys is not None:
        assert analysis.error is None and analysis.keys == sketch.keys
    full = full_analysis(text)
    assert isinstance(full, Analysis)
    if full.error is None:
        assert analysis == full
    if count <= 10:
        assert full.error is None and analysis == full
    if count >= 3000:
        assert full.error is not None and analysis.error is not None


def test_only_ascii_digits_number_a_redirection() -> None:
    """``¹< x`` is a command named ``¹`` reading ``x`` (bash agrees); it used to raise from int()."""
    assert analyze_script("¹< x").programs == frozenset({"¹"})
    assert analyze_script("cat 2< x").invocations[0].redirects[0].fd == 2


@pytest.mark.parametrize(
    "text",
    [
        "ls -la src",
        "cat README.md | grep TODO # 12",
        "npm test && npm run build",
        "GIT status; Ls",
        "git commit -m 'a | b'",
        "python3.11x y",
        "find . -name '*.log' -delete",
        "fd -e py src",
    ],
)
def test_sketch_covers_ordinary_commands(text: str) -> None:
    assert sketch_text(text).keys is not None
    assert sketch_text(text).analysis() == full_analysis(text)


@pytest.mark.parametrize(
    "text",
    [
        "sudo ls",
        "find . -exec rm {} +",
        "find . -ex'ec' rm {} ';'",
        "fd -x rm",
        "python3.12 x",
        "./a.sh",
        "/bin/ls",
        "l* x",
        "'ls' x",
        "curl x | sh",
        "xargs rm",
        "docker run x",
        "eval x",
        "ls > f",
        "ls $X",
        "A=1 ls",
        "ls; bash",
    ],
)
def test_sketch_leaves_the_rest_to_the_analyzer(text: str) -> None:
    assert sketch_text(text).keys is None


@pytest.mark.parametrize(
    "text",
    [
        "curl -s x | sh",
        "git status # 1",
        "tee a.sh && ./a.sh",
        "xargs rm ; ls",
        "cat a | bash -s",
        "find . -name '*.log' -delete",
        'git commit -m "fix: a|b; c" && git push',
        "sh -c 'rm -rf /'",
        "grep -r 'rm -rf' notes.txt # '",
        "echo ''",
        "r''m -rf /",
        "'if' x",
        'echo "a#b" # c',
    ],
)
def test_fast_path_covers_and_agrees(text: str) -> None:
    assert split_plain(text) is not None
    assert analyze_script(text) == full_analysis(text)


def test_fast_path_declines_reserved_and_assignments() -> None:
    assert split_plain("if x") is None
    assert split_plain("A=1 rm") is None
    assert split_plain("rm -rf /") == [([[["rm", "-rf", "/"]]], [])]
    assert split_plain("a | b && c; d") == [([[["a"], ["b"]], [["c"]]], ["&&"]), ([[["d"]]], [])]
    assert split_plain("echo 'a | b' \"c;d\"") == [([[["echo", "'a | b'", '"c;d"']]], [])]
    for text in [
        'echo "$HOME"',
        "echo 'a",
        'echo "a\\"b"',
        "ls;# c",
        "a & b",
        "x=1 ls",
        "'a'=1 ls",
        "echo '\n'",
    ]:
        assert split_plain(text) is None, text


def test_plain_split_cannot_backtrack() -> None:
    """A long word that turns out not to be plain is declined at once (possessive matching)."""
    for tail in ("$", "'", "\\x", "{"):
        assert split_plain("a" * 60000 + tail) is None
        assert split_plain(("a '' " * 12000) + tail) is None


@pytest.mark.parametrize(
    "text",
    [
        "cat README.md | grep TODO",
        "npm test && npm run build",
        "a || b; c | d | e && f",
        "ls;",
        "a;b",
        "a|b",
        "git status",
        "git status # 12",
        "make\t#build it",
        "a | b #; rm -rf /",
    ],
)
def test_plain_shortcut_covers_common_lists(text: str) -> None:
    assert parse_plain(text) is not None
    assert parse_plain(text) == full_parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "a &",
        "a |& b",
        "a ;; b",
        "a || ",
        "| a",
        "a && && b",
        ";",
        "",
        "if x; then y; fi",
        "A=1 ls",
        "time ls",
        "a > f",
        "echo 'x'",
        "a\nb",
        "! a",
        "a#b",
        "# only a comment",
        "ls # c\nrm x",
        "a &&",
    ],
)
def test_plain_shortcut_declines(text: str) -> None:
    assert parse_plain(text) is None
