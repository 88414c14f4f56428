"""``capfence.testing.Script``: the framework-neutral part of every adapter's scripted model."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from capfence.testing import Script, ScriptExhausted

CORE = Path(__file__).resolve().parents[1] / "capfence_core"


def test_replies_come_in_order_numbered_from_one() -> None:
    script: Script[str, list[str]] = Script(["first", "second"])
    assert script.next(["hi"]) == ("first", 1)
    assert script.next(["hi", "first", "again"]) == ("second", 2)
    assert script.turns == 2
    assert script.prompts == [["hi"], ["hi", "first", "again"]], "every conversation is recorded, in order"


def test_a_function_reply_is_called_with_the_conversation() -> None:
    script: Script[str, list[str]] = Script([lambda conversation: f"{len(conversation)} messages"])
    assert script.next(["a", "b", "c"]) == ("3 messages", 1)


def test_running_out_raises_and_says_how_often_it_was_called() -> None:
    script: Script[str, list[str]] = Script(["only"], model="LLM")
    script.next([])
    with pytest.raises(
        ScriptExhausted, match="the scripted LLM was called 2 times but its script has 1 replies"
    ):
        script.next([])
    assert script.turns == 1, "the call that ran out gave no reply"
    assert len(script.prompts) == 2, "the call that ran out is still recorded"


def test_final_answers_once_the_script_is_played() -> None:
    script: Script[str, list[str]] = Script(
        ["one"], final=lambda conversation: f"final after {conversation[-1]}"
    )
    assert [script.next([str(n)]) for n in range(3)] == [
        ("one", 1),
        ("final after 1", 2),
        ("final after 2", 3),
    ]


def test_rewind_plays_the_script_again_and_keeps_the_prompts() -> None:
    script: Script[str, list[str]] = Script(["a", "b"])
    script.next(["x"])
    script.next(["y"])
    script.rewind()
    assert script.turns == 0
    assert script.next(["z"]) == ("a", 1)
    assert script.prompts == [["x"], ["y"], ["z"]]


def test_threads_share_one_script_without_losing_or_repeating_a_turn() -> None:
    calls = 200
    script: Script[int, list[str]] = Script(range(calls))
    got: list[tuple[int, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(calls // 8):
            reply = script.next([])
            with lock:
                got.append(reply)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == [(n, n + 1) for n in range(calls)], "each reply given once, with its own turn"
    with pytest.raises(ScriptExhausted):
        script.next([])


def test_importing_capfence_testing_does_not_import_pytest() -> None:
    """An example that only plays a script runs where pytest is not installed; the fixture is built on first use."""
    code = (
        "import sys, capfence.testing as t\n"
        "assert 'pytest' not in sys.modules, 'imported pytest'\n"
        "fixture = t.capfence_runtime\n"
        "assert 'pytest' in sys.modules and fixture is t.capfence_runtime\n"
        "try:\n    t.no_such_name\nexcept AttributeError as e:\n    print(e)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(CORE)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "module 'capfence.testing' has no attribute 'no_such_name'"
