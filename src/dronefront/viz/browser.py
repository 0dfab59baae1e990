"""A tiny headless-Chromium driver over the DevTools protocol (standard library only).

Used by the tests and for screenshots of replays. Chromium is started with
``--remote-debugging-pipe``: commands go to its fd 3 and replies come from its fd 4 as
NUL-terminated JSON messages, so no socket, port or websocket library is needed.

>>> with Browser() as b:                                           # doctest: +SKIP
...     b.open("file:///tmp/replay.html")
...     b.evaluate("document.title")
...     b.screenshot("replay.png")
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    "--no-default-browser-check", "--remote-debugging-pipe",
)


class BrowserError(RuntimeError):
    """Chromium failed, timed out or answered a command with an error."""


class Browser:
    """One headless Chromium with one page; collects console errors and exceptions."""

    def __init__(self, executable: str = CHROMIUM, width: int = 1400, height: int = 900,
                 timeout: float = 30.0) -> None:
        self.executable = executable
        self.width, self.height = width, height
        self.timeout = timeout
        self.errors: list[str] = []
        self.console: list[str] = []
        self.requests: list[str] = []  # every URL the page asked for
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._cond = threading.Condition()
        self._proc: subprocess.Popen[bytes] | None = None
        self._profile: str | None = None
        self.session: str | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Launch Chromium and attach to a fresh page."""
        if not Path(self.executable).exists():
            raise BrowserError(f"{self.executable} not found")
        self._profile = tempfile.mkdtemp(prefix="dronefront-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire() -> None:  # runs in the child before exec: fd 3 = commands, 4 = replies
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        args = [self.executable, *FLAGS, f"--user-data-dir={self._profile}",
                f"--window-size={self.width},{self.height}", "about:blank"]
        self._proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=wire, close_fds=False,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send("Target.attachToTarget",
                             {"targetId": target["targetId"], "flatten": True}, session=False)
        self.session = attached["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", {
            "width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False,
        })

    def close(self) -> None:
        """Shut Chromium down and remove its profile folder."""
        proc = self._proc
        if proc is not None:
            try:
                self.send("Browser.close", session=False, timeout=5)
            except BrowserError:
                pass
            self._proc = None
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            for fd in (self._to_child, self._from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    # ------------------------------------------------------------------ protocol
    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._replies[-1] = {"error": {"message": "browser closed the pipe"}}
                    self._cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._cond:
                        self._replies[message["id"]] = message
                        self._cond.notify_all()
                else:
                    self._on_event(message)

    def _on_event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method", ""), message.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", "")))
                            for a in params.get("args", []))
            self.console.append(f"{params.get('type')}: {text}")
            if params.get("type") in ("error", "assert"):
                self.errors.append(f"console.{params.get('type')}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exc = details.get("exception", {})
            self.errors.append(f"exception: {exc.get('description') or details.get('text')}")
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                self.errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
        self._events.put(message)

    def send(self, method: str, params: dict[str, Any] | None = None, *,
             session: bool = True, timeout: float | None = None) -> dict[str, Any]:
        """Send one command and wait for its result."""
        if self._proc is None:
            raise BrowserError("browser is not running")
        with self._cond:
            self._next_id += 1
            ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while ident not in self._replies:
                if -1 in self._replies:
                    raise BrowserError(f"{method}: {self._replies[-1]['error']['message']}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrowserError(f"{method}: no reply in {timeout or self.timeout} s")
                self._cond.wait(left)
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def wait_event(self, method: str, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the next event named ``method`` (earlier other events are dropped)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no {method} event in {timeout or self.timeout} s")
            try:
                event = self._events.get(timeout=left)
            except queue.Empty:
                continue
            if event.get("method") == method:
                return event.get("params", {})

    # ------------------------------------------------------------------ page
    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        while not self._events.empty():
            self._events.get_nowait()
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"cannot open {url}: {result['errorText']}")
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str, *, await_promise: bool = False) -> Any:
        """Evaluate JavaScript in the page and return its (JSON-able) value."""
        result = self.send("Runtime.evaluate", {
            "expression": expression, "awaitPromise": await_promise, "returnByValue": True,
        })
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"evaluate failed: {text}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float | None = None) -> Any:
        """Poll ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {expression!r}")
            time.sleep(0.05)

    def screenshot(self, path: str | Path) -> Path:
        """Save a PNG of the viewport."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        from dronefront.io.outputs import atomic_file

        with atomic_file(path, make_parents=True) as tmp:
            tmp.write_bytes(base64.b64decode(data))
        return Path(path)


def screenshot_replay(
    html_file: str | Path, png_file: str | Path, *, time_s: float | None = None,
    center: tuple[float, float] | None = None, pixels_per_metre: float | None = None,
    width: int = 1400, height: int = 900, executable: str = CHROMIUM,
) -> list[str]:
    """Screenshot a replay page at ``time_s``, optionally centred and zoomed.

    Returns the console errors seen (empty when the page ran cleanly).
    """
    with Browser(executable, width=width, height=height) as browser:
        browser.open(Path(html_file).resolve().as_uri())
        browser.wait_for("document.body.dataset.ready === '1'")
        if time_s is not None:
            browser.evaluate(f"dronefrontReplay.seek({float(time_s)!r})")
        if center is not None or pixels_per_metre is not None:
            state = browser.evaluate("dronefrontReplay.state()")
            cx, cy = center if center is not None else (state["cx"], state["cy"])
            k = pixels_per_metre if pixels_per_metre is not None else state["k"]
            browser.evaluate(f"dronefrontReplay.setView({cx!r}, {cy!r}, {k!r})")
        browser.evaluate("new Promise(r => requestAnimationFrame(() => "
                         "requestAnimationFrame(r)))", await_promise=True)
        browser.screenshot(png_file)
        return list(browser.errors)
