"""Pathological shell commands: each built to make one part of the command analysis slow.

Shared by ``tests/policy/shell/test_shell_bounded_time.py`` (each must be decided within a bound) and
``benchmarks/bench_pathological.py`` (per-input timings). Every command is at most
:data:`SIZE` characters, just under the matcher's cap on one command (``MAX_COMMAND_CHARS``),
so it is analyzed rather than refused for its size.
"""

from __future__ import annotations

SIZE = 65_000
"""Characters per command: the largest the matcher analyzes (65,536) less some room."""


def fill(unit: str, head: str = "", tail: str = "", size: int = SIZE) -> str:
    """``head`` + as many copies of ``unit`` as fit + ``tail``."""
    return head + unit * ((size - len(head) - len(tail)) // len(unit)) + tail


def nest(opening: str, middle: str, closing: str, size: int = SIZE, head: str = "") -> str:
    """``opening`` * n + ``middle`` + ``closing`` * n, as deep as fits in ``size``."""
    depth = (size - len(head) - len(middle)) // (len(opening) + len(closing))
    return head + opening * depth + middle + closing * depth


def nest_to(depth: int, opening: str, middle: str, closing: str) -> str:
    return opening * depth + middle + closing * depth


def repeat_nested(
    depth: int, opening: str, middle: str, closing: str, sep: str = "; ", head: str = ""
) -> str:
    """A nesting of ``depth`` levels (within the parser's limits), repeated to fill the command."""
    return fill(nest_to(depth, opening, middle, closing) + sep, head=head)


def backquotes(depth: int) -> str:
    """``echo `echo \\`echo ...\\``` nested ``depth`` deep (each level escapes the one inside)."""
    text = "ls"
    for _ in range(depth):
        text = "echo `" + text.replace("\\", "\\\\").replace("`", "\\`") + "`"
    return text


def sh_c(depth: int) -> str:
    """``sh -c 'sh -c ...'`` nested ``depth`` deep."""
    text = "ls"
    for _ in range(depth):
        text = "sh -c " + "'" + text.replace("'", "'\\''") + "'"
    return text


def cases() -> dict[str, str]:
    """Name -> command."""
    words_256 = "{1..256}"
    return {
        # --- brace expansion ---------------------------------------------------------------------------------------------------
        "brace: {1..256} words": fill(" " + words_256, head="echo"),
        "brace: {1..256} in one word": fill(words_256, head="echo "),
        "brace: {1..16}{1..16} words": fill(" {1..16}{1..16}", head="echo"),
        "brace: {a,b} x 1000 one word": "echo " + "{a,b}" * 1000,
        "brace: {a,b} words": fill(" {a,b}", head="echo"),
        "brace: {a,b}x8 words": fill(" " + "{a,b}" * 8, head="echo"),
        "brace: 256 alternatives words": fill(
            " {" + ",".join("x" * 1 for _ in range(256)) + "}", head="echo"
        ),
        "brace: nested {a,{a,...}}": nest("{a,", "b", "}", head="echo "),
        "brace: nested 100 words": fill(" " + nest_to(100, "{a,", "b", "}"), head="echo"),
        "brace: unclosed { words": fill(" " + "{" * 500, head="echo"),
        "brace: unmatched {a, words": fill(" " + "{a," * 160, head="echo"),
        "brace: } then { words": fill(" " + "}{" * 250, head="echo"),
        "brace: {x..y} words": fill(" {a..z}{a..j}", head="echo"),
        "brace: huge range": fill(" {1..99999999}", head="echo"),
        "brace: rm {a,b} x 1000": "rm -rf " + "{a,b}" * 1000,
        # --- parameter expansion -----------------------------------------------------------------------------------------------
        "param: doubling x=$x$x": "x=abcdefgh; " + "x=$x$x; " * 60 + "echo $x",
        "param: long value used often": fill(" $x", head="x=" + "a" * 1000 + "; echo"),
        "param: split value used often": fill(" $x", head="x='" + "a " * 500 + "'; echo"),
        "param: $x$x... one word": fill("$x", head="x=" + "a" * 100 + "; echo "),
        'param: quoted nesting "${x:-"${y:-...}"}"': nest('"${x:-', "z", '}"', head="echo "),
        "param: ${x:-${y:-...}} nesting": nest("${x:-", "z", "}", head="echo "),
        "param: ${x:-${...}} depth 20 repeated": repeat_nested(20, "${x:-", "z", "}", sep=" ", head="echo "),
        "param: ${x} many": fill(" ${x}", head="echo"),
        # --- substitutions -----------------------------------------------------------------------------------------------------
        "cmdsub: $($($(...))) deep": nest("$(", "ls", ")", head="echo "),
        "cmdsub: depth 20 repeated": repeat_nested(20, "$(", "ls", ")"),
        "cmdsub: $(echo $(echo ...)) depth 20 repeated": repeat_nested(20, "$(echo ", "ls", ")"),
        "cmdsub: unclosed $( x many": fill("$(", head="echo "),
        "backquote: nested 13": backquotes(13),
        "backquote: many": fill(" `ls`", head="echo"),
        "backquote: unclosed": "echo `" + "a" * 64000,
        "procsub: <(<(...)) deep": nest("<(", "ls", ")", head="cat "),
        "procsub: depth 20 repeated": repeat_nested(20, "<(cat ", "ls", ")", head="cat "),
        "arith: $(( $(( ... )) )) deep": nest("$(( ", "1", " ))", head="echo "),
        "arith: $(( $(( ... ) ) ) fallback": nest("$(( ", "1", " )", head="echo "),
        "arith: $(( ( ( ... ) ) )) parens": nest("(", "1", ")", head="echo $((", size=SIZE - 2) + "))",
        "arith: (( (( ... )) ))": nest("(( ", "1", " ))"),
        "arith: $(( x ) ) backtrack 20": repeat_nested(20, "$(( ", "1", " )"),
        "arith: $( ( backtrack 20": repeat_nested(20, "$( (", "ls", ") )"),
        # --- quoting -----------------------------------------------------------------------------------------------------------
        "quote: '' between letters": fill("a''", head="echo "),
        'quote: "" between letters': fill('a""', head="echo "),
        "quote: $'\\x41' escapes": "echo $'" + fill("\\x41", size=SIZE - 10) + "'",
        "quote: backslashes": fill("\\a", head="echo "),
        "quote: long single word": fill("a", head="echo "),
        "quote: long quoted word": "echo '" + fill("a", size=SIZE - 10) + "'",
        'quote: unterminated "': 'echo "' + fill("a", size=SIZE - 10),
        "quote: glob [[[[": fill("[", head="echo "),
        "quote: glob [ words": fill(" [a", head="echo"),
        "quote: glob ****": fill("*", head="ls "),
        "quote: extglob @(@(...))": nest("@(", "a", ")", head="ls "),
        # --- nested code -------------------------------------------------------------------------------------------------------
        "code: sh -c nested 9": sh_c(9),
        "code: sh -c many": fill(" && sh -c 'ls'", head="ls"),
        "code: eval many": fill("; eval 'ls'", head="ls"),
        "code: bash <<< many": fill("; bash <<< 'ls'", head="ls"),
        "perl: qx{qx{...}} closed": "perl -e '" + nest("qx{", "ls", "}", size=SIZE - 20) + "'",
        "perl: qx{ unclosed": "perl -e '" + fill("qx{", size=SIZE - 20) + "'",
        "perl: qx( unclosed": "perl -e '" + fill("qx(", size=SIZE - 20) + "'",
        "ruby: %x(%x(...)) closed": "ruby -e '" + nest("%x(", "ls", ")", size=SIZE - 20) + "'",
        "ruby: %x( unclosed": "ruby -e '" + fill("%x(", size=SIZE - 20) + "'",
        "perl: backquotes many": "perl -e '" + fill("`ls`;", size=SIZE - 20) + "'",
        'perl: system(" unclosed': "perl -e '" + fill('system("', size=SIZE - 20) + "'",
        'perl: system("ls") many': "perl -e '" + fill('system("ls");', size=SIZE - 20) + "'",
        "perl: while 1 <spaces>": "perl -e 'while 1" + " " * (SIZE - 30) + "x'",
        "perl: while(1) <spaces>": "perl -e 'while(1)" + " " * (SIZE - 30) + "x'",
        "perl: for(;;) <spaces>": "perl -e 'for(;;)" + " " * (SIZE - 30) + "x'",
        "python: os.system( nested": 'python3 -c "' + nest("os.system(", "'ls'", ")", size=SIZE - 20) + '"',
        "python: ( nested": 'python3 -c "' + nest("(", "1", ")", size=SIZE - 20) + '"',
        "python: [ strings list": 'python3 -c "subprocess.run([' + fill("'a',", size=SIZE - 30) + '])"',
        "python: unterminated '''": "python3 -c \"os.system('''" + fill("a", size=SIZE - 40) + '"',
        "python: escapes in string": "python3 -c \"os.system('" + fill("\\\\\\\\", size=SIZE - 40) + "')\"",
        "python: unterminated string of backslashes": "python3 -c 'os.system(\"" + "\\\\" * 40 + "x'",
        "python: many unterminated strings": "python3 -c '" + fill('os.system("\\\\', size=SIZE - 20) + "'",
        "awk: backslashes before getline": "awk '" + fill('"\\\\\\', size=SIZE - 30) + "x'",
        "python: unterminated string list": 'python3 -c "subprocess.run(['
        + fill("'a',", size=SIZE - 40)
        + "'"
        + "b" * 10
        + '"',
        "python: fork-bomb whitespace": "python3 -c 'while True" + " " * (SIZE - 40) + "x'",
        "python: b64decode + exec": 'python3 -c "'
        + fill("exec(base64.b64decode('eA=='));", size=SIZE - 20)
        + '"',
        "awk: getline many": "awk '" + fill('BEGIN{"ls" | getline x} ', size=SIZE - 20) + "'",
        "awk: quotes no getline": "awk '" + fill('"a" ', size=SIZE - 20) + "'",
        "node: execSync many": "node -e '"
        + fill('require("child_process").execSync("ls");', size=SIZE - 20)
        + "'",
        # --- lists, pipelines, compound commands -------------------------------------------------------------------------------
        "list: assignments a=1; ...": fill("; a=1", head="a=1"),
        "list: prefix assignments a=1 b=2 ... ls": fill("a=1 ", tail="ls"),
        "list: export a=1 many": fill("; export a=1", head="ls"),
        "list: pipes": fill(" | ls", head="ls"),
        "list: pipes into sh": fill(" | sh", head="ls"),
        "list: &&": fill(" && ls", head="ls"),
        "list: ||": fill(" || ls", head="ls"),
        "list: ; with rm": fill("; rm x", head="ls"),
        "list: & background": fill(" & ls", head="ls"),
        "list: newlines": fill("\nls", head="ls"),
        "list: comments": fill("ls # x\n"),
        "case: many items": fill("a) ls;; ", head="case $x in ", tail="esac"),
        "case: many patterns": fill("a|", head="case $x in ", tail="b) ls;; esac"),
        "if: nested 20 repeated": repeat_nested(20, "if true; then ", "ls", "; fi"),
        "if: many elif": fill(" elif true; then ls;", head="if true; then ls;", tail=" fi"),
        "loop: while nested 20 repeated": repeat_nested(20, "while true; do ", "ls", "; done"),
        "loop: for many words": fill(" a", head="for i in", tail="; do ls; done"),
        "group: { { ... } } deep": nest("{ ", "ls", "; }"),
        "group: ( ( ... ) ) deep": nest("( ", "ls", " )"),
        "group: { ls; ...} >a": "{ " + "ls; " * 1900 + "} " + fill(" >a", size=SIZE - 7700),
        "test: [[ many words": fill(" -n a", head="[[", tail=" ]]"),
        "heredoc: many": fill("cat <<E\nx\nE\n"),
        "heredoc: many on one line": "cat " + "<<E " * 5000 + "\n" + "x\nE\n" * 5000,
        "heredoc: body with $( )": "cat <<E\n" + fill("$(ls) ", size=SIZE - 20) + "\nE\n",
        "heredoc: into bash": fill("bash <<E\nls\nE\n"),
        "function: many": fill("f() { ls; }; "),
        "function: nested definitions 20 repeated": repeat_nested(20, "f() { ", "ls", "; }"),
        "function: many recursive": fill("f() { f; }; "),
        # --- redirections and arguments ----------------------------------------------------------------------------------------
        "redirect: many >a": fill(" >a", head="ls"),
        "redirect: many >/dev/x": fill(" >/dev/x", head="ls"),
        "redirect: many 2>&1": fill(" 2>&1", head="ls"),
        "redirect: many <a": fill(" <a", head="cat"),
        "redirect: many <<<a": fill(" <<<a", head="cat"),
        "args: versioned program name": "1" * (SIZE - 10) + "x1 -c ls",
        "args: python3.1.1.1... -c": "python3" + ".1" * ((SIZE - 20) // 2) + " -c ls",
        "args: git push +<long ref>": "git push origin +" + "a" * (SIZE - 20),
        "args: git push +<long ref>$x": "git push origin +" + "a" * (SIZE - 30) + "$x",
        "args: git push +<long ref> quoted": "git push origin '+" + "a" * (SIZE - 30) + "'",
        "args: redirect to /dev/<long>": "ls > /dev/" + "a" * (SIZE - 20),
        "args: redirect to /dev/<long>$x": "ls > /dev/" + "a" * (SIZE - 30) + "$x",
        "args: rm -rf many": fill(" -rf", head="rm"),
        "args: many words": fill(" a", head="ls"),
        "args: find -exec many": fill(" -exec ls {} ;", head="find ."),
        "args: sudo many": fill("sudo ", tail="ls"),
        "args: xargs many": fill("xargs ", tail="ls"),
        "args: env many": fill("env ", tail="ls"),
        "args: git push +x many": fill(" +x", head="git push origin"),
        "args: chmod -R many": fill(" /etc", head="chmod -R 777"),
        "args: dd of= many": fill(" of=/dev/x", head="dd"),
    }
