"""Drive headless Chromium over the DevTools protocol to check and photograph report pages.

Used by the tests (the page really loads, the 3D viewer really draws, nothing is fetched from
the network) and by ``scripts/make_report_picture.py``. No websocket library: Chromium's
``--remote-debugging-pipe`` speaks NUL-terminated JSON over file descriptors 3 (commands in) and
4 (replies and events out), which the standard library handles.

Chromium comes from the distribution (``scripts/setup_chromium.sh``: Debian's ``chromium``).
Without a GPU, WebGL runs on SwiftShader (``--use-angle=swiftshader``).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--headless=new",
    "--no-sandbox",  # root in containers and CI
    "--disable-gpu-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",  # WebGL on the CPU
    "--ignore-gpu-blocklist",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
    # Nothing on the network answers: a page that tried would fail, and the log shows it.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-pipe",
]


def find_chromium() -> str | None:
    """Path of a Chromium binary (``INVRENDER_CHROMIUM`` first), or None."""
    wanted = os.environ.get("INVRENDER_CHROMIUM")
    if wanted:
        return wanted if Path(wanted).is_file() else shutil.which(wanted)
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class ChromiumError(RuntimeError):
    pass


@dataclass
class PageLoad:
    """What a page did: every request URL, console messages, exceptions, the final flag."""

    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    flag: Any = None


class Browser:
    """One headless Chromium with one page, spoken to through the DevTools pipe."""

    def __init__(self, width: int = 1280, height: int = 900, binary: str | None = None) -> None:
        binary = binary or find_chromium()
        if binary is None:
            raise ChromiumError("no chromium on PATH (bash scripts/setup_chromium.sh)")
        self.profile = tempfile.TemporaryDirectory(prefix="invrender-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4: the child's ends are moved
        # above 9 here and onto 3 and 4 by the shell that execs Chromium (no preexec_fn, which
        # is unsafe with Dr.Jit's threads running in the same process).
        child_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
        child_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
        for fd in (to_child_r, from_child_w):
            os.close(fd)
        # A file, not a pipe: Chromium logs a lot, and a full pipe would stall it.
        self._log = open(Path(self.profile.name) / "stderr.log", "wb")  # noqa: SIM115
        script = f'exec "$0" "$@" 3<&{child_r} 4>&{child_w} {child_r}<&- {child_w}>&-'
        args = [*FLAGS, f"--user-data-dir={self.profile.name}", f"--window-size={width},{height}"]
        self.proc = subprocess.Popen(
            ["bash", "-c", script, binary, *args, "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            pass_fds=(child_r, child_w),
        )
        os.close(child_r)
        os.close(child_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next((t for t in targets if t.get("type") == "page"), None)
        target_id = (
            page["targetId"]
            if page
            else self.call("Target.createTarget", url="about:blank")["targetId"]
        )
        self.session = self.call("Target.attachToTarget", targetId=target_id, flatten=True)[
            "sessionId"
        ]
        self.call("Page.enable")
        self.call("Network.enable")
        self.call("Runtime.enable")
        self.call("Log.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    # -- the pipe -----------------------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> None:
        os.write(self._to_child, json.dumps(message).encode() + b"\0")

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._from_child], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise ChromiumError(f"chromium exited: {self._stderr_tail()}")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def call(self, method: str, timeout: float = 60.0, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its reply; events meanwhile go to ``self.events``."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        self._send(message)
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(max(0.0, deadline - time.monotonic()))
            if reply is None:
                raise ChromiumError(f"{method}: no reply in {timeout} s")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise ChromiumError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def pump(self, seconds: float) -> None:
        """Collect events for a while (requests made after the load event, say)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            event = self._receive(left)
            if event is not None and "method" in event:
                self.events.append(event)

    def _stderr_tail(self) -> str:
        try:
            return (Path(self.profile.name) / "stderr.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    # -- pages --------------------------------------------------------------------------------
    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def open(
        self,
        url: str,
        flag_expression: str | None = None,
        done: tuple[Any, ...] = (),
        timeout: float = 120.0,
    ) -> PageLoad:
        """Load ``url``; with ``flag_expression``, wait until it evaluates to one of ``done``."""
        self.events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        flag = None
        while time.monotonic() < deadline:
            self.pump(0.25)
            state = self.evaluate("document.readyState")
            if state != "complete":
                continue
            if flag_expression is None:
                break
            flag = self.evaluate(flag_expression)
            if flag in done:
                break
        self.pump(0.5)
        load = PageLoad(flag=flag)
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Network.requestWillBeSent":
                load.requests.append(params["request"]["url"])
            elif method == "Runtime.consoleAPICalled":
                text = " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params["args"]
                )
                load.console.append(f"{params.get('type')}: {text}")
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                load.exceptions.append(
                    str(details.get("exception", {}).get("description") or details.get("text"))
                )
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                load.console.append(
                    f"{entry.get('level')}: {entry.get('text')} {entry.get('url', '')}"
                )
        return load

    def screenshot(
        self,
        path: Path | None = None,
        clip: dict[str, float] | None = None,
        full_page: bool = False,
    ) -> bytes:
        """A PNG of the viewport (or ``clip``: x, y, width, height in CSS pixels)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = self.call("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
            params["captureBeyondViewport"] = True
        if clip is not None:
            params["clip"] = {**clip, "scale": 1}
        data = base64.b64decode(self.call("Page.captureScreenshot", **params)["data"])
        if path is not None:
            Path(path).write_bytes(data)
        return data

    def element_box(self, selector: str) -> dict[str, float] | None:
        """Page coordinates of an element (scrolled into view first)."""
        js = (
            f"(function(){{var e=document.querySelector({json.dumps(selector)});if(!e)return null;"
            "e.scrollIntoView({block:'center'});var r=e.getBoundingClientRect();"
            "return {x:r.left+window.scrollX,y:r.top+window.scrollY,"
            "width:r.width,height:r.height};})()"
        )
        return self.evaluate(js)

    def close(self) -> None:
        try:
            self._send({"id": 0, "method": "Browser.close", "params": {}})
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        self.profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
