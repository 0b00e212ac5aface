#!/usr/bin/env python3
"""Checks in headless Chromium that a camera page's stream <img data-stream> comes back by itself after the server
goes away (CameraPage.reconnectScript): the page shows a moving picture, the server is killed (SIGKILL: its
streams are cut, as a balancer cuts those of a relay that died), started again on the same port at once, and in a
second round after 6 s (the page's tries are refused meanwhile), and within --within seconds of each restart the
picture must move again, from a stream opened anew (its address has reconnect=). Reports which events the <img>
fired meanwhile. (A stream the server ends in order, at a graceful shutdown, keeps its last picture: the script
does not reopen it, and this check does not try it.)

    Scripts/reconnect-check.py PATH/TO/ExampleServer [--port 5477] [--within 15]
    Scripts/reconnect-check.py PATH/TO/ExampleServer --no-script      # JavaScript off: must fail
    Scripts/reconnect-check.py PATH/TO/ExampleServer --add-script F   # also runs F on the page (try a fix)

Talks to Chromium over its DevTools protocol (websocket-client from PyPI). Exits 0 when the picture came back in
every round, 1 otherwise. Everything on 127.0.0.1; the server and Chromium are stopped at the end.
"""
import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time

from headless_chromium import PICTURE_HASH, headless_chromium

# Records the load and error events of every <img> from the start of the page, into window.reconnectCheck.
RECORDER = """
window.reconnectCheck = [];
for (const type of ["load", "error"]) {
  window.addEventListener(type, (event) => {
    if (event.target instanceof HTMLImageElement) {
      window.reconnectCheck.push({type, at: Math.round(performance.now()), src: event.target.src});
    }
  }, true);
}
"""

# The stream image's address and its picture hash (null while it has no picture).
PROBE = f"""
(() => {{
  const img = document.querySelector("img[data-stream]");
  return img ? {{src: img.src, hash: ({PICTURE_HASH})(img)}} : {{src: null, hash: null}};
}})()
"""


def start(server, port):
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([server, "--camera", "testpattern", "--fps", "10", "--host", "127.0.0.1",
                                "--port", str(port)], stdout=log, stderr=log)
    deadline = time.time() + 30
    while time.time() < deadline:
        log.seek(0)
        if b"serving" in log.read():
            return process
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    log.seek(0)
    sys.exit("reconnect-check: the server did not start: " + log.read().decode(errors="replace"))


def moving(tools, seconds=1.0):
    """Whether the picture changes within `seconds`, and the stream's address."""
    before = tools.evaluate(PROBE)
    tools.drain(seconds)
    after = tools.evaluate(PROBE)
    return after["hash"] is not None and before["hash"] is not None and before["hash"] != after["hash"], after["src"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("server", help="the ExampleServer binary")
    parser.add_argument("--port", type=int, default=5477, help="the server's port, the same after each restart")
    parser.add_argument("--within", type=float, default=15.0, help="seconds the picture may take to come back")
    parser.add_argument("--devtools-port", type=int, default=9334, help="Chromium's DevTools port")
    parser.add_argument("--no-script", action="store_true", help="turn JavaScript off (the check must then fail)")
    parser.add_argument("--add-script", metavar="FILE", help="also run this script on the page, once it loaded")
    arguments = parser.parse_args()
    url = f"http://127.0.0.1:{arguments.port}/"
    added = open(arguments.add_script).read() if arguments.add_script else None

    server = start(arguments.server, arguments.port)
    failures = 0
    try:
        with headless_chromium(arguments.devtools_port, "reconnect-check") as tools:
            tools.call("Page.enable")
            tools.call("Page.addScriptToEvaluateOnNewDocument", source=RECORDER)
            if arguments.no_script:
                tools.call("Emulation.setScriptExecutionDisabled", value=True)
            opened = False
            for down in (0.0, 6.0):
                print(f"== SIGKILL, started again after {down:g} s")
                if not opened or not moving(tools)[0]:
                    # The first round, or the last one left no picture: this round starts from a fresh page.
                    tools.call("Page.navigate", url=url)
                    tools.drain(2.0)
                    if added:
                        tools.evaluate(added)
                    opened = True
                shows, source = moving(tools)
                if not shows:
                    print(f"no moving picture at {source} before stopping the server")
                    failures += 1
                    continue
                seen = len(tools.evaluate("window.reconnectCheck || []") or [])
                server.send_signal(signal.SIGKILL)
                server.wait()
                tools.drain(max(down, 2.0))
                after = tools.evaluate(PROBE)
                print(f"server killed; {max(down, 2.0):g} s later the image has"
                      f" {'a' if after['hash'] is not None else 'no'} picture (src {after['src']})")
                server = start(arguments.server, arguments.port)
                restarted = time.time()
                back = None
                while time.time() - restarted < arguments.within:
                    shows, source = moving(tools, 0.5)
                    if shows and "reconnect=" in source:
                        back = time.time() - restarted
                        break
                events = (tools.evaluate("window.reconnectCheck || []") or [])[seen:]
                print("image events since the stop: " + (json.dumps(events) if events else "none"))
                if back is None:
                    print(f"FAIL: no moving picture from a reopened stream {arguments.within:g} s after the restart"
                          f" (src {source})")
                    failures += 1
                else:
                    print(f"picture back {back:.1f} s after the restart, src {source}")
    finally:
        server.kill()
        server.wait()
    print("the picture came back in every round" if failures == 0 else f"{failures} of 2 rounds failed")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
