"""Unicode character classes for the C pre-tokenizer, generated from Python's
`unicodedata` through `model.tokenizer.char_class`, so the C and Python
tokenizers classify every code point the same way.

`python -m codegen.unicode_tables OUT.c` writes the table and `tok_unicode_class()`
(declared in ee_runtime_c/tokenizer.h). The output is build output: it goes under
build/ (or a test's tmp dir), never into the source tree.
"""
from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

from codegen.render import make_environment, render
from model.tokenizer import CharClass, char_class

TEMPLATE = "unicode_tables.gen.c.jinja"
MAX_CODE_POINT = 0x10FFFF


def class_runs() -> list[tuple[int, CharClass]]:
    """(first code point, class) of every maximal run of code points of one class,
    from U+0000 to U+10FFFF."""
    runs: list[tuple[int, CharClass]] = []
    for cp in range(MAX_CODE_POINT + 1):
        c = char_class(cp)
        if not runs or runs[-1][1] != c:
            runs.append((cp, c))
    return runs


def render_unicode_tables() -> str:
    runs = class_runs()
    return render(make_environment(), TEMPLATE,
                  unicode_version=unicodedata.unidata_version,
                  classes=list(CharClass),
                  entries=[f"0x{(cp << 2) | int(c):07x}u" for cp, c in runs])


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m codegen.unicode_tables OUT.c", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_unicode_tables())
    tmp.replace(out)        # never leave a half-written file behind
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
