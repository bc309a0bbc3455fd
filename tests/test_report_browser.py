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
from typing import Any

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


VERDICT_LINES = """JSON.stringify([...document.querySelectorAll('table.verdicts td')].map(td => {
  const range = document.createRange();
  range.selectNodeContents(td);
  const lineHeight = parseFloat(getComputedStyle(td).lineHeight);
  return {text: td.textContent.slice(0, 60), lines: Math.round(range.getBoundingClientRect().height / lineHeight)};
}))"""
VERDICT_RECT = """JSON.stringify((() => { const r = document.getElementById('verdicts').getBoundingClientRect();
  return {x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height}; })())"""
WIDTH = 1280  # px: the reader's window the verdict table is laid out for
MAX_LINES = 4


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

    def evaluate(self, session: str, expression: str) -> Any:
        res = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True}, session)
        if "exceptionDetails" in res:
            raise RuntimeError(f"page check threw: {res['exceptionDetails']}")
        return json.loads(res["result"]["value"])

    def screenshot(self, session: str, path: Path, height: int, width: int = 1100, clip: dict | None = None) -> None:
        self.resize(session, width, max(600, min(height, 16000)))
        params: dict = {"format": "png"} | ({"clip": clip | {"scale": 1}} if clip else {})
        data = self.send("Page.captureScreenshot", params, session)["data"]
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

    cells = verdict_cells(browser, report.as_uri(), ARTIFACTS / "verdicts.png")
    assert max(c["lines"] for c in cells) <= MAX_LINES, [c for c in cells if c["lines"] > MAX_LINES]


def verdict_cells(browser: Browser, url: str, shot: Path | None = None) -> list[dict]:
    """Lines each verdict-table cell takes at 1280 px (and, with `shot`, a PNG of the table)."""
    session = browser.open(url, width=WIDTH)
    cells = browser.evaluate(session, VERDICT_LINES)
    if shot is not None:
        rect = browser.evaluate(session, VERDICT_RECT)
        height = browser.evaluate(session, "JSON.stringify(document.documentElement.scrollHeight)")
        browser.screenshot(session, shot, height, WIDTH, clip=rect)
    return cells


def _summaries() -> dict:
    """Every claim filled, with texts as long as a full run writes them."""
    be = {"against": {"platform": "cpu", "wall_s": 0.0012, "energy_j": 0.0081}, "time": dict.fromkeys(["queue_s"]),
          "energy": {}, "all_time_factor": None, "two_qubit_error": 2.4e-3, "wall_floor_s": 0.0447}  # fmt: skip
    rows = [{"platform": "cpu", "era": "today", "scope": "model", "fits": True, "wall_s": 1.0, "energy_j": 1.0},
            {"platform": "heron", "era": "today", "scope": "model", "fits": True, "break_even": be},
            {"platform": "ft_2040s", "era": "2040s", "scope": "model", "fits": True,
             "break_even": be | {"time": {"job_overhead_s": 41.7}}}]  # fmt: skip
    plans = [{"task": t, "offload": [], "rows": rows} for t in ("quantize", "qpca", "born", "qnn-step", "vqe-h2")]
    return {
        "quantization": {"methods": {"gptq": {"perplexity": 20.01}, "qubo-qaoa": {
            "perplexity": 17.6321, "qaoa_optimal_fraction": 0.9871, "classical_baseline": {
                "method": "qubo-exact", "layers": "model.layers.0.self_attn.q_proj", "perplexity": 17.5987}}}},
        "qpca": {"by_k": {"8": {"qpca": [{"max_principal_angle_deg": 12.3456, "explained_variance_ratio": 0.4,
                 "kind": "simulated", "projected_qpu_seconds_superconducting_lower_bound": {"typical": 1234.5}}],
                 "classical_baselines": {"exact_pca": {"seconds": 0.00123}}}}},
        "generative": {"born": {"kl": 0.123456, "dataset": "bars-and-stripes 3x3",
                                "classical_baselines": {"restricted Boltzmann machine": {"kl": 0.0123}}}},
        "qnn": {"classify": {"quantum": {"accuracy": [0.61, 0.64, 0.6]}, "linear": {"accuracy": [0.7, 0.71, 0.69]}},
                "finetune": {"quantum": {"perplexity_after": 15.51}, "lora": {"perplexity_after": 14.93}}},
        "outlook": {"years": [2030, 2035, 2040, 2045], "tasks": {"vqe-h2": {"p_qpu_saves_energy": {
            "2030": 0.0, "2035": 0.0, "2040": 0.01, "2045": 0.02}}}},
        "coprocessor": {"plans": plans},
        "site": {"site": {"capacities_mw": {"grid": 74.0, "wind": 158.3, "gas": 60.7, "li-ion": 6.88, "smr": 0.0}},
                 "stabilize": {"ramp_limit_mw_per_s": 10.1, "baseline": {"max_ramp_mw_per_s": 200.0},
                               "technologies": {"smes": {"meets_limits": True, "max_ramp_mw_per_s": 9.09,
                                                         "required_power_mw": 52.7, "loss_share_of_load": 0.017},
                                                "li-ion": {"meets_limits": True, "max_ramp_mw_per_s": 9.09,
                                                           "required_power_mw": 145.3, "loss_share_of_load": 0.039}}},
                 "tipping": {"smr": {"value": None, "range": [0, 1000], "solves": 1},
                             "fusion": {"value": None, "range": [0, 1000], "solves": 0},
                             "wind": {"value": 23.4567, "range": [0, 1000], "solves": 12}}},
    }  # fmt: skip


def test_verdict_table_cells_stay_within_four_lines_at_1280_px(browser, tmp_path):
    from qscale.study.report import render_report
    from qscale.study.stage import StageOutput

    stages = [StageOutput(name, name, summary) for name, summary in _summaries().items()]
    page = tmp_path / "report.html"
    page.write_text(render_report("qscale study: verdicts", {"study": "verdicts"}, stages, ""), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    cells = verdict_cells(browser, page.as_uri(), ARTIFACTS / "verdicts-synthetic.png")
    assert len(cells) == 7 * 6
    assert max(c["lines"] for c in cells) <= MAX_LINES, [c for c in cells if c["lines"] > MAX_LINES]
    assert (ARTIFACTS / "verdicts-synthetic.png").read_bytes().startswith(b"\x89PNG")
    # the measurement can fail: a 600-character headline takes more than four lines
    stages[0].summary["methods"]["qubo-qaoa"]["classical_baseline"]["layers"] = "model.layers.0 " * 40
    page.write_text(render_report("qscale study: verdicts", {"study": "verdicts"}, stages, ""), encoding="utf-8")
    assert max(c["lines"] for c in verdict_cells(browser, page.as_uri())) > MAX_LINES
