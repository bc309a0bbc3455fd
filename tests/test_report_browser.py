"""The study's report.html in a real headless browser (Debian's chromium): it loads without console errors or
network requests, every plot decodes, every stage has its section, and a screenshot is kept.

The browser is driven through the DevTools protocol over a pipe (--remote-debugging-pipe: JSON messages ending
in NUL on file descriptors 3 and 4), so no websocket package is needed. `scripts/install_browser.sh` installs
chromium; without it this test fails, unless QSCALE_SKIP_BROWSER=1 says to skip it.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import time
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("QSCALE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--no-default-browser-check",
    "--remote-debugging-pipe",
]  # fmt: skip
TIMEOUT_S = 90.0  # per DevTools command or awaited event
LOCAL_SCHEMES = ("data:", "file:", "about:", "blob:")
PAGE_CHECK = """(async () => {
  const imgs = [...document.images];
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  const ok = i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0;
  return JSON.stringify({
    images: imgs.length,
    rendered: imgs.filter(ok).length,
    broken: imgs.filter(i => !ok(i)).map(i => i.alt || i.src.slice(0, 60)),
    sections: [...document.querySelectorAll('section[id^="stage-"]')].map(s => s.id),
    external: [...document.querySelectorAll('[src], [href]')]
      .map(e => e.getAttribute('src') || e.getAttribute('href'))
      .filter(u => !/^(data:|#)/.test(u)),
    title: document.title,
    height: document.documentElement.scrollHeight,
  });
})()"""


def chromium() -> Path:
    """The browser, or a failure that says how to get it (a skip only when QSCALE_SKIP_BROWSER=1)."""
    if os.environ.get("QSCALE_SKIP_BROWSER") == "1":
        pytest.skip("QSCALE_SKIP_BROWSER=1: headless-browser check of report.html skipped")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} not found: run scripts/install_browser.sh as root (Debian's chromium; `make test` does) "
            "or set QSCALE_SKIP_BROWSER=1 to skip this test",
            pytrace=False,
        )
    return CHROMIUM


class Browser:
    """A headless chromium and a DevTools-protocol connection to it over a pipe."""

    def __init__(self, exe: Path, profile: Path) -> None:
        # The browser reads commands on fd 3 and writes replies on fd 4. posix_spawn wires those (no Python code
        # runs between fork and exec, unlike preexec_fn), in its own process group so it can be ended as one.
        to_browser_r, self._out = os.pipe()
        self._in, from_browser_w = os.pipe()
        child_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.stderr_path = profile.with_name(profile.name + "-stderr.log")
        null = os.open(os.devnull, os.O_RDWR)
        err = os.open(self.stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        actions = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, err, 2),
                   (os.POSIX_SPAWN_DUP2, child_r, 3), (os.POSIX_SPAWN_DUP2, child_w, 4)]  # fmt: skip
        argv = [str(exe), *FLAGS, f"--user-data-dir={profile}", "about:blank"]
        try:
            self.pid = os.posix_spawn(str(exe), argv, dict(os.environ), file_actions=actions, setpgroup=0)
        finally:
            for fd in (null, err, child_r, child_w):
                os.close(fd)
        self.returncode: int | None = None
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from chromium in time")
            ready, _, _ = select.select([self._in], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"chromium closed the pipe; its stderr ends: {self.stderr_tail()}")
                self._buf += chunk
        message, self._buf = self._buf.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        msg: dict = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._out, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str) -> dict:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read(deadline))

    def open(self, url: str, width: int = 1100, height: int = 900) -> str:
        """A new tab with console, log and network events on, at `url` once its load event fired."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.resize(session, width, height)
        self.send("Page.navigate", {"url": url}, session)
        self.wait_event("Page.loadEventFired")
        return session

    def resize(self, session: str, width: int, height: int) -> None:
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.send("Emulation.setDeviceMetricsOverride", metrics, session)

    def evaluate(self, session: str, expression: str) -> dict:
        res = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True}, session)
        if "exceptionDetails" in res:
            raise RuntimeError(f"page check threw: {res['exceptionDetails']}")
        return json.loads(res["result"]["value"])

    def screenshot(self, session: str, path: Path, height: int) -> None:
        self.resize(session, 1100, max(600, min(height, 16000)))
        data = self.send("Page.captureScreenshot", {"format": "png"}, session)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def problems(self) -> dict[str, list[str]]:
        """Console errors, uncaught exceptions, error log entries, failed loads and non-local requests so far."""
        out: dict[str, list[str]] = {"console": [], "exceptions": [], "log": [], "failed": [], "requests": []}
        for ev in self.events:
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out["console"].append(" ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                out["exceptions"].append(p.get("exceptionDetails", {}).get("text", "exception"))
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out["log"].append(p["entry"].get("text", ""))
            elif method == "Network.loadingFailed":
                out["failed"].append(p.get("errorText", ""))
            elif method == "Network.requestWillBeSent":
                url = p.get("request", {}).get("url", "")
                if not url.startswith(LOCAL_SCHEMES):
                    out["requests"].append(url)
        return out

    def stderr_tail(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no stderr)"

    def _poll(self) -> bool:
        """True once the browser process has exited (and been reaped)."""
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode is not None

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            if not self._poll():
                self.send("Browser.close")
        deadline = time.monotonic() + 20
        while not self._poll() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not self._poll():
            os.killpg(self.pid, signal.SIGKILL)  # its own process group (setpgroup=0): the browser and its helpers
            os.waitpid(self.pid, 0)
        for fd in (self._in, self._out):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def browser(tmp_path):
    b = Browser(chromium(), tmp_path / "chromium-profile")
    try:
        yield b
    finally:
        b.close()


def test_browser_check_catches_a_broken_page(browser, tmp_path):
    """The checks below can fail: a broken plot, a console error and a network request are all reported."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title></head><body>'
        '<img alt="truncated" src="data:image/png;base64,iVBORw0KGgo=">'
        '<img alt="remote" src="http://127.0.0.1:9/plot.png">'
        '<script>console.error("boom")</script></body></html>'
    )
    session = browser.open(page.as_uri())
    found = browser.evaluate(session, PAGE_CHECK)
    assert found["images"] == 2 and found["rendered"] == 0
    assert found["external"] == ["http://127.0.0.1:9/plot.png"]
    problems = browser.problems()
    assert any("boom" in c for c in problems["console"])
    assert problems["requests"] == ["http://127.0.0.1:9/plot.png"]


def test_study_report_renders_in_headless_chromium(browser, quick_study):
    out, res = quick_study.folder, quick_study.result
    assert res.code == 0, res.stderr
    report = out / "report.html"
    html = report.read_text(encoding="utf-8")
    stages = list(json.loads((out / "results.json").read_text())["stages"])
    assert stages, "the study ran no stage"

    session = browser.open(report.as_uri())
    found = browser.evaluate(session, PAGE_CHECK)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    browser.screenshot(session, shot, found["height"])
    shutil.copy(report, ARTIFACTS / "report.html")

    problems = browser.problems()
    assert problems == {"console": [], "exceptions": [], "log": [], "failed": [], "requests": []}, problems
    assert found["external"] == [], "the report must be self-contained (no external resources)"
    assert found["images"] == html.count('src="data:image/png;base64,') > 0
    assert found["rendered"] == found["images"], f"plots that did not render: {found['broken']}"
    assert sorted(found["sections"]) == sorted(f"stage-{s}" for s in stages)
    assert found["title"].startswith("qscale study")
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and shot.stat().st_size > 10_000
