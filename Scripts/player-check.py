#!/usr/bin/env python3
"""Plays a camera's player page (…/cameras/NAME/player) in headless Chromium and proves with the picture that its
buttons work: it reads the clock the test pattern draws into each frame (`#000042 12:34:56.789`, UTC).

    Scripts/player-check.py --url http://127.0.0.1:5481/cameras/cam/player
    Scripts/player-check.py --snapshot http://127.0.0.1:5481/cameras/cam/snapshot.jpg   (the reading alone)

Checks, in order: the picture moves and the page says LIVE; after `pause` the picture stands still; after `−10 s`
it shows a clock about 10 s earlier and the page is not live; after `live` the clock is within 1.5 s of this
machine's (UTC) and the page is live again. The font is read from TestPattern.swift's glyph table, not copied here.
With --snapshot it reads one snapshot and compares the label with the response's X-Timestamp.

Talks to Chromium over its DevTools protocol (websocket-client from PyPI). Exits 0 when every check passes, 1
otherwise; uncaught exceptions and console errors on the page fail it too. Connects to 127.0.0.1 only; Chromium
is stopped at the end.
"""
import argparse
import os
import re
import sys
import time

from headless_chromium import headless_chromium

TEST_PATTERN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "FrameStream", "JPEG",
                            "TestPattern.swift")
LABEL_LENGTH = len("#000042 12:34:56.789")

# The luma of every font pixel of the label's cells, each averaged over its scale×scale block (JPEG blurs the
# edges), from an image drawn into a canvas: TestPattern.draw puts glyph row r, column c of character i at
# x = 2s + 6s·i + s·c, y = 2s + s·r, with s = max(1, width / 320). `SOURCE` is an <img> or an ImageBitmap.
READ_LABEL = """
((source) => {
  if (!source) return null;
  const width = source.naturalWidth || source.width, height = source.naturalHeight || source.height;
  if (!width) return null;
  const canvas = document.createElement('canvas');
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext('2d');
  context.drawImage(source, 0, 0);
  const scale = Math.max(1, Math.floor(width / 320));
  const data = context.getImageData(0, 0, Math.min(width, (%(length)d * 6 + 4) * scale), 11 * scale).data;
  const rowLength = Math.min(width, (%(length)d * 6 + 4) * scale);
  const luma = (x, y) => {
    const i = (y * rowLength + x) * 4;
    return 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
  };
  const inset = scale > 2 ? 1 : 0;
  const cells = [];
  for (let cell = 0; cell < %(length)d; cell++) {
    const pixels = [];
    for (let row = 0; row < 7; row++) for (let column = 0; column < 5; column++) {
      const x0 = 2 * scale + 6 * scale * cell + scale * column, y0 = 2 * scale + scale * row;
      let sum = 0, count = 0;
      for (let y = y0 + inset; y < y0 + scale - inset; y++) for (let x = x0 + inset; x < x0 + scale - inset; x++) {
        if (x < rowLength) { sum += luma(x, y); count++; }
      }
      pixels.push(count ? sum / count : 0);
    }
    cells.push(pixels);
  }
  return {width: width, height: height, scale: scale, cells: cells};
})(SOURCE)
""" % {"length": LABEL_LENGTH}

READ_PICTURE = READ_LABEL.replace("SOURCE", "document.getElementById('picture')")

# Fetches the snapshot again from its own page (same origin) to have the picture and its X-Timestamp together.
READ_SNAPSHOT = """
(async () => {
  const answer = await fetch(location.href, {cache: 'no-store'});
  const bitmap = await createImageBitmap(await answer.blob());
  const label = %s;
  return {timestamp: answer.headers.get('X-Timestamp'), label: label};
})()
""" % READ_LABEL.strip().replace("SOURCE", "bitmap")

STATE = """
(() => {
  const s = document.getElementById('state');
  return {live: s.dataset.live, paused: s.dataset.paused, position: s.dataset.position, rate: s.dataset.rate,
          text: s.textContent, message: document.getElementById('message').textContent};
})()
"""


def glyphs_from_swift(path):
    """TestPattern.glyphs, `"0": [0x0E, 0x11, …]` a line: character → seven rows of five bits; a space is blank."""
    with open(path, encoding="utf-8") as file:
        source = file.read()
    table = re.search(r"static let glyphs[^=]*=\s*\[(.*?)\n\s*\]\n", source, re.S)
    if not table:
        sys.exit(f"player-check: no glyph table (static let glyphs = [...]) in {path}")
    glyphs = {" ": [0] * 7}
    for character, rows in re.findall(r'"(.)":\s*\[([^\]]*)\]', table.group(1)):
        glyphs[character] = [int(value, 0) for value in rows.split(",") if value.strip()]
    if len(glyphs) < 14 or any(len(rows) != 7 for rows in glyphs.values()):
        sys.exit(f"player-check: could not read the glyph table in {path}")
    return glyphs


class Clock:
    """Reads a test-pattern label from the luma of its font pixels."""

    def __init__(self, glyphs):
        self.glyphs = {character: [rows[r] >> (4 - c) & 1 for r in range(7) for c in range(5)]
                       for character, rows in glyphs.items()}

    def text(self, label):
        characters = []
        for cell in label["cells"]:
            bits = [1 if value > 128 else 0 for value in cell]
            distance, character = min((sum(a != b for a, b in zip(bits, glyph)), character)
                                      for character, glyph in self.glyphs.items())
            characters.append(character if distance <= 3 else "?")
        return "".join(characters)

    def read(self, label):
        """(frame number, UTC seconds of the day, the text), or None when the label cannot be read."""
        if not label:
            return None
        text = self.text(label)
        match = re.fullmatch(r"#(\d{6}) (\d\d):(\d\d):(\d\d)\.(\d{3})", text)
        if not match:
            return None
        frame, hours, minutes, seconds, milliseconds = (int(group) for group in match.groups())
        return frame, hours * 3600 + minutes * 60 + seconds + milliseconds / 1000, text


def seconds_between(later, earlier):
    """later − earlier for two times of the day, across midnight."""
    return (later - earlier + 43_200) % 86_400 - 43_200


def time_of_day(unix):
    return unix % 86_400


class Player:
    def __init__(self, tools, clock):
        self.tools = tools
        self.clock = clock

    def picture(self):
        return self.clock.read(self.tools.evaluate(READ_PICTURE))

    def state(self):
        return self.tools.evaluate(STATE)

    def click(self, button):
        self.tools.evaluate(f"document.getElementById('{button}').click()")

    def wait(self, what, condition, seconds=5.0):
        """Polls `condition` (returning a value or None) every 0.1 s; its value, or None after `seconds`."""
        end = time.time() + seconds
        while True:
            value = condition()
            if value is not None or time.time() > end:
                if value is None:
                    print(f"  (waited {seconds} s for {what})")
                return value
            self.tools.drain(0.1)

    def state_is(self, key, value):
        return lambda: True if self.state()[key] == value else None


def check_player(tools, clock, url):
    player = Player(tools, clock)
    failures = []

    def check(name, passed, detail):
        print(f"{'ok  ' if passed else 'FAIL'} {name}: {detail}")
        if not passed:
            failures.append(name)

    tools.call("Page.navigate", url=url)
    first = player.wait("a readable picture", player.picture, 15)
    if first is None:
        state = player.state() if tools.evaluate("!!document.getElementById('state')") else {}
        print(f"FAIL no readable clock in the picture; page: {state}")
        return 1
    tools.drain(1.0)
    second = player.wait("a readable picture", player.picture)
    state = player.state()
    check("plays", second is not None and second[1] != first[1],
          f"{first[2]!r} then {second[2] if second else None!r}")
    check("live at first", state["live"] == "true", f"data-live={state['live']}, {state['text']!r}")

    player.click("pause")
    player.wait("data-paused=true", player.state_is("paused", "true"))
    tools.drain(0.5)  # frames already on their way
    before = player.picture()
    tools.drain(1.5)
    after = player.picture()
    state = player.state()
    check("pause freezes the picture", before is not None and after is not None and before[1] == after[1],
          f"{before[2] if before else None!r} and 1.5 s later {after[2] if after else None!r}; {state['text']!r}")

    player.click("play")
    player.wait("data-paused=false", player.state_is("paused", "false"))
    tools.drain(1.0)
    before = player.picture()
    clicked = time.time()
    player.click("back10")

    def jumped_back():
        """The first frame from before the click's position: the clock jumps back."""
        read = player.picture()
        return read if read and before and seconds_between(read[1], before[1]) < -2 else None

    after = player.wait("the picture to jump back", jumped_back, 6)
    read_at = time.time()
    state = player.state()
    if before and after:
        jump = seconds_between(after[1], before[1]) - (read_at - clicked)  # less the time it played meanwhile
        check("−10 s shows older frames", abs(jump + 10) <= 2,
              f"{before[2]!r} before, {after[2]!r} after: {jump:+.1f} s (at rate 1, less {read_at - clicked:.1f} s)")
    else:
        check("−10 s shows older frames", False,
              f"{before[2] if before else None!r} before, {after[2] if after else None!r} after")
    check("−10 s leaves live", state["live"] == "false", f"data-live={state['live']}, {state['text']!r}")
    if after:
        behind = seconds_between(time_of_day(time.time()), after[1])
        print(f"     picture {behind:.1f} s behind this machine's clock; the page says {state['text']!r}")

    player.click("live")
    player.wait("data-live=true", player.state_is("live", "true"))

    def near_now():
        read = player.picture()
        if read and abs(seconds_between(time_of_day(time.time()), read[1])) <= 1.5:
            return read
        return None

    now = player.wait("the picture to be live", near_now, 5)
    last = now or player.picture()
    state = player.state()
    lag = seconds_between(time_of_day(time.time()), last[1]) if last else None
    check("live returns to the present", now is not None,
          f"{last[2] if last else None!r}, {lag if lag is None else round(lag, 2)} s behind the wall clock (UTC)")
    check("live again", state["live"] == "true", f"data-live={state['live']}, {state['text']!r}")

    tools.drain(0.2)
    problems = tools.problems()
    check("no errors on the page", not problems, "; ".join(problems) or "none")
    print(f"{'all checks passed' if not failures else 'failed: ' + ', '.join(failures)}")
    return 0 if not failures else 1


def check_snapshot(tools, clock, url):
    tools.call("Page.navigate", url=url)
    tools.drain(1.0)
    answer = tools.evaluate(READ_SNAPSHOT, wait=True)
    read = clock.read(answer["label"])
    text = clock.text(answer["label"]) if answer["label"] else None
    if read is None or not answer["timestamp"]:
        print(f"FAIL label {text!r}, X-Timestamp {answer['timestamp']!r}")
        return 1
    stamp = float(answer["timestamp"])
    difference = seconds_between(read[1], int(time_of_day(stamp) * 1000) / 1000)
    passed = abs(difference) < 0.0015
    print(f"{'ok  ' if passed else 'FAIL'} label {read[2]!r}, X-Timestamp {stamp:.6f} "
          f"({time.strftime('%H:%M:%S', time.gmtime(stamp))}.{int(stamp * 1000) % 1000:03d} UTC): "
          f"{difference * 1000:+.0f} ms; {answer['label']['width']}×{answer['label']['height']}, "
          f"scale {answer['label']['scale']}")
    return 0 if passed else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="the player page, …/cameras/NAME/player, of a test-pattern camera")
    target.add_argument("--snapshot", help="a test-pattern snapshot.jpg: read its label only")
    parser.add_argument("--glyphs", default=TEST_PATTERN, help="TestPattern.swift, for the font")
    parser.add_argument("--port", type=int, default=9334, help="Chromium's DevTools port")
    arguments = parser.parse_args()
    clock = Clock(glyphs_from_swift(arguments.glyphs))

    with headless_chromium(arguments.port, "player-check") as tools:
        tools.call("Runtime.enable")
        tools.call("Page.enable")
        if arguments.snapshot:
            return check_snapshot(tools, clock, arguments.snapshot)
        return check_player(tools, clock, arguments.url)


if __name__ == "__main__":
    sys.exit(main())
