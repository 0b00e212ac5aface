#!/bin/sh
# Times turning 640x480 and 1280x720 camera frames (lossless JPEG transform, decode + turn + encode, and the raw
# YUYV path) in one run and prints the ratios recorded in Docs/benchmarks.md. Compiles the library's orientation and
# JPEG files on their own with -O: no package build needed.
set -eu
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/framestream-orientation-timing"
swiftc -O -module-name FrameStreamTiming -I Sources/CTurboJPEG \
    Sources/FrameStream/Frames/FrameSize.swift Sources/FrameStream/Frames/FrameOrientation.swift \
    Sources/FrameStream/JPEG/JPEGTransformer.swift Sources/FrameStream/JPEG/JPEGEncoder.swift \
    Benchmarks/OrientationTiming/main.swift -lturbojpeg -o "$out"
exec "$out"
