#!/usr/bin/env python3
"""Opens a FrameStream page in headless Chromium and reports, for each camera <img> on it, whether it shows a
picture and whether the picture moves, and by which protocol (h2 or http/1.1) each stream came.

    Scripts/browser-check.py --url https://127.0.0.1:5443/ --expect 10 [--seconds 3]

Talks to Chromium over its DevTools protocol (websocket-client from PyPI). Exits 0 when at least --expect images
show moving pictures, 1 otherwise. Connects to 127.0.0.1 only; Chromium is stopped at the end.
"""
import argparse
import sys

from headless_chromium import PICTURE_HASH, headless_chromium

# Each camera image's address, width and picture hash: a different hash later means the picture moved.
PROBE = f"""
(() => Array.from(document.querySelectorAll('img')).map((img) =>
  ({{src: img.src, width: img.naturalWidth, hash: ({PICTURE_HASH})(img)}})))()
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--expect", type=int, required=True, help="images that must show moving pictures")
    parser.add_argument("--seconds", type=float, default=3.0, help="time between the two looks at the images")
    parser.add_argument("--port", type=int, default=9333, help="Chromium's DevTools port")
    arguments = parser.parse_args()

    with headless_chromium(arguments.port, "browser-check") as tools:
        tools.call("Network.enable")
        tools.call("Page.enable")
        tools.call("Page.navigate", url=arguments.url)
        tools.drain(max(2.0, arguments.seconds))
        first = tools.evaluate(PROBE)
        tools.drain(arguments.seconds)
        second = tools.evaluate(PROBE)
        protocols = {}
        for event in tools.events:
            if event.get("method") == "Network.responseReceived":
                response = event["params"]["response"]
                protocols[response["url"]] = response.get("protocol", "?")
        moving = 0
        for before, after in zip(first, second):
            shows = after["width"] > 0
            moves = shows and before["hash"] is not None and before["hash"] != after["hash"]
            moving += 1 if moves else 0
            state = "moving" if moves else ("still" if shows else "no picture")
            print(f"{after['src']}: {state} ({protocols.get(after['src'], 'no response yet')})")
        print(f"{moving} of {len(second)} camera images show moving pictures (expected at least {arguments.expect})")
        return 0 if moving >= arguments.expect else 1


if __name__ == "__main__":
    sys.exit(main())
