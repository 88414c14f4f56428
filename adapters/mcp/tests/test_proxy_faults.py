"""Fail closed: what a hostile or broken client or server sends, and servers that hang or crash.

Driven with raw lines (the SDK would never send most of this). Every test checks that
nothing undecided reached the server (the note file is absent, no decision was recorded)
and, where the protocol allows, that the proxy keeps serving afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import ALLOW_ALL, RawClient, decisions, raw_proxy, scripted_server, served, verify, wait_ready

from capfence import ActionRuntime
from capfence.testing import audit_rows
from capfence_mcp.capabilities import CapabilityMap
from capfence_mcp.gatekeeper import Gatekeeper
from conftest import demo_command, proxy_command

WRITE = {"name": "w.txt", "text": "hello"}


@pytest.fixture
def raw(policy: Path, audit_log: Path, workdir: Path) -> Iterator[RawClient]:
    """The proxy in front of the demo server (the default request timeout, 300 s: no test here waits for it)."""
    with raw_proxy(policy, audit_log, demo_command(workdir), "--max-message-bytes", "4096") as client:
        yield client


@pytest.fixture
def hanging(policy: Path, audit_log: Path, workdir: Path) -> Iterator[RawClient]:
    """The proxy with a 2 s request timeout, once the server answers and the proxy knows its tools.

    Only the request a test means to hang depends on the 2 s: the server starting (however slowly) is waited
    for here, and the requests after it are sent again if they time out (:func:`support.served`).
    """
    with raw_proxy(policy, audit_log, demo_command(workdir), "--request-timeout", "2") as client:
        wait_ready(client)
        yield client


def still_serving(raw: RawClient, request_id: int = 999) -> None:
    answer = served(raw, request_id, "tools/call", {"name": "echo", "arguments": {"text": "still here"}})
    assert answer["result"]["content"][0]["text"] == "still here", answer


def test_malformed_json_is_answered_and_the_proxy_keeps_serving(raw: RawClient) -> None:
    raw.send(b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {')
    assert raw.answer(None)["error"]["code"] == -32700
    still_serving(raw)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        # two "arguments": the proxy and the server might read different ones
        (
            b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_note","arguments":{"name":"w.txt","text":"ok"},'
            b'"arguments":{"name":"w.txt","text":"forbidden"}}}',
            -32700,
        ),
        # two "name"s inside arguments
        (
            b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_note","arguments":{"name":"w.txt","name":"x","text":"a"}}}',
            -32700,
        ),
        # two methods
        (
            b'{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call","params":{"name":"write_note","arguments":{}}}',
            -32700,
        ),
        # NaN is not JSON
        (
            b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_note","arguments":{"name":"w.txt","text":NaN}}}',
            -32700,
        ),
        # a member JSON-RPC does not define
        (
            b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_note","arguments":{"name":"w.txt","text":"a"}},"x":1}',
            -32600,
        ),
        # a request that is also a response
        (
            b'{"jsonrpc":"2.0","id":1,"method":"tools/call","result":{},"params":{"name":"write_note","arguments":{}}}',
            -32600,
        ),
        # not JSON-RPC 2.0
        (
            b'{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"write_note",'
            b'"arguments":{"name":"w.txt","text":"a"}}}',
            -32600,
        ),
        # an id that is neither a string nor an integer
        (
            b'{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"write_note",'
            b'"arguments":{"name":"w.txt","text":"a"}}}',
            -32600,
        ),
        (
            b'{"jsonrpc":"2.0","id":true,"method":"tools/call","params":{"name":"write_note",'
            b'"arguments":{"name":"w.txt","text":"a"}}}',
            -32600,
        ),
        # positional params
        (
            b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["write_note",{"name":"w.txt","text":"a"}]}',
            -32602,
        ),
        # a batch
        (
            b'[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_note",'
            b'"arguments":{"name":"w.txt","text":"a"}}}]',
            -32600,
        ),
    ],
)
def test_ambiguous_or_invalid_messages_are_refused_not_forwarded(
    raw: RawClient, workdir: Path, audit_log: Path, line: bytes, code: int
) -> None:
    raw.send(line)
    unaddressable = b'"id":1.5' in line or b'"id":true' in line or line.startswith(b"[")
    answer = raw.answer(None) if unaddressable else raw.answer(1)
    assert answer["error"]["code"] == code, answer
    still_serving(raw)
    assert not (workdir / "w.txt").exists()
    assert [r["tool"] for r in decisions(audit_log)] == ["demo/echo"], "only the echo was decided"


@pytest.mark.parametrize(
    "method", ["tools/call ", "Tools/Call", "tools/execute", "tools/call/", "rpc.tools/call"]
)
def test_a_tools_call_under_another_name_never_reaches_the_server(
    raw: RawClient, workdir: Path, method: str
) -> None:
    raw.request(1, method, {"name": "write_note", "arguments": WRITE})
    assert raw.answer(1)["error"]["code"] == -32601
    still_serving(raw)
    assert not (workdir / "w.txt").exists()


def test_invalid_tools_call_params_are_refused(raw: RawClient, workdir: Path, audit_log: Path) -> None:
    raw.request(1, "tools/call", {"name": "write_note", "arguments": ["w.txt", "hello"]})
    raw.request(2, "tools/call", {"arguments": WRITE})
    assert raw.answer(1)["error"]["code"] == -32602 and raw.answer(2)["error"]["code"] == -32602
    assert not (workdir / "w.txt").exists() and decisions(audit_log) == []


def test_an_id_in_use_is_refused(hanging: RawClient) -> None:
    hanging.request(7, "tools/call", {"name": "sleep_forever", "arguments": {}})
    hanging.request(7, "tools/call", {"name": "echo", "arguments": {"text": "second"}})
    assert "already in use" in hanging.answer(7)["error"]["message"]
    assert hanging.answer(7)["error"]["code"] == -32001, "the first call still times out on its own"
    answer = served(
        hanging, "7", "tools/call", {"name": "echo", "arguments": {"text": "a string id is another id"}}
    )
    assert answer["result"]["content"][0]["text"] == "a string id is another id", answer


def test_an_oversized_message_is_refused_and_the_proxy_keeps_serving(raw: RawClient, workdir: Path) -> None:
    raw.request(1, "tools/call", {"name": "write_note", "arguments": {"name": "w.txt", "text": "x" * 10_000}})
    assert "larger than 4096 bytes" in raw.answer(None)["error"]["message"]
    still_serving(raw)
    assert not (workdir / "w.txt").exists()


def test_a_hung_server_call_times_out_and_is_cancelled(hanging: RawClient, audit_log: Path) -> None:
    hanging.request(1, "tools/call", {"name": "sleep_forever", "arguments": {}})
    answer = hanging.answer(1)
    assert (
        answer["error"]["code"] == -32001
        and "did not answer tools/call within 2 s" in answer["error"]["message"]
    )
    still_serving(hanging)
    from capfence.testing import audit_rows

    assert [r["outcome"] for r in audit_rows(audit_log, "outcome")][:1] == ["tool_error"]


def test_a_crashing_server_answers_open_requests_and_stops_the_proxy(
    raw: RawClient, policy: Path, audit_log: Path, workdir: Path, tmp_path: Path
) -> None:
    crashing = tmp_path / "p.yaml"
    crashing.write_text(ALLOW_ALL)
    with raw_proxy(crashing, audit_log, demo_command(workdir)) as client:
        client.request(1, "tools/call", {"name": "sleep_forever", "arguments": {}})
        client.request(2, "tools/call", {"name": "crash", "arguments": {}})
        answers = [client.answer(1), client.answer(2)]
        assert all("the MCP server exited (status 3)" in a["error"]["message"] for a in answers)
        assert client.close() == 1
    assert (
        client.stderr.decode().strip().splitlines()[-1] == "capfence: error: the MCP server exited (status 3)"
    )


def test_an_unwritable_audit_log_denies(policy: Path, tmp_path: Path, workdir: Path) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file, so nothing can be created under it")
    with raw_proxy(policy, blocked / "audit.db", demo_command(workdir)) as client:
        client.request(1, "tools/call", {"name": "write_note", "arguments": WRITE})
        result = client.answer(1)["result"]
    assert result["isError"] is True and "internal_error" in result["content"][0]["text"]
    assert not (workdir / "w.txt").exists()


BROKEN_SERVER = r"""
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("method") == "initialize":
        result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "broken", "version": "0"}}
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)
    elif message.get("method") == "tools/list":
        tools = [{"name": name, "inputSchema": {"type": "object"}} for name in ("garbage", "duplicate", "huge", "fine")]
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": {"tools": tools}}), flush=True)
    elif message.get("method") == "tools/call" and message["params"]["name"] == "garbage":
        print('{"jsonrpc": "2.0", "id": %s, "result": {' % json.dumps(message["id"]), flush=True)
    elif message.get("method") == "tools/call" and message["params"]["name"] == "duplicate":
        print('{"jsonrpc":"2.0","id":%s,"result":{"content":[],"isError":false},"result":{}}' % json.dumps(message["id"]), flush=True)
    elif message.get("method") == "tools/call":
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": {"content": [{"type": "text", "text": "ok"}]}}), flush=True)
"""


def test_malformed_server_output_is_an_error_for_its_request_and_the_proxy_keeps_serving(
    tmp_path: Path, audit_log: Path
) -> None:
    policy, server = scripted_server(tmp_path, BROKEN_SERVER)
    with raw_proxy(policy, audit_log, server, "--request-timeout", "2") as client:
        wait_ready(client)  # the 2 s are for the unreadable answer only
        client.request(1, "tools/call", {"name": "garbage", "arguments": {}})
        second = served(client, 2, "tools/call", {"name": "duplicate", "arguments": {}})
        third = served(client, 3, "tools/call", {"name": "fine", "arguments": {}})
        first = client.answer(1)
    assert first["error"]["code"] in (-32603, -32001), first  # unreadable: no id to match, so it times out
    assert "malformed" in second["error"]["message"]
    assert third["result"]["content"][0]["text"] == "ok"


def test_a_client_that_disconnects_mid_call_stops_the_proxy_and_the_server(
    policy: Path, audit_log: Path, workdir: Path
) -> None:
    with raw_proxy(policy, audit_log, demo_command(workdir)) as client:
        client.request(1, "tools/call", {"name": "sleep_forever", "arguments": {}})
        client.request(2, "tools/call", {"name": "write_note", "arguments": WRITE})
        assert client.answer(2)["result"]["isError"] is False
        assert client.close() == 0, client.stderr.decode()
    # decided concurrently
    assert sorted(r["tool"] for r in decisions(audit_log)) == ["demo/sleep_forever", "demo/write_note"]
    from capfence.testing import audit_rows

    outcomes = {r["tool"]: (r["outcome"], r["detail"]) for r in audit_rows(audit_log, "outcome")}
    assert outcomes["demo/write_note"] == ("ran", None)
    assert outcomes["demo/sleep_forever"][0] == "tool_error", (
        "the forwarded call left open has an outcome too"
    )
    assert "client disconnected" in outcomes["demo/sleep_forever"][1]


@pytest.mark.parametrize("number", [b"1e400", b"-1e400"])
def test_an_out_of_range_number_is_refused_and_the_proxy_keeps_serving(
    raw: RawClient, workdir: Path, audit_log: Path, number: bytes
) -> None:
    # json.loads reads 1e400 as inf, which cannot be written back: it must be refused, not crash or hang the proxy
    raw.send(
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_note","arguments":{"name":"w.txt","text":'
        + number
        + b"}}}"
    )
    raw.send(b'{"jsonrpc":"2.0","id":2,"method":"ping","params":{"_meta":{"n":' + number + b"}}}")
    raw.send(
        b'{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":'
        + number
        + b"}}"
    )
    assert raw.answer(1)["error"]["code"] == -32700
    assert raw.answer(2)["error"]["code"] == -32700
    still_serving(raw)
    assert not (workdir / "w.txt").exists()
    assert [r["tool"] for r in decisions(audit_log)] == ["demo/echo"]


def test_a_server_sending_an_out_of_range_number_does_not_stop_the_proxy(
    tmp_path: Path, audit_log: Path
) -> None:
    source = BROKEN_SERVER.replace(
        '    elif message.get("method") == "tools/call":\n',
        '    elif message.get("method") == "tools/call" and message["params"]["name"] == "huge":\n'
        '        print(\'{"jsonrpc":"2.0","id":%s,"result":{"content":[],"n":1e400}}\' % json.dumps(message["id"]), flush=True)\n'
        '    elif message.get("method") == "tools/call":\n',
    )
    policy, server = scripted_server(tmp_path, source)
    with raw_proxy(policy, audit_log, server, "--request-timeout", "30") as client:
        client.request(1, "tools/call", {"name": "huge", "arguments": {}})
        first = client.answer(1)
        client.request(2, "tools/call", {"name": "fine", "arguments": {}})
        second = client.answer(2)
        assert client.close() == 0, client.stderr.decode()
    assert "malformed" in first["error"]["message"]
    assert second["result"]["content"][0]["text"] == "ok"


@pytest.mark.parametrize("refused", [b'"a":{"x":1,"x":2}', b'"a":NaN'])
def test_a_refused_message_nested_too_deep_for_its_id_is_answered_and_the_proxy_keeps_serving(
    raw: RawClient, workdir: Path, refused: bytes
) -> None:
    # refused for the duplicate key (or NaN) first; reading its id again must not fail on the deep nesting after it
    deep = b"[" * 1950 + b"]" * 1950  # deeper than the recursion limit, within --max-message-bytes 4096
    raw.send(b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{' + refused + b',"b":' + deep + b"}}")
    assert raw.answer(None)["error"]["code"] == -32700
    still_serving(raw)
    assert not (workdir / "w.txt").exists()


def test_stdin_that_is_not_a_pipe_is_a_one_line_error_not_a_hang(
    policy: Path, audit_log: Path, workdir: Path
) -> None:
    import subprocess

    from support import WAIT

    done = subprocess.run(
        [*proxy_command(policy, audit_log), "--", *demo_command(workdir)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=WAIT,
        check=False,
    )
    lines = done.stderr.decode().strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr.decode()
    assert lines[0].startswith("capfence: error: stdin and stdout must be pipes to an MCP client")


LATE_SERVER = r"""
import json, sys
held, cancelled = None, []
def answer(request_id, text):
    print(json.dumps({"jsonrpc": "2.0", "id": request_id, "result": {"content": [{"type": "text", "text": text}]}}), flush=True)
for line in sys.stdin:
    message = json.loads(line)
    method = message.get("method")
    if method == "initialize":
        result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "late", "version": "0"}}
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)
    elif method == "ping":
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": {}}), flush=True)
    elif method == "tools/list":
        tools = [{"name": name, "inputSchema": {"type": "object"}} for name in ("slow", "fast")]
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": {"tools": tools}}), flush=True)
    elif method == "notifications/cancelled":
        cancelled.append(message["params"]["requestId"])
    elif method == "tools/call" and message["params"]["name"] == "slow":
        held = message["id"]  # answered only later, after the proxy gave up on it
        print(json.dumps({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "holding"}}), flush=True)
    elif method == "tools/call":
        if held is not None:
            answer(held, "the late answer to the old request")
        answer(message["id"], f"new; ids {[held, message['id']]}; cancelled {cancelled}")
"""


def test_a_late_answer_is_never_delivered_to_a_request_that_reuses_the_id(
    tmp_path: Path, audit_log: Path
) -> None:
    policy, server = scripted_server(tmp_path, LATE_SERVER)
    with raw_proxy(policy, audit_log, server, "--request-timeout", "1") as client:
        wait_ready(client)  # the 1 s is for "slow" only
        client.request(1, "tools/call", {"name": "slow", "arguments": {}})
        assert client.answer(1)["error"]["code"] == -32001
        # the same id again, after the timeout (sent again if it too times out on a loaded machine)
        text = served(client, 1, "tools/call", {"name": "fast", "arguments": {}})["result"]["content"][0][
            "text"
        ]
        served(client, 2, "ping")  # everything the server sent before has been handled by now
        assert client.close() == 0, client.stderr.decode()
    assert text.startswith("new;"), text
    held, fresh = json.loads(text.split("; ")[1].removeprefix("ids "))
    assert held != fresh, "the server saw two requests under two ids"
    cancelled = json.loads(text.split("; ")[2].removeprefix("cancelled "))
    assert cancelled[:1] == [held] and fresh not in cancelled, (
        "the timed-out request was cancelled under the id the server knows (first; then any fast call that timed out)"
    )
    assert not [m for m in client.lines if m.get("id") == 1], "the late answer was dropped, not delivered"
    assert "dropped a response from the server to no request in progress" in client.stderr.decode()


def test_a_cancellation_reaches_the_server_under_its_id_and_one_of_no_request_is_dropped(
    tmp_path: Path, audit_log: Path
) -> None:
    policy, server = scripted_server(tmp_path, LATE_SERVER)
    with raw_proxy(policy, audit_log, server) as client:
        # nothing open: dropped
        client.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 5}})
        client.request("a", "tools/call", {"name": "slow", "arguments": {}})
        client.notification("notifications/message")  # the server holds "a"
        client.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "a"}})
        client.request("c", "tools/call", {"name": "fast", "arguments": {}})
        late, text = client.answer("a"), client.answer("c")["result"]["content"][0]["text"]
    held = json.loads(text.split("; ")[1].removeprefix("ids "))[0]
    assert text.endswith(f"cancelled [{held}]"), text
    assert late["result"]["content"][0]["text"] == "the late answer to the old request", (
        "still open at the proxy: passed on"
    )


def test_a_call_whose_capability_cannot_be_resolved_is_denied_and_recorded(
    runtime: ActionRuntime, audit_log: Path
) -> None:
    class BrokenMap(CapabilityMap):
        def resolve(self, server: str, tool: str) -> str:
            raise RuntimeError("injected fault")

    keeper = Gatekeeper(runtime, "bot", "demo", BrokenMap())
    decision, _, _ = keeper.decide("write_note", WRITE)
    assert decision.action == "deny" and decision.record_id is not None
    runtime.close()  # the outcome record is written
    [row] = decisions(audit_log)
    assert (row["tool"], row["capability"], row["decision"], json.loads(row["payload"])) == (
        "demo/write_note",
        "mcp._invalid",
        "deny",
        WRITE,
    )
    assert row["reason"] == "internal_error: deciding the call failed: RuntimeError: injected fault"
    assert [(o["outcome"], o["ref"]) for o in audit_rows(audit_log, "outcome")] == [("blocked", row["seq"])]
    verify(audit_log)
