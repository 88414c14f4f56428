"""Open the built documentation site in a real browser and check that its home page renders.

    python tests/docs_site_check.py SITE_DIR SCREENSHOT_DIR

Run by ``nox -s docs`` after ``mkdocs build``. Serves SITE_DIR on a loopback port, then runs
Debian's Chromium headless (``/usr/bin/chromium``; ``.ci/run`` installs it) on the home page:

* ``--dump-dom``: the rendered page has the site's title, the seven navigation groups, the
  seed example with syntax highlighting, and a copy button on its code blocks;
* ``--screenshot`` at desktop (1280 px) and phone (390 px) widths: each PNG has the requested
  width and is not blank (enough of it is not background, in more than a few colours).

The screenshots are written to SCREENSHOT_DIR (not to git). Without Chromium the check is skipped
with a notice, except under CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
NAV_GROUPS = [
    "Get started",
    "Guides",
    "Policy reference",
    "Adapters",
    "CLI reference",
    "Operations",
    "Security",
]
SEED = (
    'safe_tool = CapFenceTool(tool=my_tool, agent_id="prod-agent", capability="shell.execute", gate=runtime)'
)


def find_chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return None


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """The site over HTTP on 127.0.0.1 (an ephemeral port), for as long as the block runs."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def check_dom(dom: str) -> list[str]:
    problems = []
    title = re.search(r"<title>(.*?)</title>", dom, flags=re.S)
    if not title or "CapFence" not in title.group(1):
        problems.append(f"the page's title is {title.group(1) if title else None!r}, not CapFence's")
    tabs = re.search(r'<nav class="md-tabs".*?</nav>', dom, flags=re.S)
    links = (
        re.findall(r'<a [^>]*class="md-tabs__link[^"]*"[^>]*>(.*?)</a>', tabs.group(0), flags=re.S)
        if tabs
        else []
    )
    labels = [re.sub(r"<[^>]+>|\s+", " ", link).strip() for link in links]
    if labels != NAV_GROUPS:
        problems.append(f"the navigation tabs are {labels}, expected {NAV_GROUPS}")
    text = (
        re.sub(r"<[^>]+>", "", dom)
        .replace("&quot;", '"')
        .replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&")
    )
    if SEED not in text:
        problems.append("the seed example is not on the page")
    if '<span class="kn">from</span>' not in dom or '<span class="n">CapFenceTool</span>' not in dom:
        problems.append("the Python code is not highlighted (no Pygments token spans)")
    blocks, buttons = dom.count('<div class="highlight">'), dom.count('data-md-type="copy"')
    if not blocks or buttons != blocks:
        problems.append(
            f"{buttons} copy button(s) for {blocks} code block(s) (Material's JavaScript adds them)"
        )
    return problems


def check_screenshot(png: Path, width: int) -> list[str]:
    if not png.exists():
        return [f"no screenshot at {png}"]
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        if rgb.width != width:
            return [f"{png.name} is {rgb.width} px wide, not {width}"]
        counts = rgb.getcolors(maxcolors=rgb.width * rgb.height) or []
    total = sum(count for count, _ in counts)
    _, background = max(counts)
    inked = (
        sum(
            count
            for count, colour in counts
            if sum(abs(a - b) for a, b in zip(colour, background, strict=True)) > 60
        )
        / total
    )
    colours = len(counts)
    if inked < 0.03 or colours < 16:
        return [f"{png.name} looks blank: {inked:.1%} of it differs from the background, {colours} colours"]
    return []


def main(site: Path, out: Path) -> int:
    binary = find_chromium()
    if binary is None:
        message = "no Chromium (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            print(f"docs browser check FAILED: {message}", file=sys.stderr)
            return 1
        print(f"docs browser check SKIPPED: {message}")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with serve(site) as url, tempfile.TemporaryDirectory(prefix="capfence-chromium-") as profile:
        dom = chromium(binary, Path(profile), "--window-size=1280,900", "--dump-dom", url)
        if dom.returncode != 0 or not dom.stdout:
            problems.append(f"chromium --dump-dom failed ({dom.returncode}): {dom.stderr[-2000:]}")
        else:
            problems += check_dom(dom.stdout)
            (out / "home.html").write_text(dom.stdout, encoding="utf-8")
        for name, (width, height) in WIDTHS.items():
            png = out / f"home-{name}.png"
            png.unlink(missing_ok=True)
            shot = chromium(
                binary, Path(profile), f"--window-size={width},{height}", f"--screenshot={png}", url
            )
            if shot.returncode != 0:
                problems.append(
                    f"chromium --screenshot ({name}) failed ({shot.returncode}): {shot.stderr[-2000:]}"
                )
            problems += check_screenshot(png, width)
            print(f"docs browser check: {name} ({width} px) screenshot: {png}")
    for problem in problems:
        print(f"docs browser check: {problem}", file=sys.stderr)
    print(
        f"docs browser check {'FAILED' if problems else 'passed'}: home page of {site} in {Path(binary).name}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
