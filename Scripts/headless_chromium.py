"""Headless Chromium driven over its DevTools protocol, for the browser checks (browser-check.py, player-check.py).

    with headless_chromium(port=9333, program="browser-check") as tools:
        tools.call("Page.navigate", url=url)
"""

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket


# A JavaScript function of an <img>: a hash of a sample of its pixels, drawn into a canvas (a different hash later
# means the picture moved), or null while the image has no picture.
PICTURE_HASH = """(img) => {
  if (!img.naturalWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let hash = 0;
  for (let i = 0; i < data.length; i += 97) hash = (hash * 31 + data[i]) | 0;
  return hash;
}"""

class DevTools:
    """One page's DevTools connection: commands, and the events that came meanwhile."""

    def __init__(self, socket_url):
        self.socket = websocket.create_connection(socket_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def drain(self, seconds):
        """Collects events for a while."""
        self.socket.settimeout(0.1)
        end = time.time() + seconds
        while time.time() < end:
            try:
                self.events.append(json.loads(self.socket.recv()))
            except websocket.WebSocketTimeoutException:
                pass
        self.socket.settimeout(30)

    def evaluate(self, expression, wait=False):
        """The value of a script on the page (awaited if `wait`, for a promise)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=wait)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def problems(self):
        """Uncaught exceptions and console errors on the page so far."""
        found = []
        for event in self.events:
            if event.get("method") == "Runtime.exceptionThrown":
                details = event["params"]["exceptionDetails"]
                found.append("exception: " + details.get("exception", {}).get("description", details.get("text", "")))
            elif event.get("method") == "Runtime.consoleAPICalled" and event["params"]["type"] in ("error", "assert"):
                found.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                    for a in event["params"]["args"]))
        return found


def find_chromium(program):
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit(f"{program}: chromium not found (apt-get install chromium)")


@contextlib.contextmanager
def headless_chromium(port, program):
    """Starts Chromium with a fresh profile and DevTools on 127.0.0.1:`port`, and yields its page's DevTools; stops
    it and removes the profile at the end."""
    profile = tempfile.mkdtemp(prefix="framestream-chromium-")
    chromium = subprocess.Popen(
        [find_chromium(program), "--headless=new", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors",
         "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
         f"--remote-debugging-port={port}", "--remote-debugging-address=127.0.0.1", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        page = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as answer:
                    page = next(t for t in json.load(answer) if t["type"] == "page")
                    break
            except Exception:
                time.sleep(0.1)
        if page is None:
            sys.exit(f"{program}: Chromium did not start")
        yield DevTools(page["webSocketDebuggerUrl"])
    finally:
        chromium.terminate()
        try:
            chromium.wait(timeout=10)
        except subprocess.TimeoutExpired:
            chromium.kill()
        shutil.rmtree(profile, ignore_errors=True)
