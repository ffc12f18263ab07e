#!/usr/bin/env python3
"""gen_font.py — the GS console's bitmap font: ASCII art in, C array out.

The font lives in font_8x13.txt as ASCII art ('#' = ink, '.' = paper), one
block per character, so it is reviewed like code and the build needs no font
package. It was imported once from the public-domain X11 misc-fixed 8x13 font
(as shipped in Debian's console-setup-linux, Uni2-Fixed13.psf.gz; its
copyright.fonts lists 8x13.bdf as "Public domain"), with:

    python3 sdk/gs/gen_font.py import-psf /usr/share/consolefonts/Uni2-Fixed13.psf.gz \
        > sdk/gs/font_8x13.txt

The replacement glyph (shown for bytes outside printable ASCII) is drawn by
hand at the end of the file. The build then runs:

    python3 sdk/gs/gen_font.py c sdk/gs/font_8x13.txt build/.../gs_font.gen.h
"""
from __future__ import annotations

import argparse
import gzip
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

FIRST = 0x20
LAST = 0x7E
REPLACEMENT_ART = [
    "########",
    "#......#",
    "#.####.#",
    "#.#..#.#",
    "#....#.#",
    "#...##.#",
    "#...#..#",
    "#......#",
    "#...#..#",
    "#......#",
    "#......#",
    "########",
    "........",
]


@dataclass(frozen=True)
class Font:
    width: int
    height: int
    glyphs: dict[int, list[int]]  # code (or -1 for replacement) -> row bitmasks, MSB = left
    replacement: list[int]


class FontError(Exception):
    pass


def _rows_from_art(lines: list[str], width: int, where: str) -> list[int]:
    rows = []
    for line in lines:
        if len(line) != width or set(line) - {"#", "."}:
            raise FontError(f"{where}: bad row {line!r} (need {width} of '#'/'.')")
        rows.append(sum(1 << (width - 1 - i) for i, ch in enumerate(line) if ch == "#"))
    return rows


def parse_art(text: str, path: str = "<font>") -> Font:
    width = height = 0
    glyphs: dict[int, list[int]] = {}
    replacement: list[int] | None = None
    current: int | None = None
    art: list[str] = []

    def flush(lineno: int) -> None:
        nonlocal replacement
        if current is None:
            return
        if len(art) != height:
            raise FontError(f"{path}:{lineno}: glyph {current:#x} has {len(art)} rows, need {height}")
        rows = _rows_from_art(art, width, f"{path}:{lineno}")
        if current == -1:
            replacement = rows
        else:
            glyphs[current] = rows

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") and not set(line) <= {"#", "."}:
            continue
        if line.startswith("width "):
            width = int(line.split()[1])
        elif line.startswith("height "):
            height = int(line.split()[1])
        elif line.startswith("char ") or line == "replacement":
            flush(lineno)
            current = -1 if line == "replacement" else int(line.split()[1], 0)
            art = []
        else:
            art.append(line)
    flush(len(text.splitlines()))
    if not (1 <= width <= 8) or height < 1:
        raise FontError(f"{path}: width must be 1..8 and height >= 1")
    missing = [c for c in range(FIRST, LAST + 1) if c not in glyphs]
    if missing:
        raise FontError(f"{path}: missing glyphs for {', '.join(hex(c) for c in missing)}")
    if replacement is None:
        raise FontError(f"{path}: no 'replacement' glyph")
    return Font(width, height, glyphs, replacement)


def import_psf(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    if data[:2] != b"\x36\x04":
        raise FontError(f"{path}: not a PSF1 font")
    mode, height = data[2], data[3]
    count = 512 if mode & 1 else 256
    bitmaps = data[4 : 4 + count * height]
    table = data[4 + count * height :]
    code_to_glyph: dict[int, int] = {}
    if mode & 2:  # unicode table: per glyph u16 codes, 0xFFFE starts sequences, 0xFFFF ends
        glyph, seq = 0, False
        for (u,) in struct.iter_unpack("<H", table[: len(table) // 2 * 2]):
            if u == 0xFFFF:
                glyph += 1
                seq = False
            elif u == 0xFFFE:
                seq = True
            elif not seq:
                code_to_glyph.setdefault(u, glyph)
    else:
        code_to_glyph = {c: c for c in range(count)}
    out = [
        "# font_8x13.txt - 8x13 bitmap font of the GS text console.",
        "# Printable ASCII from the public-domain X11 misc-fixed 8x13 font",
        "# (Debian console-setup-linux Uni2-Fixed13.psf.gz); see gen_font.py.",
        "# '#' = ink, '.' = paper, most significant bit on the left.",
        "width 8",
        f"height {height}",
    ]
    for code in range(FIRST, LAST + 1):
        g = code_to_glyph.get(code)
        if g is None:
            raise FontError(f"{path}: no glyph for {code:#x}")
        out.append(f"char {code:#04x} {chr(code)!r}")
        for r in range(height):
            b = bitmaps[g * height + r]
            out.append("".join("#" if b & (0x80 >> i) else "." for i in range(8)))
    out.append("# hand-drawn: a framed question mark for bytes outside 0x20..0x7e")
    out.append("replacement")
    out.extend(REPLACEMENT_ART[:height] + ["." * 8] * max(0, height - len(REPLACEMENT_ART)))
    return "\n".join(out) + "\n"


def emit_c(font: Font, source: str) -> str:
    lines = [
        f"/* generated from {source} by sdk/gs/gen_font.py; do not edit */",
        "#ifndef PS2LLM_GS_FONT_GEN_H",
        "#define PS2LLM_GS_FONT_GEN_H",
        "#include <stdint.h>",
        f"#define GS_FONT_W {font.width}",
        f"#define GS_FONT_H {font.height}",
        f"#define GS_FONT_FIRST {FIRST:#04x}",
        f"#define GS_FONT_COUNT {LAST - FIRST + 2} /* printable ASCII + replacement */",
        f"#define GS_FONT_REPLACEMENT {LAST - FIRST + 1}",
        "/* one byte per row, most significant bit = leftmost pixel */",
        f"static const uint8_t gs_font_bits[GS_FONT_COUNT][GS_FONT_H] = {{",
    ]
    shift = 8 - font.width
    for code in range(FIRST, LAST + 1):
        rows = ", ".join(f"0x{r << shift:02x}" for r in font.glyphs[code])
        shown = chr(code) if chr(code) not in "\\*/" else "?"
        lines.append(f"    {{{rows}}}, /* {code:#04x} {shown} */")
    rows = ", ".join(f"0x{r << shift:02x}" for r in font.replacement)
    lines.append(f"    {{{rows}}}, /* replacement */")
    lines += ["};", "#endif", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("import-psf", help="print ASCII art of a PSF1 font's printable ASCII")
    p.add_argument("psf", type=Path)
    p = sub.add_parser("c", help="write the C header for an ASCII-art font")
    p.add_argument("art", type=Path)
    p.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    try:
        if args.cmd == "import-psf":
            sys.stdout.write(import_psf(args.psf))
        else:
            font = parse_art(args.art.read_text(), str(args.art))
            text = emit_c(font, args.art.name)
            tmp = args.out.with_suffix(args.out.suffix + ".tmp")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text)
            tmp.replace(args.out)
    except (FontError, OSError) as e:
        print(f"gen_font.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
