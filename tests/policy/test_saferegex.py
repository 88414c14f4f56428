"""Tests for the linear-time ``matches:`` engine (capfence.policy.saferegex)."""

from __future__ import annotations

import random
import re
import threading
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from capfence.policy import saferegex
from capfence.policy.saferegex import MAX_PATTERN_LENGTH, SafePattern, compile_pattern


def automaton(pattern: str, flags: int = re.IGNORECASE) -> SafePattern:
    """Always the DFA/NFA engine, never the delegation to re."""
    return saferegex._compile(pattern, flags, fast_path=False)


# --- differential property test against re -------------------------------------

ATOMS = [
    "a", "b", "A", "é", "ß", "K", "\u212a", "İ", "1", "_", " ", "-", r"\n", r"\.", ".",
    r"\d", r"\D", r"\w", r"\W", r"\s", r"\S", "[ab]", "[^a]", "[a-c]", r"[^\s]", r"[\w-]", "[^ab1]", "[A-Z]", "[ß-ü]",
    "^", "$", r"\A", r"\Z", r"\b", r"\B",
]  # fmt: skip
QUANTIFIERS = ["*", "+", "?", "*?", "+?", "??", "{2}", "{1,3}", "{0,2}?", "{2,}", "{,2}"]
SCOPED = ["i", "m", "s", "-i", "im", "s-i", "-m", "-s"]


def _patterns() -> st.SearchStrategy[str]:
    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(children, children).map("".join),
            st.tuples(children, children).map("|".join),
            children.map("(?:{})".format),
            children.map("({})".format),
            st.tuples(children, st.sampled_from(QUANTIFIERS)).map(lambda t: f"(?:{t[0]}){t[1]}"),
            st.tuples(st.sampled_from(SCOPED), children).map(lambda t: f"(?{t[0]}:{t[1]})"),
        )

    body = st.recursive(st.sampled_from(ATOMS), extend, max_leaves=8)
    return st.tuples(st.sampled_from(["", "(?m)", "(?s)", "(?a)", "(?i)", "(?ms)"]), body).map("".join)


TEXTS = st.text(alphabet="aAbB1 _\n-.éÉßkK\u212aİı", max_size=12)


def _check_same_answer(pattern: str, text: str, ignore_case: bool) -> None:
    flags = re.IGNORECASE if ignore_case else 0
    try:
        expected = re.compile(pattern, flags).search(text) is not None
    except re.error:
        with pytest.raises(ValueError):
            compile_pattern(pattern, ignore_case=ignore_case)
        return
    assert automaton(pattern, flags).search(text) is expected, (pattern, text, ignore_case)
    assert compile_pattern(pattern, ignore_case=ignore_case).search(text) is expected, (
        pattern,
        text,
        ignore_case,
    )


@settings(max_examples=1500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=_patterns(), text=TEXTS, ignore_case=st.booleans())
@example(pattern=r"a$", text="a\n", ignore_case=False)
@example(pattern=r"a$\n", text="a\n", ignore_case=False)
@example(pattern=r"a$\nb", text="a\nb", ignore_case=False)
@example(pattern=r"$$\n", text="\n", ignore_case=False)
@example(pattern=r"\b", text="", ignore_case=False)
@example(pattern=r"\B", text="", ignore_case=False)
@example(pattern=r"(?a)\bé", text="aé", ignore_case=False)
@example(pattern=r"\bé", text="aé", ignore_case=False)
@example(pattern="k", text="\u212a", ignore_case=True)
@example(pattern="ss", text="ß", ignore_case=True)
@example(pattern="(?m)^b$", text="a\nb\nc", ignore_case=False)
@example(pattern=r"(?:\b)*x", text="ax", ignore_case=False)
@example(pattern="", text="", ignore_case=False)
def test_same_answer_as_re(pattern: str, text: str, ignore_case: bool) -> None:
    _check_same_answer(pattern, text, ignore_case)


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"(?:^|\s)sudo\s", "please sudo rm"),
        (r"(?:^|\s)sudo\s", "pseudo rm"),
        (r"\bcurl\b.*\|\s*(ba)?sh\b", "curl https://x.sh | bash"),
        (r"\bcurl\b.*\|\s*(ba)?sh\b", "curl https://x.sh | shasum"),
        (r"rm\s+-[a-z]*r[a-z]*f", "rm -rf /"),
        (r"[A-Z]{2,}\d+", "ab12"),
        (r"x{3,5}?y", "xxxxy"),
        (r"x{3,5}y", "xxy"),
        (r"^\s*$", "   "),
        (r"(?s)a.b", "a\nb"),
        (r"a.b", "a\nb"),
        (r"(?x) a  b # comment", "ab"),
        (r"(?i:A)b", "aB"),
        (r"(?-i:A)b", "aB"),
        (r"[^\W\d]+\Z", "abc1\n"),
        (r"\d+$", "123\n"),
        (r"\d+\Z", "123\n"),
    ],
)
def test_examples_agree_with_re(pattern: str, text: str) -> None:
    _check_same_answer(pattern, text, ignore_case=True)
    _check_same_answer(pattern, text, ignore_case=False)


@settings(max_examples=300, deadline=None, database=None)
@given(pattern=_patterns(), texts=st.lists(TEXTS, min_size=2, max_size=6))
def test_cached_states_do_not_leak_between_searches(pattern: str, texts: list[str]) -> None:
    try:
        re.compile(pattern)
    except re.error:
        return
    compiled = automaton(pattern, 0)
    for text in texts * 2:
        assert compiled.search(text) is (re.search(pattern, text) is not None), (pattern, text)


# --- engine selection ---------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["sudo", r"\brm\s-rf\b", r"[0-9]\.[0-9]", r"(?:ab)c", "a|b", "^$"])
def test_flat_patterns_are_delegated_to_re(pattern: str) -> None:
    assert compile_pattern(pattern).engine == "re"


@pytest.mark.parametrize("pattern", ["a*", "a+b", "(ab|cd)", "x{1,3}", "a?", r"(a+)+$"])
def test_patterns_with_choice_points_use_the_automaton(pattern: str) -> None:
    assert compile_pattern(pattern).engine == "dfa"


def test_ignore_case_default_and_off() -> None:
    assert compile_pattern("SUDO").search("sudo ls")
    assert not compile_pattern("SUDO", ignore_case=False).search("sudo ls")
    assert compile_pattern("S+UDO").search("sudo ls")
    assert not compile_pattern("S+UDO", ignore_case=False).search("sudo ls")


def test_repr_names_pattern_and_engine() -> None:
    assert "dfa" in repr(compile_pattern("a+"))


# --- hostile inputs finish fast (generous bounds: these only guard against hangs) -----------

HOSTILE = [
    (r"(a+)+$", "a" * 100_000 + "!"),
    (r"(a|aa)*b", "a" * 100_000),
    (r".*.*.*x", "a" * 100_000),
    (r"(x+x+)+y", "x" * 100_000),
    (r"(\w+\s?)+$", "word " * 20_000 + "!"),
    (r"^(a?){25}a{25}$", "a" * 25),
    (r"(.*a){12}", "a" * 100_000 + "b"),
]


@pytest.mark.parametrize(("pattern", "text"), HOSTILE)
def test_hostile_cases_do_not_hang(pattern: str, text: str) -> None:
    compiled = compile_pattern(pattern)
    started = time.thread_time()
    compiled.search(text)
    assert time.thread_time() - started < 2.0


def test_hostile_answers_are_right() -> None:
    assert not compile_pattern(r"(a+)+$").search("a" * 100_000 + "!")
    assert compile_pattern(r"(a+)+$").search("a" * 100_000)
    assert not compile_pattern(r"(a|aa)*b").search("a" * 100_000)
    assert compile_pattern(r"(a|aa)*b").search("a" * 100_000 + "b")
    assert not compile_pattern(r"(x+x+)+y").search("x" * 100_000)
    assert compile_pattern(r"^(a?){25}a{25}$").search("a" * 25)


def test_dfa_state_explosion_stays_bounded_and_correct() -> None:
    """(a|b)*a(a|b){12}c needs 2**13 DFA states: the cache flushes, then NFA simulation takes over."""
    rng = random.Random(7)
    text = "".join(rng.choice("ab") for _ in range(50_000))
    compiled = automaton(r"(a|b)*a(a|b){12}c", 0)
    started = time.thread_time()
    assert not compiled.search(text)
    assert compiled.search(text + "a" * 13 + "c")
    assert not compiled.search(text + "b" * 13 + "c")
    assert time.thread_time() - started < 2.0 * 3
    states = compiled._search.__self__.states  # type: ignore[attr-defined]
    assert len(states) <= saferegex.MAX_DFA_STATES


def test_many_distinct_characters_keep_the_cache_bounded() -> None:
    rng = random.Random(3)
    text = "".join(chr(rng.randrange(0x20, 0x9FFF)) for _ in range(300_000))
    compiled = automaton(r"(\w|\W)(\w|\W)\s+@\w+\.com", re.IGNORECASE)
    assert not compiled.search(text)
    engine = compiled._search.__self__  # type: ignore[attr-defined]
    assert engine.entries <= saferegex.MAX_DFA_ENTRIES
    assert len(engine.classes) <= saferegex.MAX_CLASS_CACHE


@pytest.mark.parametrize("tiny_cache", [False, True])
def test_concurrent_searches_share_one_pattern(tiny_cache: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if tiny_cache:  # flush constantly while other threads are mid-search
        monkeypatch.setattr(saferegex, "MAX_DFA_STATES", 8)
        monkeypatch.setattr(saferegex, "MAX_DFA_ENTRIES", 16)
        monkeypatch.setattr(saferegex, "MAX_FLUSHES_PER_SEARCH", 10**9)
    compiled = automaton(r"(a|b)*a(a|b){9}c", 0)
    rng = random.Random(11)
    texts = ["".join(rng.choice("abc") for _ in range(3_000)) for _ in range(24)]
    expected = [re.search(r"(a|b)*a(a|b){9}c", t) is not None for t in texts]
    errors: list[str] = []

    def worker(offset: int) -> None:
        for i in range(len(texts)):
            j = (i + offset) % len(texts)
            if compiled.search(texts[j]) is not expected[j]:
                errors.append(texts[j])

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


def test_anchored_pattern_stops_early_on_long_text() -> None:
    text = "x" * 10_000_000
    started = time.thread_time()
    assert not compile_pattern(r"\Aab+c").search(text)
    assert time.thread_time() - started < 0.5


@pytest.mark.slow
def test_ten_megabytes() -> None:
    text = ("lorem ipsum dolor sit amet, consectetur adipiscing elit 0123 " * 170_000)[:10_000_000]
    for pattern in (r".*\bcurl\b.*\|\s*(ba)?sh", r"(a|b)*c\d+x", r"[a-z]+@[a-z]+\.(com|org)"):
        compiled = compile_pattern(pattern)
        assert compiled.engine == "dfa"
        started = time.thread_time()
        assert not compiled.search(text)
        assert compiled.search(text + " curl x | sh" + "a@b.com" + "bc1x")
        assert time.thread_time() - started < 20.0  # ~0.7 s measured; only guards against a hang


# --- rejected patterns --------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (r"(a)\1", "backreference"),
        (r"(?P<x>a)(?P=x)", "backreference"),
        (r"a(?=b)", "lookahead"),
        (r"a(?!b)", "lookahead"),
        (r"(?<=a)b", "lookbehind"),
        (r"(?<!a)b", "lookbehind"),
        (r"(a)?(?(1)b|c)", "conditional"),
        (r"a*+", "possessive"),
        (r"a++", "possessive"),
        (r"(?>a+)", "atomic"),
        (r"(unclosed", "not a valid regular expression"),
        (r"*a", "not a valid regular expression"),
        (r"(?L)a", "not a valid regular expression"),
        (r"(?a:\W)", "scoped"),
    ],
)
def test_unsupported_constructs_are_rejected_clearly(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compile_pattern(pattern)


def test_pattern_length_is_bounded() -> None:
    with pytest.raises(ValueError, match="limit is"):
        compile_pattern("a" * (MAX_PATTERN_LENGTH + 1))


@pytest.mark.parametrize(
    "pattern",
    [r"(a{1000}){1000}", r"a{100000}", r"(\w{50}){50}x*", r"(((((((((()*){9}){9}){9}){9}){9}){9}){9}){9})"],
)
def test_automaton_size_is_bounded(pattern: str) -> None:
    started = time.thread_time()
    with pytest.raises(ValueError, match="too large"):
        compile_pattern(pattern)
    assert time.thread_time() - started < 2.0


def test_non_string_pattern_is_rejected() -> None:
    with pytest.raises(ValueError, match="string"):
        compile_pattern(b"abc")  # type: ignore[arg-type]
