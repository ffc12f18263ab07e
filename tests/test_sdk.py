"""Host tests of the EE SDK (sdk/): what can be checked without a PS2.

- SIF command / RPC packet encoders and the CDVD read request against the
  layouts documented in /work/shared/ps2/REFERENCE.md §3-4 (ps2sdk
  sifcmd-common.h, sifrpc-common.h, libcdvd-rpc.h; Play! SIF.cpp);
- the GIF upload header, the font table and the text console (rendering,
  wrapping, tabs, scrolling) in an in-memory frame buffer;
- the libc (string functions, snprintf, libgcc helpers) against Python, and
  the math functions' max error against a float64 numpy reference;
- the syscall stub table and a cross-compiled hello-world ELF (one PT_LOAD at
  0x00100000, entry = crt0, R5900 e_flags, no MMI-clashing instructions).
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SDK = ROOT / "sdk"
C_DIR = ROOT / "tests" / "c"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


gen_font = _load("gen_font", SDK / "gs" / "gen_font.py")
ee_gcc = _load("ee_gcc", ROOT / "site_scons" / "site_tools" / "ee_gcc.py")

LIBC_NAMES = (
    "memcpy memmove memset memcmp memchr strlen strcmp strncmp strchr strrchr strncpy "
    "snprintf vsnprintf __udivmoddi4 __udivdi3 __umoddi3 __divdi3 __moddi3 __clzsi2 __ctzsi2 __floatdisf "
    "__floatundisf __fixsfdi __fixunssfdi"
).split()


def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed:\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="session")
def font_header(tmp_path_factory) -> Path:
    gen = tmp_path_factory.mktemp("gen")
    _run([sys.executable, SDK / "gs" / "gen_font.py", "c", SDK / "gs" / "font_8x13.txt",
          gen / "gs_font.gen.h"])
    return gen


@pytest.fixture(scope="session")
def driver(tmp_path_factory, font_header) -> Path:
    """The host driver: SDK portable sources + renamed libc, built with -Werror."""
    out = tmp_path_factory.mktemp("host")
    gcc = shutil.which("gcc") or pytest.skip("no host gcc")
    gcc_inc = _run([gcc, "-print-file-name=include"]).stdout.strip()
    warn = ["-Wall", "-Wextra", "-Werror", "-O2", "-std=c99", "-ffp-contract=off",
            "-fno-math-errno"]
    objs = []
    renames = [f"-D{n}=sdk_{n}" for n in LIBC_NAMES]
    for src in ("string.c", "format.c", "libgcc.c"):
        obj = out / (src + ".o")
        _run([gcc, *warn, "-ffreestanding", "-fno-builtin", "-nostdinc", "-isystem", gcc_inc,
              "-I", SDK / "libc" / "include", *renames, "-c", SDK / "libc" / src, "-o", obj])
        objs.append(obj)
    portable = [SDK / "sif" / "sif_packets.c", SDK / "cdvd" / "cdvd_packets.c",
                SDK / "gs" / "gs_console.c", SDK / "timer" / "ee_clock.c",
                C_DIR / "sdk_host_driver.c"]
    exe = out / "sdk_host_driver"
    _run([gcc, *warn, "-DPS2LLM_HOST_TEST", "-D_POSIX_C_SOURCE=200809L", "-I", SDK / "include",
          "-I", font_header, *portable, *objs, "-o", exe])
    return exe


def ask(driver: Path, lines: list[str]) -> list[str]:
    r = _run([driver], input="\n".join(lines) + "\n")
    out = r.stdout.splitlines()
    assert len(out) == len(lines), r.stdout
    return out


def words(line: str) -> tuple[int, list[int]]:
    size, *rest = line.split()
    return int(size), [int(w, 16) for w in rest]


# ---------------------------------------------------------------- SIF / RPC

def test_sif_init_packets(driver):
    out = ask(driver, ["sif_init 20f00040", "sif_change_saddr 20f00040", "sif_init_rpc"])
    size, w = words(out[0])
    assert size == 20 and w == [20, 0, 0x80000002, 0, 0x20F00040]  # psize 20, INIT, opt 0
    size, w = words(out[1])
    assert size == 20 and w == [20, 0, 0x80000000, 0, 0x20F00040]  # CHANGE_SADDR
    size, w = words(out[2])
    assert size == 16 and w == [16, 0, 0x80000002, 1]  # INIT with opt 1 (RPC init)


def test_sif_rpc_bind_packet(driver):
    size, w = words(ask(driver, ["sif_bind 3 7 20123440 123400 80000595"])[0])
    assert size == 64 and len(w) == 16
    assert w[0] == 64  # psize 64, dsize 0
    assert w[1] == 0 and w[2] == 0x80000009 and w[3] == 0
    assert w[4] == (3 << 16) | 0x4 | 0x1  # rec_id
    assert w[5] == 0x20123440  # pkt_addr
    assert w[6] == 7  # rpc_id
    assert w[7] == 0x123400  # client
    assert w[8] == 0x80000595  # sid
    assert w[9:] == [0] * 7


def test_sif_rpc_call_packet(driver):
    line = "sif_call 1 2a 20123480 123400 1 18 deadbef0 200000 40 acacacac"
    size, w = words(ask(driver, [line])[0])
    assert size == 64
    assert w[0] == 64 | (0x18 << 8)  # psize 64, dsize = send size
    assert w[1] == 0xDEADBEF0  # payload goes to the server buffer from the bind
    assert w[2] == 0x8000000A
    assert w[4] == (1 << 16) | 5 and w[5] == 0x20123480 and w[6] == 0x2A and w[7] == 0x123400
    assert w[8] == 1  # fno
    assert w[9] == 0x18  # send_size
    assert w[10] == 0x200000 and w[11] == 0x40  # recvbuf, recv_size
    assert w[12] == 1  # rmode: END after the reply (REFERENCE.md §3, Play! differences)
    assert w[13] == 0xACACACAC  # server
    # no payload: header dest stays 0
    size, w = words(ask(driver, ["sif_call 0 1 20123480 123400 4 0 deadbef0 200000 10 1"])[0])
    assert w[0] == 64 and w[1] == 0


def test_sif_rpc_end_decode(driver):
    pkt = [64, 0, 0x80000008, 0, 0x10005, 0x20123440, 9, 0x123400, 0x80000009, 0xBEEF0,
           0xDEADBEF0, 0xDEADCAFE, 0, 0, 0, 0]
    out = ask(driver, ["sif_end " + " ".join(f"{x:x}" for x in pkt)])[0].split()
    cid, client, answered, server, buf, cbuf, rpc_id = (int(x, 16) for x in out)
    assert (cid, client, answered, server, buf, cbuf, rpc_id) == (
        0x80000008, 0x123400, 0x80000009, 0xBEEF0, 0xDEADBEF0, 0xDEADCAFE, 9)


# ---------------------------------------------------------------- CDVD

def test_cdvd_read_request(driver):
    # lbn, sectors, buf, trycount, spindle, pattern, remain, pos
    size, w = words(ask(driver, ["cdvd_read 1234 20 200040 0 1 0 1f0000 1f00c0"])[0])
    assert size == 24
    assert w == [0x1234, 0x20, 0x200040, 0x00000100, 0x1F0000, 0x1F00C0]  # {0,1,0} -> 0x100
    size, w = words(ask(driver, ["cdvd_read 0 1 100000 5 0 1 0 0"])[0])
    assert w[3] == 0x00010005  # trycount | spindle<<8 | pattern<<16
    size, w = words(ask(driver, ["cdvd_init 0"])[0])
    assert size == 4 and w == [0]


def test_cdvd_error_names(driver):
    out = ask(driver, [f"cdvd_errname {c}" for c in (0, 0x12, 0x30, 0x32, -2, 0x99)])
    assert out == ["no error", "no disc", "read error", "end of media",
                   "CDVDFSV did not answer", "unknown error"]


def test_cdvd_ids_match_reference():
    text = (SDK / "include" / "cdvd.h").read_text()
    ids = dict(re.findall(r"#define (CDVD_SID_\w+) (0x[0-9A-F]+)u", text))
    assert ids["CDVD_SID_INIT"] == "0x80000592"
    assert ids["CDVD_SID_SCMD"] == "0x80000593"
    assert ids["CDVD_SID_NCMD"] == "0x80000595"


# ---------------------------------------------------------------- GS

def test_gs_upload_header(driver):
    out = ask(driver, ["gs_hdr 0 10 0 26 640 13"])[0].split()
    nq, q = int(out[0]), [int(x, 16) for x in out[1:]]
    assert nq == 6
    assert q[0] == 4 | (0 << 58) | (1 << 60) and q[1] == 0xE  # PACKED, NLOOP 4, A+D
    assert q[3] == 0x50 and q[2] == (10 << 48)  # BITBLTBUF: DBP 0, DBW 10, PSMCT32
    assert q[5] == 0x51 and q[4] == (26 << 48)  # TRXPOS: DSAX 0, DSAY 26
    assert q[7] == 0x52 and q[6] == 640 | (13 << 32)  # TRXREG
    assert q[9] == 0x53 and q[8] == 0  # TRXDIR host -> local
    qwc = 640 * 13 * 4 // 16
    assert q[10] == qwc | (1 << 15) | (2 << 58)  # IMAGE, EOP


@pytest.fixture(scope="session")
def font():
    return gen_font.parse_art((SDK / "gs" / "font_8x13.txt").read_text())


def test_font_covers_printable_ascii(font, font_header):
    assert (font.width, font.height) == (8, 13)
    assert sorted(font.glyphs) == list(range(0x20, 0x7F))
    assert any(font.replacement) and font.replacement not in font.glyphs.values()
    assert not any(font.glyphs[0x20])
    for c in "AZaz09#@":
        assert any(font.glyphs[ord(c)]), c
    text = (font_header / "gs_font.gen.h").read_text()
    assert "GS_FONT_COUNT 96" in text and "GS_FONT_REPLACEMENT 95" in text


def test_font_art_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("width 8\nheight 2\nchar 0x41\n#.......\n")
    r = subprocess.run([sys.executable, SDK / "gs" / "gen_font.py", "c", bad, tmp_path / "o.h"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "bad.txt" in r.stderr and "0x41" in r.stderr
    assert not (tmp_path / "o.h").exists()


W, H, GW, GH = 640, 448, 8, 13
X0, Y0 = 16, 16  # the margin around the text area (gs_console.h GS_CON_X0/Y0)
COLS, ROWS = (W - 2 * X0) // GW, (H - 2 * Y0) // GH  # 76 x 32
FG = 0x80FFFFFF  # GS_RGB(255,255,255)
BG = 0x80400000  # GS_RGB(0,0,64)


def render(driver, tmp_path, text: bytes, chunk: int = 0):
    src, out = tmp_path / "in.txt", tmp_path / "out.bin"
    src.write_bytes(text)
    _run([driver, "gs", src, out] + ([str(chunk)] if chunk else []))
    data = out.read_bytes()
    cells = np.frombuffer(data[: ROWS * COLS], np.uint8).reshape(ROWS, COLS)
    row, col = struct.unpack_from("<ii", data, ROWS * COLS)
    fb = np.frombuffer(data[ROWS * COLS + 8:], np.uint32).reshape(H, W)
    return cells, (row, col), fb


def glyph_pixels(font, ch: int) -> np.ndarray:
    rows = font.glyphs.get(ch, font.replacement) if ch else font.glyphs[0x20]
    if ch and not 0x20 <= ch <= 0x7E:
        rows = font.replacement
    return np.array([[FG if r & (0x80 >> x) else BG for x in range(8)] for r in rows], np.uint32)


def cell_pixels(fb: np.ndarray, row: int, col: int) -> np.ndarray:
    y, x = Y0 + row * GH, X0 + col * GW
    return fb[y:y + GH, x:x + GW]


def test_console_geometry():
    assert (COLS, ROWS) == (76, 32)
    text = (SDK / "include" / "gs_console.h").read_text()
    assert re.search(r"#define GS_CON_X0 %d\b" % X0, text)
    assert re.search(r"#define GS_CON_Y0 %d\b" % Y0, text)


def test_console_renders_string(driver, font, tmp_path):
    text = b"Hello, PS2! \x01\xc3~"
    cells, pos, fb = render(driver, tmp_path, text)
    assert bytes(cells[0, : len(text)]) == text and pos == (0, len(text))
    for i, ch in enumerate(text):
        assert np.array_equal(cell_pixels(fb, 0, i), glyph_pixels(font, ch)), f"glyph {ch:#x} at column {i}"
    ink = np.zeros((H, W), bool)
    ink[Y0:Y0 + GH, X0:X0 + len(text) * GW] = True
    assert np.all(fb[~ink] == BG)  # margins and the rest of the screen


def test_console_wrap_tab_cr_bs(driver, tmp_path):
    cells, pos, _ = render(driver, tmp_path, b"a\tb\rX\n" + b"y" * (COLS + 5) + b"\bZ")
    assert bytes(cells[0, :10]) == b"X       b\x00"
    assert bytes(cells[1]) == b"y" * COLS and bytes(cells[2, :5]) == b"yyyyZ"
    assert pos == (2, 5)


def test_console_word_wrap(driver, tmp_path):
    words = [b"w%02d" % i + b"x" * (i % 7) for i in range(60)]
    text = b" ".join(words)
    cells, pos, _ = render(driver, tmp_path, text, chunk=5)
    rows = [bytes(r).rstrip(b"\0") for r in cells[: pos[0] + 1]]
    assert b" ".join(rows) == text  # nothing lost or reordered, one space per break
    for r, nxt in zip(rows, rows[1:]):
        assert len(r) <= COLS and not r.endswith(b" ") and not nxt.startswith(b" ")
        assert len(r) + 1 + len(nxt.split(b" ")[0]) > COLS  # the next word did not fit
    # wrapping at the bottom scrolls: the screen shows the text's last whole words
    many = b" ".join(b"v%03d" % i + b"y" * (i % 9) for i in range(700))
    cells, pos, _ = render(driver, tmp_path, many, chunk=7)
    rows = [bytes(r).rstrip(b"\0") for r in cells]
    assert pos[0] == ROWS - 1 and many.endswith(b" " + b" ".join(rows))
    # a row-wide word is cut; a space landing exactly at the break is dropped
    cells, pos, _ = render(driver, tmp_path, b"z" * (COLS + 3) + b" " + b"q" * (COLS - 5) + b" ab")
    assert bytes(cells[0]) == b"z" * COLS
    assert bytes(cells[1]).rstrip(b"\0") == b"zzz " + b"q" * (COLS - 5)
    assert bytes(cells[2]).rstrip(b"\0") == b"ab" and pos == (2, 2)
    cells, pos, _ = render(driver, tmp_path, b"a" * COLS + b" b")
    assert bytes(cells[1]).rstrip(b"\0") == b"b" and pos == (1, 1)


def test_console_scrolls(driver, font, tmp_path):
    n = 40
    text = b"".join(b"line %d\n" % i for i in range(n))
    cells, pos, fb = render(driver, tmp_path, text)
    assert pos == (ROWS - 1, 0)
    first = n - (ROWS - 1)
    for r in range(ROWS - 1):
        want = b"line %d" % (r + first)
        assert bytes(cells[r, : len(want)]) == want and not cells[r, len(want):].any()
    assert not cells[ROWS - 1].any()
    # pixels follow the cells: the 'l' of row 0 and the '3' of "line 39"
    assert np.array_equal(cell_pixels(fb, 0, 0), glyph_pixels(font, ord("l")))
    assert np.array_equal(cell_pixels(fb, ROWS - 2, 5), glyph_pixels(font, ord("3")))
    assert np.all(fb[Y0 + (ROWS - 1) * GH:, :] == BG)  # the empty last row and the margin
    assert np.all(fb[:Y0, :] == BG) and np.all(fb[:, :X0] == BG) and np.all(fb[:, W - X0:] == BG)


# UTF-8: one cell per character; punctuation and Latin-1 letters fold to ASCII,
# other characters show the replacement glyph (stored as their lead byte), and
# malformed bytes show one replacement glyph each.
UTF8_CASES = [
    ("caf\u00e9 na\u00efve \u00c6", b"cafe naive AE"),
    ("\u201cq\u201d \u2018s\u2019 a\u2014b \u2026 \u2022\u00a0x", b'"q" \'s\' a-b ... * x'),
    ("\u4e2d\u6587 \U0001F600!", b"\xe4\xe6 \xf0!"),
]


@pytest.mark.parametrize("text,want", UTF8_CASES)
@pytest.mark.parametrize("chunk", [0, 1, 2])
def test_console_utf8(driver, font, tmp_path, text, want, chunk):
    cells, pos, fb = render(driver, tmp_path, text.encode("utf-8"), chunk)
    assert bytes(cells[0, : len(want)]) == want and pos == (0, len(want))
    for i, ch in enumerate(want):
        assert np.array_equal(cell_pixels(fb, 0, i), glyph_pixels(font, ch)), (text, i)


def test_console_utf8_malformed(driver, tmp_path):
    # stray continuation, truncated sequence before ASCII, overlong C0 80 (C0 is never a
    # lead byte: two cells), overlong E0 80 80, a surrogate (ED A0 80), F5 (never valid)
    raw = b"a\x80b\xe2\x80c\xc0\x80d\xe0\x80\x80e\xed\xa0\x80f\xf5g"
    cells, pos, _ = render(driver, tmp_path, raw)
    want = b"a\x80b\xe2c\xc0\x80d\xe0e\xedf\xf5g"
    assert bytes(cells[0, : len(want)]) == want and pos == (0, len(want))


def test_gs_privileged_register_encoders(driver):
    """The 640x448 NTSC interlaced frame-mode values of REFERENCE.md §6
    (ps2sdk graph_mode.c NTSC table: DX 652, DY 26, DW 2560, MAGH 4) and
    fields that land in the upper 32 bits (what a split 32-bit store lost)."""
    out = ask(driver, ["gs_pmode 1 0 1 0 0 255", "gs_dispfb 0 10 0 0 0",
                       "gs_display 652 26 3 0 2559 447", "gs_dispfb 5 10 2 1023 2047",
                       "gs_pmode 0 1 0 1 1 128"])
    v = [int(x, 16) for x in out]
    assert v[0] == 0xFF25
    assert v[1] == 0x1400
    assert v[2] == 0x001BF9FF_0181A28C
    assert v[3] == 5 | (10 << 9) | (2 << 15) | (1023 << 32) | (2047 << 43)
    assert v[4] == 2 | (1 << 2) | (1 << 6) | (1 << 7) | (0x80 << 8)


def test_clock_fold(driver):
    out = ask(driver, ["clock_fold 100 4294967000 200", "clock_fold 5 10 20",
                       "clock_fold 4294967296 0 0"])
    assert out[0] == f"{100 + 200 + 2**32 - 4294967000} 200"
    assert out[1] == "15 20" and out[2] == "4294967296 0"


# ---------------------------------------------------------------- libc

def _hex(b: bytes) -> str:
    return b.hex() if b else "-"


def test_mem_functions(driver):
    rng = np.random.default_rng(1)
    lines, want = [], []
    for _ in range(300):
        buf = bytes(rng.integers(0, 256, int(rng.integers(1, 200)), dtype=np.uint8))
        n = len(buf)
        d, s = (int(x) for x in rng.integers(0, n, 2))
        k = int(rng.integers(0, n - max(d, s) + 1))
        b = bytearray(buf)
        b[d:d + k] = buf[s:s + k]
        lines.append(f"memmove {_hex(buf)} {d} {s} {k}")
        want.append(bytes(b).hex())
        if abs(d - s) >= k:
            lines.append(f"memcpy {_hex(buf)} {d} {s} {k}")
            want.append(bytes(b).hex())
        c = int(rng.integers(0, 256))
        b = bytearray(buf)
        b[d:d + k] = bytes([c]) * k
        lines.append(f"memset {_hex(buf)} {d} {c} {k}")
        want.append(bytes(b).hex())
        other = bytearray(buf)
        if rng.random() < 0.7:
            other[int(rng.integers(0, n))] = int(rng.integers(0, 256))
        lines.append(f"memcmp {_hex(buf)} {_hex(bytes(other))}")
        want.append(str((buf > bytes(other)) - (buf < bytes(other))))
    assert ask(driver, lines) == want


def test_str_functions(driver):
    rng = np.random.default_rng(2)
    alphabet = b"abcz\x7f\x80\xff"
    lines, want = [], []
    for _ in range(400):
        a = bytes(int(v) for v in rng.choice(list(alphabet), int(rng.integers(0, 12))))
        tail = bytes(int(v) for v in rng.choice(list(alphabet), int(rng.integers(0, 3))))
        b = a[: int(rng.integers(0, len(a) + 1))] + tail
        n = int(rng.integers(0, 14))
        c = int(rng.choice(list(alphabet)))
        lines += [f"strlen {_hex(a)}", f"strcmp {_hex(a)} {_hex(b)}",
                  f"strncmp {_hex(a)} {_hex(b)} {n}", f"strchr {_hex(a)} {c}",
                  f"strrchr {_hex(a)} {c}", f"strchr {_hex(a)} 0"]
        want += [str(len(a)), str((a > b) - (a < b)), str((a[:n] > b[:n]) - (a[:n] < b[:n])),
                 str(a.find(bytes([c]))), str(a.rfind(bytes([c]))), str(len(a))]
    assert ask(driver, lines) == want


@pytest.mark.parametrize("fmt,typ,val,py", [
    ("%d", "i", "-42", "%d"), ("%5d", "i", "42", "%5d"), ("%-5d|", "i", "42", "%-5d|"),
    ("%05d", "i", "-42", "%05d"), ("%u", "u", "4294967295", "%d"), ("%x", "u", "3735928559", "%x"),
    ("%08X", "u", "48879", "%08X"), ("%lld", "ll", "-9223372036854775807", "%d"),
    ("%llu", "ull", "18446744073709551615", "%d"), ("%llx", "ull", "1311768467463790320", "%x"),
    ("%s", "s", "hello", "%s"), ("[%8s]", "s", "hi", "[%8s]"), ("[%-8s]", "s", "hi", "[%-8s]"),
    ("%.3s", "s", "abcdef", "%.3s"), ("%c", "c", "65", "%c"), ("100%%", "i", "0", "100%%"),
    ("%zu", "u", "123", "%d"), ("%i", "i", "0", "%d"),
])
def test_snprintf(driver, fmt, typ, val, py):
    got = ask(driver, [f"fmt {typ} {fmt} {val}"])[0]
    v = val if typ == "s" else int(val)
    expect = py % v if "%" in py.replace("%%", "") else py % ()
    assert got == f"{len(expect)} [{expect}]"


def test_snprintf_truncates(driver):
    out = ask(driver, ["trunc 4", "trunc 0"])
    assert out[0] == "10 " + b"abc\0ZZZZ".hex()
    assert out[1] == "10 " + b"ZZZZZZZZ".hex()


def test_libgcc_division_and_clz(driver):
    rng = np.random.default_rng(3)
    lines, want = [], []
    vals = [0, 1, 2, 3, 7, 10, 2**31, 2**32 - 1, 2**32, 2**63, 2**64 - 1]
    vals += [int(x) for x in rng.integers(0, 2**63, 40, dtype=np.int64)]
    vals += [int(x) >> int(s) for x, s in zip(rng.integers(0, 2**63, 40, dtype=np.int64),
                                              rng.integers(0, 60, 40))]
    for a in vals:
        for b in vals[1::3]:
            if b == 0:
                continue
            lines.append(f"udiv {a} {b}")
            want.append(f"{a // b} {a % b}")
            sa, sb = a - 2**63 if a >= 2**63 else a, -b if b < 2**63 else b - 2**64
            if sb != 0 and not (sa == -2**63 and sb == -1):
                q = abs(sa) // abs(sb) * (1 if (sa < 0) == (sb < 0) else -1)
                lines.append(f"sdiv {sa} {sb}")
                want.append(f"{q} {sa - q * sb}")
    for x in [0, 1, 2, 0x80000000, 0xFFFFFFFF, 0x00010000, 0x00FF0000, 12345]:
        lines.append(f"clz {x}")
        want.append(str(32 - x.bit_length()))
    assert ask(driver, lines) == want


def test_libgcc_u64_float_conversions(driver):
    rng = np.random.default_rng(4)
    vals = [0, 1, 255, 2**24 + 1, 2**32 - 1, 2**32, 2**40 + 12345, 2**63, 2**64 - 1]
    vals += [int(x) for x in rng.integers(0, 2**63, 200, dtype=np.int64)]
    out = ask(driver, [f"u64tof {v}" for v in vals])
    for v, line in zip(vals, out):
        bits, back = line.split()
        f = struct.unpack("<f", bytes.fromhex(bits)[::-1])[0]
        ref = np.float32(v)
        assert abs(f - float(v)) <= float(np.spacing(ref)), (v, f)
        if v < 2**64 - 2**40:
            assert abs(int(back) - f) <= 1, (v, f, back)


# ---------------------------------------------------------------- cross build

EXPECTED_SYSCALLS = {  # REFERENCE.md §2, ps2sdk syscallnr.h
    "ResetEE": 0x01, "SetGsCrt": 0x02, "Exit": 0x04, "LoadExecPS2": 0x06, "ExecPS2": 0x07,
    "AddIntcHandler": 0x10, "RemoveIntcHandler": 0x11, "AddDmacHandler": 0x12,
    "RemoveDmacHandler": 0x13, "_EnableIntc": 0x14, "_DisableIntc": 0x15, "_EnableDmac": 0x16,
    "_DisableDmac": 0x17, "SetupThread": 0x3C, "SetupHeap": 0x3D, "EndOfHeap": 0x3E,
    "FlushCache": 0x64, "GsPutIMR": 0x71, "SifDmaStat": 0x76, "iSifDmaStat": -0x76,
    "SifSetDma": 0x77, "iSifSetDma": -0x77, "SifSetDChain": 0x78, "iSifSetDChain": -0x78,
    "SifSetReg": 0x79, "SifGetReg": 0x7A, "Deci2Call": 0x7C, "GetMemorySize": 0x7F,
}


def test_syscall_numbers_header():
    text = (SDK / "kernel" / "syscallnr.h").read_text()
    found = {m[0]: int(m[1].replace("(", "").replace(")", ""), 16) if "-" not in m[1]
             else -int(m[1].strip("()-"), 16)
             for m in re.findall(r"#define NR_(\w+)\s+(\(?-?0x[0-9A-Fa-f]+\)?)", text)}
    assert found == EXPECTED_SYSCALLS
    stubs = re.findall(r"^SYSCALL\((\w+)\)", (SDK / "kernel" / "syscalls.S").read_text(), re.M)
    assert sorted(stubs) == sorted(EXPECTED_SYSCALLS)


def _ee_cc():
    cc = ee_gcc.find_compiler()
    if cc is None:
        pytest.skip("no EE cross compiler (mipsel-linux-gnu-gcc)")
    return cc


@pytest.fixture(scope="session")
def hello_elf(tmp_path_factory, font_header) -> Path:
    """Cross-compile the SDK + tests/c/sdk_hello_ps2.c exactly as site_scons/ee_gcc.py does."""
    cc = _ee_cc()
    out = tmp_path_factory.mktemp("ee")
    flags = (ee_gcc.compiler_flags(cc) + ee_gcc.C_FLAGS + ["-Werror", "-nostdinc", "-isystem",
             ee_gcc.compiler_include_dir(cc)])
    incs = [f"-I{ROOT / p}" for p in ee_gcc.SDK_INCLUDES] + [f"-I{font_header}"]
    objs = []
    for src in ee_gcc.SDK_SOURCES + ["tests/c/sdk_hello_ps2.c"]:
        obj = out / (Path(src).name + ".o")
        lang = ["-x", "assembler-with-cpp"] if src.endswith(".S") else []
        _run([cc, *flags, *incs, *lang, "-c", ROOT / src, "-o", obj])
        objs.append(obj)
    elf = out / "hello.elf"
    _run([cc, *ee_gcc.compiler_flags(cc), *ee_gcc.LINK_FLAGS, "-T", ROOT / ee_gcc.LINKER_SCRIPT,
          *objs, "-o", elf])
    return elf


def test_hello_elf_layout(hello_elf):
    from elftools.elf.elffile import ELFFile

    with open(hello_elf, "rb") as f:
        elf = ELFFile(f)
        assert elf.elfclass == 32 and elf.little_endian
        assert elf["e_type"] == "ET_EXEC" and elf["e_machine"] == "EM_MIPS"
        assert elf["e_flags"] & 0x00FF0000 == 0x00920000  # EF_MIPS_MACH_5900
        assert elf["e_flags"] & 0x1 == 0x1 and not elf["e_flags"] & 0x6  # noreorder, no PIC/CPIC
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        assert len(loads) == 1 and elf.num_segments() == 1
        seg = loads[0]
        assert seg["p_vaddr"] == 0x00100000 and seg["p_filesz"] > 0
        assert seg["p_memsz"] >= seg["p_filesz"]
        syms = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()}
        assert elf["e_entry"] == syms["_start"] == 0x00100000
        for name in (".MIPS.abiflags", ".reginfo", ".pdr", ".note.gnu.build-id"):
            assert elf.get_section_by_name(name) is None, name
        assert syms["_bss_start"] % 16 == 0 and syms["_bss_end"] % 16 == 0
        assert syms["_end"] <= 0x00100000 + seg["p_memsz"]
        assert syms["_stack_end"] - syms["_stack"] == 256 * 1024
        text = elf.get_section_by_name(".text")
        code = text.data()
        base = text["sh_addr"]
    # _start: the bss clear loop, then SetupThread (0x3C), SetupHeap, FlushCache
    first = struct.unpack_from("<64I", code, syms["_start"] - base)
    li_v1 = [w & 0xFFFF for w in first if w >> 16 == 0x2403]
    assert li_v1[:3] == [0x3C, 0x3D, 0x64]
    assert 0x42000038 in first  # ei
    print(f"hello.elf: {hello_elf.stat().st_size} bytes, load {seg['p_filesz']:#x}/"
          f"{seg['p_memsz']:#x}")


def test_hello_elf_has_no_mmi_clashing_instructions(hello_elf):
    """No mips32 clz/clo/mul or ll/sc: on the R5900 those encodings are MMI ops."""
    from elftools.elf.elffile import ELFFile

    with open(hello_elf, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text").data()
    for (w,) in struct.iter_unpack("<I", text):
        op, funct = w >> 26, w & 0x3F
        assert not (op == 0x1C and funct in (0x02, 0x20, 0x21)), f"SPECIAL2 mul/clz/clo {w:#010x}"
        assert op not in (0x30, 0x38), f"ll/sc {w:#010x}"


def test_gs_registers_written_with_sd(hello_elf):
    """The GS privileged registers take one 64-bit `sd` (ee_kernel.h ee_write64).
    With -mabi=32 a uint64_t store is two `sw`, and GAS expands an `sd` outside
    `.set gp=64` into `sw rt; sw rt+1`, which put the low word in both halves."""
    from elftools.elf.elffile import ELFFile

    with open(hello_elf, "rb") as f:
        elf = ELFFile(f)
        text = elf.get_section_by_name(".text")
        sym = elf.get_section_by_name(".symtab").get_symbol_by_name("gs_video_init")[0]
        off = sym["st_value"] - text["sh_addr"]
        words = [w for (w,) in struct.iter_unpack("<I", text.data()[off:off + sym["st_size"]])]
    sd = [w for w in words if w >> 26 == 0x3F]
    dsll32 = [w for w in words if w >> 26 == 0 and w & 0x3F == 0x3C]
    # CSR (reset, clear), DISPFB1, DISPLAY1, PMODE; BGCOLOR if gs_set_bgcolor is inlined
    assert len(sd) >= 5 and len(dsll32) >= len(sd), [f"{w:#010x}" for w in words]


def _sqrt_s_words(obj: Path) -> list[int]:
    from elftools.elf.elffile import ELFFile

    with open(obj, "rb") as f:
        elf = ELFFile(f)
        code = b"".join(s.data() for s in elf.iter_sections()
                        if s["sh_type"] == "SHT_PROGBITS" and s["sh_flags"] & 4)
    return [w for (w,) in struct.iter_unpack("<I", code) if w & 0xFFE0003F == 0x46000004]


def test_sqrt_uses_the_ee_operand_field(tmp_path):
    """The EE's SQRT.S reads ft; GAS puts the operand in fs (sdk/include/ee_fpu.h).
    mathf_sqrt (the runtime's rmsnorm) must set both fields."""
    cc = _ee_cc()
    src = tmp_path / "s.c"
    src.write_text('#include "mathf.h"\n'
                   "float a(float x) { return mathf_sqrt(x); }\n"
                   "float b(float x) { return 1.0f / mathf_sqrt(x * 0.5f + 1e-5f); }\n")
    flags = ee_gcc.compiler_flags(cc) + ee_gcc.C_FLAGS + ["-Werror", "-nostdinc", "-isystem",
                                                          ee_gcc.compiler_include_dir(cc)]
    incs = [f"-I{ROOT / p}" for p in ee_gcc.SDK_INCLUDES] + [f"-I{ROOT / 'ee_runtime_c'}"]
    _run([cc, *flags, *incs, "-c", src, "-o", tmp_path / "s.o"])
    words = _sqrt_s_words(tmp_path / "s.o")
    assert len(words) >= 2
    for w in words:
        assert (w >> 16) & 31 == (w >> 11) & 31, f"sqrt.s {w:#010x}: ft != fs"


def test_syscall_stubs_disassemble(hello_elf, tmp_path):
    cc = _ee_cc()
    obj = tmp_path / "syscalls.o"
    _run([cc, *ee_gcc.compiler_flags(cc), "-x", "assembler-with-cpp", "-c",
          SDK / "kernel" / "syscalls.S", "-o", obj])
    from elftools.elf.elffile import ELFFile

    with open(obj, "rb") as f:
        elf = ELFFile(f)
        for name, nr in EXPECTED_SYSCALLS.items():
            sec = elf.get_section_by_name(f".text.{name}")
            assert sec is not None, name
            w = struct.unpack("<4I", sec.data()[:16])
            assert w == (0x24030000 | (nr & 0xFFFF), 0x0000000C, 0x03E00008, 0), name


def test_double_arithmetic_fails_to_link(tmp_path, font_header):
    """No double helpers are provided: a stray double is a link error, not slow code."""
    cc = _ee_cc()
    src = tmp_path / "d.c"
    src.write_text("double g; int main(void){ g = g * 3.0 + 1.0; return (int)g; }\n")
    flags = ee_gcc.compiler_flags(cc) + ee_gcc.C_FLAGS + ["-nostdinc", "-isystem",
                                                          ee_gcc.compiler_include_dir(cc)]
    r = subprocess.run([cc, *flags, *ee_gcc.LINK_FLAGS, "-T", ROOT / ee_gcc.LINKER_SCRIPT,
                        ROOT / "sdk/startup/crt0.S", src, ROOT / "sdk/libc/libgcc.c",
                        "-o", tmp_path / "d.elf"], capture_output=True, text=True)
    assert r.returncode != 0 and "__" in r.stderr and "df" in r.stderr
