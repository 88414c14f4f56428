"""The console in a real browser: Debian's chromium driven by Selenium through chromium-driver, against a real ``capfence serve``.

The server is the real command in a subprocess; a real agent (ActionRuntime +
CapFenceTool in a thread) waits on a held call while a person approves it in
the browser. Every wait is on a condition (WebDriverWait, or polling the
audit log), never a fixed sleep. Screenshots of the main pages go to
``$CAPFENCE_SCREENSHOTS`` when set (``docs/images`` for the docs), else to the
test's temporary directory.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.waiting import wait_for
from tests.web.web_support import HOSTILE, TOKEN, populate, require_web

require_web()
selenium = pytest.importorskip(
    "selenium", reason="the browser tests need selenium: pip install -e '.[web,web-test]'"
)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from capfence import ActionRuntime, CapFenceTool  # noqa: E402

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
WAIT = 60


def _require_browser() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    message = "browser tests NOT RUN: install Debian's chromium and chromium-driver (.ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _traffic(policy: Path, audit_log: Path) -> None:
    """A few dozen decisions from several agents, so the overview has something to draw."""
    commands = ["ls -la", "git status", "make test", "cat notes.txt", "rm -rf /", "curl -s localhost/health"]
    with ActionRuntime.from_policy(policy, audit_log=audit_log) as runtime:
        for n in range(60):
            runtime.evaluate(
                "shell.execute",
                {"command": commands[n % len(commands)]},
                agent_id=f"agent-{n % 4}",
                tool="bash",
            )
        runtime.evaluate("deploy.staging", {"version": "1.4.1"}, agent_id="release-bot", tool="deploy")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A populated log served by a real ``capfence serve`` subprocess."""
    _require_browser()
    from tests.web.web_support import POLICY, STRICT

    work = tmp_path_factory.mktemp("console")
    policies = work / "policies"
    policies.mkdir()
    (policies / "policy.yaml").write_text(POLICY.lstrip("\n"))
    (policies / "strict.yaml").write_text(STRICT)
    audit = work / "audit.db"
    _traffic(policies / "policy.yaml", audit)
    made = populate(policies / "policy.yaml", str(audit))
    port = _free_port()
    script = Path(sys.executable).with_name("capfence")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "capfence.cli"]
    env = {**os.environ, "CAPFENCE_CONSOLE_TOKEN": TOKEN, "CAPFENCE_APPROVER": "alice"}
    arguments = [
        "serve",
        "--audit-log",
        str(audit),
        "--policy-dir",
        str(policies),
        "--listen",
        f"127.0.0.1:{port}",
    ]
    server = subprocess.Popen(
        [*command, *arguments], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"capfence serve exited: {server.stderr.read() if server.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    try:
        wait_for(up, "capfence serve to listen", timeout=WAIT)
        yield {"base": base, "audit": audit, "policies": policies, "made": made}
    finally:
        server.terminate()
        server.wait(30)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    _require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1440,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)), options=options
    )
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = os.environ.get("CAPFENCE_SCREENSHOTS")
    path = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wait(driver: webdriver.Chrome) -> WebDriverWait:
    return WebDriverWait(driver, WAIT)


def _sign_in(driver: webdriver.Chrome, base: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "token").send_keys(TOKEN)
    driver.find_element(By.ID, "sign-in").click()
    _wait(driver).until(ec.presence_of_element_located((By.CSS_SELECTOR, "header.top nav")))


def _shot(driver: webdriver.Chrome, shots: Path, name: str) -> None:
    height = driver.execute_script("return Math.min(document.body.scrollHeight, 1300)")
    driver.set_window_size(1440, max(700, int(height) + 40))
    driver.save_screenshot(str(shots / f"console-{name}.png"))
    driver.set_window_size(1440, 1000)


def test_no_token_no_console(browser, site):
    browser.delete_all_cookies()
    browser.get(f"{site['base']}/decisions")
    _wait(browser).until(ec.presence_of_element_located((By.ID, "token")))
    assert "/login" in browser.current_url and "ops-bot" not in browser.page_source


def test_sign_in_with_the_printed_link(browser, site):
    browser.delete_all_cookies()
    # console.js fills the token from the fragment and signs in
    browser.get(f"{site['base']}/login#token={TOKEN}")
    _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "header.top nav")))
    assert "#token" not in browser.current_url


def test_overview(browser, site, shots):
    _sign_in(browser, site["base"])
    browser.get(f"{site['base']}/?window=1h")
    _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "svg.chart rect")))
    assert browser.find_element(By.CSS_SELECTOR, ".card.deny .n").text != "0"
    _shot(browser, shots, "overview")


def test_filter_decisions_and_open_one(browser, site, shots):
    _sign_in(browser, site["base"])
    browser.get(f"{site['base']}/decisions")
    browser.find_element(By.NAME, "agent").send_keys("ops-bot")
    # submits at once (console.js)
    Select(browser.find_element(By.ID, "decision-filter")).select_by_value("deny")
    _wait(browser).until(ec.url_contains("decision=deny"))

    def filtered() -> list[Any]:
        found = browser.find_elements(By.CSS_SELECTOR, "table.decisions tbody tr")
        return found if found and all("DENY" in row.text for row in found) else []

    rows = _wait(browser).until(lambda driver: filtered())
    assert len(rows) == 1 and "rm -rf /" in rows[0].text and "ops-bot" in rows[0].text
    browser.get(f"{site['base']}/decisions")
    _shot(browser, shots, "decisions")
    browser.get(f"{site['base']}/decisions?agent=ops-bot&decision=deny")
    browser.find_element(By.CSS_SELECTOR, "a.seq").click()
    _wait(browser).until(ec.presence_of_element_located((By.ID, "payload")))
    assert "***REDACTED***" in browser.find_element(By.ID, "payload").text
    assert browser.find_element(By.ID, "rule-location").text == "policy.yaml:3"
    _shot(browser, shots, "decision")


def test_script_in_agent_id_and_payload_stays_text(browser, site):
    _sign_in(browser, site["base"])
    browser.get(f"{site['base']}/decisions/{site['made']['hostile'].record_id}")
    _wait(browser).until(ec.presence_of_element_located((By.ID, "payload")))
    assert HOSTILE in browser.find_element(By.CSS_SELECTOR, "dl.facts").text
    assert '"<script>alert(\\"x\\")</script>"' in browser.find_element(By.ID, "payload").text  # as JSON text
    assert not browser.find_elements(By.XPATH, "//main//script")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - no script ran
    browser.get(f"{site['base']}/decisions")
    assert HOSTILE in browser.find_element(By.CSS_SELECTOR, "table.decisions").text


def test_a_post_without_the_csrf_token_is_refused(browser, site):
    _sign_in(browser, site["base"])
    browser.get(f"{site['base']}/approvals")
    request_id = site["made"]["held"].approval_id
    browser.execute_script(  # a form like a forged one: everything but the CSRF token
        "const form = document.createElement('form'); form.method = 'post';"
        f"form.action = '/approvals/{request_id}/decide';"
        "const field = document.createElement('input'); field.name = 'verdict'; field.value = 'approve';"
        "form.appendChild(field); document.body.appendChild(form); form.submit();"
    )
    _wait(browser).until(lambda driver: "Missing or wrong CSRF token" in driver.page_source)
    browser.get(f"{site['base']}/approvals/{request_id}")
    assert browser.find_element(By.ID, "status").text.startswith("pending")


def test_approve_a_held_call_and_the_waiting_agent_runs_it(browser, site, shots):
    ran: list[str] = []
    errors: list[BaseException] = []

    def agent() -> None:
        try:
            with ActionRuntime.from_policy(
                site["policies"] / "policy.yaml", audit_log=site["audit"]
            ) as runtime:
                deploy = CapFenceTool(
                    tool=lambda version: ran.append(version) or f"deployed {version}",
                    agent_id="release-bot",
                    capability="deploy.production",
                    gate=runtime,
                    name="deploy",
                    approval_wait=WAIT * 2,
                )
                deploy(version="2.0.0")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=agent)
    thread.start()
    _sign_in(browser, site["base"])

    def pending_card() -> Any:
        browser.get(f"{site['base']}/approvals")
        cards = [c for c in browser.find_elements(By.CSS_SELECTOR, "article.request") if "2.0.0" in c.text]
        return cards[0] if cards else None

    card = wait_for(pending_card, "the held call to appear on the approvals page", timeout=WAIT)
    assert "release-bot" in card.text and "deploy.production" in card.text
    _shot(browser, shots, "approvals")
    card.find_element(By.NAME, "comment").send_keys("release window")
    card.find_element(By.CSS_SELECTOR, "button.approve").click()
    _wait(browser).until(ec.presence_of_element_located((By.ID, "message")))
    assert "approved by console:alice" in browser.find_element(By.ID, "message").text
    thread.join(WAIT * 2)
    assert not errors and ran == ["2.0.0"]
    _shot(browser, shots, "approval")


def test_run_a_replay_and_follow_a_changed_call(browser, site, shots):
    _sign_in(browser, site["base"])
    browser.get(f"{site['base']}/replay")
    Select(browser.find_element(By.ID, "policy-select")).select_by_value("strict.yaml")
    browser.find_element(By.ID, "run-replay").click()
    _wait(browser).until(ec.presence_of_element_located((By.ID, "matrix")))
    changed = browser.find_elements(By.CSS_SELECTOR, "#changed a")
    assert changed
    _shot(browser, shots, "replay")
    seq = changed[0].text
    changed[0].click()
    _wait(browser).until(ec.url_contains(f"/decisions/{seq}"))


def test_a_pasted_policy_shows_check_errors(browser, site):
    _sign_in(browser, site["base"])
    browser.get(f"{site['base']}/replay")
    browser.find_element(By.ID, "pasted").send_keys("deny:\n  - capabilty: shell.*\n")
    browser.find_element(By.ID, "run-replay").click()
    problems = _wait(browser).until(ec.presence_of_element_located((By.ID, "problems")))
    assert "pasted-policy.yaml:2:5: error:" in problems.text and "did you mean 'capability'" in problems.text
