"""EE code for the emulation tests (test_mmi, test_vu0, test_exp_vu0,
test_quantize_vu0, test_rmsnorm_rope_vu0): compiled by the EE compiler with the PS2
build's flags, linked at TEXT, and run under unicorn with the R5900-only instructions
modelled in tests/r5900_emu.py. Importing it needs unicorn and pyelftools; EE_CC is
None where no EE compiler is installed (the tests skip then)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "site_scons"))

from elftools.elf.constants import SH_FLAGS  # noqa: E402
from elftools.elf.elffile import ELFFile  # noqa: E402
from unicorn import UC_HOOK_BLOCK  # noqa: E402

from codegen.kernels import render_all  # noqa: E402
from ps2llm_build import INCLUDE_DIRS  # noqa: E402
from r5900_emu import R5900  # noqa: E402
from site_tools import ee_gcc  # noqa: E402

EE_CC = ee_gcc.find_compiler()
TEXT = 0x00100000           # where link_kernels places .text
STACK = 0x02F0000


def ee_compile(src: Path, obj: Path, include: Path | None = None) -> Path:
    """One C file compiled as the PS2 build compiles the runtime (-Werror)."""
    subprocess.run([EE_CC, *ee_gcc.compiler_flags(EE_CC), *ee_gcc.C_FLAGS, "-Werror",
                    *([f"-I{include}"] if include else []), *[f"-I{ROOT / d}" for d in INCLUDE_DIRS],
                    "-c", str(src), "-o", str(obj)], check=True)
    return obj


def compile_kernels(spec, out: Path) -> Path:
    """kernels.gen.c (and its headers) for spec, written to out and compiled."""
    for name, text in render_all(spec).items():
        (out / name).write_text(text)
    return ee_compile(out / "kernels.gen.c", out / "kernels.o", out)


def link_kernels(obj: Path, *more: Path) -> Path:
    """The objects linked at TEXT with byte-loop memcpy and memset (the f32 scales'
    loads and a zero vector's quantizer call them: -ffreestanding), so that a kernel's
    calls reach their callees; other symbols the runtime would give are left
    unresolved and must not be called."""
    elf, stubs = obj.with_suffix(".elf"), obj.parent / "stubs.c"
    stubs.write_text("void *memcpy(void *d, const void *s, unsigned n)\n"
                     "{ char *o = d; const char *i = s; while (n--) *o++ = *i++; return d; }\n"
                     "void *memset(void *d, int c, unsigned n)\n"
                     "{ char *o = d; while (n--) *o++ = (char)c; return d; }\n")
    subprocess.run([EE_CC, *ee_gcc.compiler_flags(EE_CC), *ee_gcc.C_FLAGS, "-static", f"-Wl,-Ttext={TEXT:#x}",
                    "-Wl,--unresolved-symbols=ignore-all", "-Wl,--build-id=none", "-Wl,-e,0",
                    *map(str, (obj, *more)), str(stubs), "-o", str(elf)], check=True)
    return elf


def function_symbols(elf: Path) -> dict[str, tuple[int, int]]:
    """Every function of a linked ELF: name -> (address, size)."""
    with open(elf, "rb") as f:
        return {s.name: (s["st_value"], s["st_size"])
                for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()
                if s["st_info"]["type"] == "STT_FUNC"}


class Image:
    """A linked ELF under unicorn: its .text, or only the code of `functions` (the rest
    left as zeros, so that other kernels' R5900 words need no model), and every other
    allocated section at its address. `steps` counts the instructions of the last run."""

    def __init__(self, elf: Path, functions: tuple[str, ...] | None = None):
        self.syms = function_symbols(elf)
        with open(elf, "rb") as f:
            e = ELFFile(f)
            text = e.get_section_by_name(".text")
            assert text["sh_addr"] == TEXT
            code = text.data()
            if functions is not None:
                kept = bytearray(len(code))
                for name in functions:
                    addr, size = self.syms[name]
                    kept[addr - TEXT:addr - TEXT + size] = code[addr - TEXT:addr - TEXT + size]
                code = bytes(kept)
            self.emu = R5900(code, TEXT)
            for sec in e.iter_sections():
                if sec["sh_flags"] & SH_FLAGS.SHF_ALLOC and sec.name != ".text" and sec["sh_size"]:
                    assert not TEXT <= sec["sh_addr"] < TEXT + text["sh_size"]
                    data = bytes(sec["sh_size"]) if sec["sh_type"] == "SHT_NOBITS" else sec.data()
                    self.emu.uc.mem_write(sec["sh_addr"], data)
        self.steps = 0
        self.emu.uc.hook_add(UC_HOOK_BLOCK, self._count)

    def _count(self, uc, address, size, user_data):
        self.steps += size // 4

    def call(self, symbol: str, args: list[int], stack_args: list[int] = ()) -> None:
        """symbol(args...), counting its instructions and R5900 words afresh."""
        self.emu.executed.clear()
        self.steps = 0
        self.emu.call(self.syms[symbol][0], args, STACK, stack_args)

    def run(self, symbol: str, arrays: list[tuple[int, np.ndarray]], args: list[int],
            out: tuple[int, int]) -> tuple[np.ndarray, int]:
        """symbol(args) with the f32 arrays written first; (the floats at out, instructions run)."""
        for addr, a in arrays:
            self.emu.uc.mem_write(addr, np.ascontiguousarray(a, "<f4").tobytes())
        self.call(symbol, args)
        addr, n = out
        return np.frombuffer(bytes(self.emu.uc.mem_read(addr, 4 * n)), "<f4").copy(), self.steps


def bits(a) -> np.ndarray:
    return np.asarray(a, np.float32).view(np.uint32)


def assert_bits_equal(got, want, what: str):
    np.testing.assert_array_equal(bits(got), bits(want), err_msg=what)
