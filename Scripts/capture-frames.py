#!/usr/bin/env python3
"""Saves distinct JPEG frames of a Motion-JPEG stream as numbered files, so that `make bench` can loop the same
files in every server it compares.

    Scripts/capture-frames.py http://127.0.0.1:5000/video_feed /tmp/frames 30

Connects only to the address given (the bench gives 127.0.0.1), and stops after COUNT distinct frames or 30 s.
"""
import os
import sys
import urllib.request


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: capture-frames.py STREAM_URL FOLDER COUNT")
    url, folder, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.makedirs(folder, exist_ok=True)
    seen = set()
    with urllib.request.urlopen(url, timeout=30) as stream:
        while len(seen) < count:
            line = stream.readline()
            if not line:
                sys.exit("capture-frames.py: the stream ended after %d frames" % len(seen))
            if not line.lower().startswith(b"content-length:"):
                continue
            length = int(line.split(b":", 1)[1])
            while stream.readline() not in (b"\r\n", b""):
                pass
            jpeg = stream.read(length)
            if jpeg in seen:
                continue
            seen.add(jpeg)
            with open(os.path.join(folder, "%03d.jpg" % len(seen)), "wb") as file:
                file.write(jpeg)


if __name__ == "__main__":
    main()
