#!/usr/bin/env python3
"""Converts a Linux console font (PSF1 or PSF2, optionally gzipped) into the
C table ferry's screen console draws with, and renders text with the same
glyphs for the screen tests.

    tools/psf2c.py FONT.psf.gz OUT.c

The table holds the printable ASCII characters (code points 32-126, found
through the font's Unicode table) and one replacement glyph (U+FFFD if the
font has it, else '?') for everything else.  Only the Python standard
library is used.

Formats (the Linux kbd documentation, "The PC Screen Font File Format"):
  PSF1: bytes 36 04, mode, glyph height; 256 glyphs (512 with mode bit 0)
        8 pixels wide; a Unicode table follows when mode bit 1 or 2 is set:
        per glyph, little-endian u16 code points ended by FFFF (FFFE starts
        a sequence of combining characters).
  PSF2: magic 72 B5 4A 86, then u32 version, header size, flags (bit 0:
        Unicode table), glyph count, bytes per glyph, height, width; the
        table holds per glyph UTF-8 characters ended by FF (FE starts a
        sequence).
Each glyph row is (width + 7) / 8 bytes, the leftmost pixel in the top bit.
"""
import gzip
import os
import struct
import sys

FIRST, LAST = 32, 126
REPLACEMENT = 0xFFFD

PSF1_MAGIC = b"\x36\x04"
PSF1_MODE512 = 0x01
PSF1_MODEHASTAB = 0x02
PSF1_MODESEQ = 0x04
PSF2_MAGIC = b"\x72\xb5\x4a\x86"
PSF2_HAS_UNICODE_TABLE = 0x01


class Font:
    """A console font: width x height glyphs and a code point -> glyph map."""

    def __init__(self, width, height, glyphs, cmap):
        self.width = width
        self.height = height
        self.row_bytes = (width + 7) // 8
        self.glyphs = glyphs          # list of bytes, height * row_bytes each
        self.cmap = cmap              # code point -> glyph index

    def glyph(self, cp):
        """The glyph's bytes for a code point (the replacement if absent)."""
        i = self.cmap.get(cp)
        if i is None:
            i = self.cmap.get(REPLACEMENT, self.cmap.get(ord("?"), 0))
        return self.glyphs[i]

    def pixel(self, glyph, x, y):
        return bool(glyph[y * self.row_bytes + x // 8] & (0x80 >> (x % 8)))

    def render(self, text, cell_width=None, scale=1):
        """Renders one line as rows of 0/1 bytes (1: the glyph's pixel is
        set).  cell_width > width leaves blank columns on each cell's right,
        as VGA text mode's 9-dot cells do for letters."""
        cw = cell_width or self.width
        rows = [bytearray(len(text) * cw * scale) for _ in range(self.height * scale)]
        for n, ch in enumerate(text):
            cp = ord(ch)
            g = self.glyph(cp if FIRST <= cp <= LAST else REPLACEMENT)
            for y in range(self.height):
                for x in range(self.width):
                    if self.pixel(g, x, y):
                        for sy in range(scale):
                            row = rows[y * scale + sy]
                            base = (n * cw + x) * scale
                            row[base:base + scale] = b"\x01" * scale
        return rows


def _utf8_entries(data):
    """Splits one PSF2 Unicode table entry (without its FF) into code points,
    dropping the sequences after FE."""
    data = data.split(b"\xfe")[0]
    return [ord(c) for c in data.decode("utf-8", "replace")]


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:2] == PSF1_MAGIC:
        mode, height = raw[2], raw[3]
        count = 512 if mode & PSF1_MODE512 else 256
        width, size, off = 8, height, 4
        glyphs = [raw[off + i * size:off + (i + 1) * size] for i in range(count)]
        cmap = {}
        if mode & (PSF1_MODEHASTAB | PSF1_MODESEQ):
            p = off + count * size
            for i in range(count):
                in_seq = False
                while p + 2 <= len(raw):
                    (v,) = struct.unpack_from("<H", raw, p)
                    p += 2
                    if v == 0xFFFF:
                        break
                    if v == 0xFFFE:
                        in_seq = True
                    elif not in_seq:
                        cmap.setdefault(v, i)
        else:
            cmap = {i: i for i in range(count)}
    elif raw[:4] == PSF2_MAGIC:
        (_, hdr, flags, count, size, height, width) = struct.unpack_from("<7I", raw, 4)
        glyphs = [raw[hdr + i * size:hdr + (i + 1) * size] for i in range(count)]
        cmap = {}
        if flags & PSF2_HAS_UNICODE_TABLE:
            p = hdr + count * size
            for i in range(count):
                end = raw.index(b"\xff", p)
                for cp in _utf8_entries(raw[p:end]):
                    cmap.setdefault(cp, i)
                p = end + 1
        else:
            cmap = {i: i for i in range(count)}
    else:
        raise ValueError(f"{path}: not a PSF1 or PSF2 font")
    if any(len(g) < height * ((width + 7) // 8) for g in glyphs):
        raise ValueError(f"{path}: truncated glyph data")
    return Font(width, height, glyphs, cmap)


def to_c(font, source):
    missing = [chr(c) for c in range(FIRST, LAST + 1) if c not in font.cmap]
    if missing:
        raise ValueError(f"{source}: the font has no glyph for {''.join(missing)!r}")
    if font.width > 16 or font.height > 32:
        raise ValueError(f"{source}: {font.width}x{font.height} glyphs; ferry draws at most 16x32")
    n = font.height * font.row_bytes
    out = [f"/* Generated by tools/psf2c.py from {source}; do not edit. */",
           '#include "platform/font.h"', "",
           f"const struct font font_console = {{ {font.width}, {font.height}, {font.row_bytes}, {n} }};", "",
           f"const u8 font_glyphs[FONT_GLYPHS * {n}] = {{"]
    cps = list(range(FIRST, LAST + 1)) + [REPLACEMENT]
    for cp in cps:
        g = font.glyph(cp)[:n]
        name = "replacement" if cp == REPLACEMENT else repr(chr(cp)).replace("*/", "* /")
        out.append(f"\t{', '.join(f'0x{b:02x}' for b in g)}, /* {name} */")
    out.append("};")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: tools/psf2c.py FONT.psf[.gz] OUT.c")
    src, dst = sys.argv[1], sys.argv[2]
    try:
        text = to_c(load(src), src)
    except (OSError, ValueError, struct.error) as e:
        sys.exit(f"psf2c: {e}")
    with open(dst + ".tmp", "w") as f:
        f.write(text)
    os.replace(dst + ".tmp", dst)


if __name__ == "__main__":
    main()
