"""One headless Chromium kept running, driven over its DevTools pipe.

`browser.dump_dom` starts a browser per page (about 1.2 s and 0.75 s of CPU here). A caller that
loads many pages (the WebGL2 runner, once per batch of programs) keeps one `Chromium` instead:
started on first use with `--remote-debugging-pipe` (DevTools protocol messages as JSON, NUL
terminated, read from its fd 3 and written to its fd 4), each page in a new tab that is closed
after, the browser ended with `close()` or when the object is collected or the process exits.

    with Chromium() as chrome:
        html = chrome.dump_dom(Path("page.html"))  # as browser.dump_dom: the DOM after the load event
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any

from .browser import TIMEOUT_S, command
from .errors import SepgenError

# bash gives Chromium the pipe ends at the descriptors it reads and writes, 3 and 4 (dash cannot
# redirect from a descriptor above 9, which the pipe ends may be).
_SHIM = 'exec 3<&"$1" 4>&"$2"; shift 2; exec "$@"'


def _shutdown(proc: subprocess.Popen, fds: tuple[int, int], profile: str) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
    shutil.rmtree(profile, ignore_errors=True)


class Chromium:
    """A headless Chromium for many pages (see the module docstring)."""

    def __init__(self, timeout: float = TIMEOUT_S) -> None:
        self.timeout = timeout
        profile = tempfile.mkdtemp(prefix="sepgen-chromium-")
        to_child, self._out = os.pipe()
        self._in, from_child = os.pipe()
        cmd = command("about:blank", profile, ["--remote-debugging-pipe"])
        try:
            self._proc = subprocess.Popen(["bash", "-c", _SHIM, "bash", str(to_child), str(from_child), *cmd],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, pass_fds=(to_child, from_child), cwd=profile)
        except OSError as exc:
            for fd in (to_child, from_child, self._out, self._in):
                os.close(fd)
            shutil.rmtree(profile, ignore_errors=True)
            raise SepgenError(f"cannot start chromium: {exc}") from None
        os.close(to_child)
        os.close(from_child)
        self._finalizer = weakref.finalize(self, _shutdown, self._proc, (self._out, self._in), profile)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        """Whether the browser is still running (a crashed one is replaced by its owner)."""
        return self._proc.poll() is None

    def close(self) -> None:
        """End the browser (also done when the object is collected or the process exits)."""
        self._finalizer()

    def dump_dom(self, page: Path, timeout: float | None = None) -> str:
        """Load `page` in a new tab and return its serialised DOM after the load event."""
        if not page.is_file():
            raise SepgenError(f"page {page} does not exist")
        limit = time.monotonic() + (timeout or self.timeout)
        target = self._call("Target.createTarget", {"url": "about:blank"}, limit=limit)["targetId"]
        try:
            session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 limit=limit)["sessionId"]
            self._call("Page.enable", session=session, limit=limit)
            self._call("Page.navigate", {"url": page.resolve().as_uri()}, session=session, limit=limit)
            self._wait_for("Page.loadEventFired", session, limit)
            value = self._call("Runtime.evaluate", {"expression": "document.documentElement.outerHTML",
                                                    "returnByValue": True}, session=session, limit=limit)
            return str(value["result"]["value"])
        finally:
            if self.alive:
                self._call("Target.closeTarget", {"targetId": target}, limit=time.monotonic() + 10)
            self._events.clear()

    # -- the protocol ------------------------------------------------------------------------------

    def _call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None, *,
              limit: float) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        try:
            os.write(self._out, json.dumps(message).encode() + b"\0")
        except OSError:
            raise SepgenError("chromium exited (its DevTools pipe is closed)") from None
        while True:
            reply = self._read(limit)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise SepgenError(f"chromium: {method}: {reply['error'].get('message', reply['error'])}")
                return dict(reply.get("result", {}))
            self._events.append(reply)

    def _wait_for(self, event: str, session: str, limit: float) -> None:
        while True:
            for i, message in enumerate(self._events):
                if message.get("method") == event and message.get("sessionId") == session:
                    del self._events[: i + 1]
                    return
            self._events.append(self._read(limit))

    def _read(self, limit: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = limit - time.monotonic()
            if left <= 0:
                raise SepgenError("chromium did not answer in time")
            ready, _, _ = select.select([self._in], [], [], left)
            if ready:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise SepgenError("chromium exited (its DevTools pipe is closed)")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(line))
