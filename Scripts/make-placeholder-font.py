#!/usr/bin/env python3
"""Writes Sources/FrameStream/Placeholders/PlaceholderFont.swift: the glyphs that placeholder frames are drawn with.

Each glyph is a 16x32 cell of DejaVu Sans Mono Bold (Debian's fonts-dejavu-core; the DejaVu fonts' licence lets
their glyphs be embedded), one bit per pixel, rows of 16 bits, as hexadecimal text. Run it again only to change the
font: `pip install pillow && python3 Scripts/make-placeholder-font.py`.
"""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
WIDTH, HEIGHT, SIZE = 16, 32, 26
CHARACTERS = [chr(c) for c in range(32, 127)] + ["\u2026", "\u2014", "\u00b7", "\u00b0"]

font = ImageFont.truetype(FONT, SIZE)
ascent, _ = font.getmetrics()
rows = []
for character in CHARACTERS:
    image = Image.new("L", (WIDTH, HEIGHT), 0)
    draw = ImageDraw.Draw(image)
    left = (WIDTH - font.getlength(character)) / 2
    draw.text((left, (HEIGHT - ascent) / 2 + 1), character, font=font, fill=255)
    pixels = image.load()
    for y in range(HEIGHT):
        bits = 0
        for x in range(WIDTH):
            if pixels[x, y] >= 112:
                bits |= 1 << (WIDTH - 1 - x)
        rows.append(f"{bits:04x}")

lines = ["".join(rows[i : i + 16]) for i in range(0, len(rows), 16)]
escaped = ['"\\u{%04X}"' % ord(c) for c in CHARACTERS[95:]]
described = "".join("\\u{%04X}" % ord(c) for c in CHARACTERS[95:])
body = "\n".join("        " + line for line in lines)
swift = (
    "// Made by Scripts/make-placeholder-font.py from DejaVu Sans Mono Bold: do not edit by hand.\n\n"
    f"/// The glyphs placeholder frames are drawn with: printable ASCII and \"{described}\", each {WIDTH}x{HEIGHT}\n"
    "/// pixels, one bit per pixel.\n"
    "enum PlaceholderFont {\n"
    "    /// A glyph's width in pixels.\n"
    f"    static let cellWidth = {WIDTH}\n"
    "    /// A glyph's height in pixels.\n"
    f"    static let cellHeight = {HEIGHT}\n\n"
    "    /// The characters with glyphs, in the order of ``rows``.\n"
    "    static let characters: [Character] =\n"
    "        (32...126).map { Character(Unicode.Scalar(UInt8($0))) } + [" + ", ".join(escaped) + "]\n\n"
    "    /// Each glyph's rows, top first, as four hexadecimal digits each (the leftmost pixel is the highest bit).\n"
    '    static let rows = """\n' + body + '\n        """\n'
    "}\n"
)
Path(__file__).resolve().parent.parent.joinpath("Sources/FrameStream/Placeholders/PlaceholderFont.swift").write_text(swift)
