"""Run one compiled R5900 function under unicorn (MIPS32 little-endian), with the
few R5900-only instructions it uses modelled here from their documented semantics
(docs/KERNELS.md cites the sources). Unicorn's GPRs are 32 bits: this module keeps
the 128-bit registers and the 128-bit HI/LO that the MMI instructions use.

How: every R5900-only word of the function is replaced by a nop in the emulator's
memory, and a code hook at its address performs it. A word is R5900-only if its
major opcode is MMI (0x1C), LQ (0x1E) or SQ (0x1F), or it is the three-operand
MULT/MULTU (rd != 0); any such word that is not modelled here fails the run, so a
compiler change cannot slip an unverified instruction past the tests.

A 128-bit value lives in `wide[r]` with the low 32 bits unicorn held when it was
written; an MMI instruction that reads r as 128 bits while unicorn's low word no
longer matches (an ordinary instruction wrote r since) raises, because what the
R5900 would hold in bits 32..127 then is beyond this model."""
from __future__ import annotations

import struct

from unicorn import UC_ARCH_MIPS, UC_HOOK_CODE, UC_MODE_LITTLE_ENDIAN, UC_MODE_MIPS32, Uc
from unicorn import mips_const as mc

M32, M128 = (1 << 32) - 1, (1 << 128) - 1
GPR = [getattr(mc, f"UC_MIPS_REG_{i}") for i in range(32)]
NOP = 0


def lanes(v: int, bits: int) -> list[int]:
    """Unsigned lanes of a 128-bit value, lane 0 lowest."""
    m = (1 << bits) - 1
    return [(v >> (i * bits)) & m for i in range(128 // bits)]


def signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) else v


def pack(vals: list[int], bits: int) -> int:
    m = (1 << bits) - 1
    return sum((x & m) << (i * bits) for i, x in enumerate(vals))


class R5900Error(AssertionError):
    pass


def decode(word: int) -> str | None:
    """The R5900-only instruction a word is, or None for an ordinary MIPS32 word."""
    op, funct, sa = word >> 26, word & 0x3F, (word >> 6) & 0x1F
    rd = (word >> 11) & 0x1F
    if op == 0x1E:
        return "lq"
    if op == 0x1F:
        return "sq"
    if op == 0 and funct in (0x18, 0x19) and rd:
        return "mult3" if funct == 0x18 else "multu3"
    if op != 0x1C:
        return None
    table = {
        (0x08, 0x00): "paddw", (0x08, 0x1A): "pextlb",
        (0x28, 0x1A): "pextub",
        (0x09, 0x08): "pmfhi", (0x09, 0x09): "pmflo", (0x09, 0x10): "pmaddh", (0x09, 0x1F): "prot3w",
        (0x29, 0x08): "pmthi", (0x29, 0x09): "pmtlo", (0x29, 0x0E): "pcpyud",
    }
    if funct == 0x37:
        return "psrah"
    return table.get((funct, sa), f"mmi?{funct:#x}/{sa:#x}")


class R5900:
    def __init__(self, code: bytes, code_addr: int = 0x00100000, mem_size: int = 64 << 20):
        self.uc = Uc(UC_ARCH_MIPS, UC_MODE_MIPS32 + UC_MODE_LITTLE_ENDIAN)
        self.code_addr = code_addr
        self.uc.mem_map(0, mem_size)
        self.wide: dict[int, tuple[int, int]] = {}
        self.hi = self.lo = 0
        self.executed: dict[str, int] = {}
        words = list(struct.unpack(f"<{len(code) // 4}I", code))
        self.special: dict[int, tuple[str, int]] = {}
        for i, w in enumerate(words):
            name = decode(w)
            if name is None:
                continue
            if "?" in name:
                raise R5900Error(f"unmodelled R5900 instruction {w:#010x} at +{4 * i:#x}")
            prev = words[i - 1] if i else 0
            if _is_branch(prev):
                raise R5900Error(f"R5900 instruction {name} in a delay slot at +{4 * i:#x}")
            self.special[code_addr + 4 * i] = (name, w)
            words[i] = NOP
        self.uc.mem_write(code_addr, struct.pack(f"<{len(words)}I", *words))
        for addr in self.special:
            self.uc.hook_add(UC_HOOK_CODE, self._hook, begin=addr, end=addr)

    # -------------------------------------------------------------- registers
    def get(self, r: int) -> int:
        """r as the 128-bit operand of an MMI instruction."""
        if r == 0:
            return 0
        low = self.uc.reg_read(GPR[r]) & M32
        if r in self.wide:
            stamp, value = self.wide[r]
            if stamp == low:
                return value
        raise R5900Error(f"MMI reads ${r} as 128 bits, but an ordinary instruction wrote it last")

    def get32(self, r: int) -> int:
        return self.uc.reg_read(GPR[r]) & M32 if r else 0

    def set(self, r: int, value: int) -> None:
        if r == 0:
            return
        value &= M128
        self.uc.reg_write(GPR[r], value & M32)
        self.wide[r] = (value & M32, value)

    # -------------------------------------------------------------- instructions
    def _hook(self, uc, address, size, user_data):
        name, w = self.special[address]
        self.executed[name] = self.executed.get(name, 0) + 1
        rs, rt, rd, sa = (w >> 21) & 31, (w >> 16) & 31, (w >> 11) & 31, (w >> 6) & 31
        if name in ("lq", "sq"):
            addr = (self.get32(rs) + signed(w & 0xFFFF, 16)) & M32 & ~15   # lq/sq ignore the low 4 bits
            if name == "lq":
                self.set(rt, int.from_bytes(uc.mem_read(addr, 16), "little"))
            else:
                uc.mem_write(addr, self.get(rt).to_bytes(16, "little"))
        elif name in ("mult3", "multu3"):
            a, b = self.get32(rs), self.get32(rt)
            p = signed(a, 32) * signed(b, 32) if name == "mult3" else a * b
            lo, hi = p & M32, (p >> 32) & M32
            uc.reg_write(mc.UC_MIPS_REG_LO, lo)
            uc.reg_write(mc.UC_MIPS_REG_HI, hi)
            sext = lambda v: signed(v, 32) & ((1 << 64) - 1)   # noqa: E731
            self.lo = (self.lo >> 64 << 64) | sext(lo)
            self.hi = (self.hi >> 64 << 64) | sext(hi)
            if rd:
                uc.reg_write(GPR[rd], lo)
                self.wide.pop(rd, None)
        elif name == "paddw":
            self.set(rd, pack([a + b for a, b in zip(lanes(self.get(rs), 32), lanes(self.get(rt), 32))], 32))
        elif name in ("pextlb", "pextub"):
            off = 0 if name == "pextlb" else 8
            s, t = lanes(self.get(rs), 8), lanes(self.get(rt), 8)
            self.set(rd, pack([x for i in range(8) for x in (t[off + i], s[off + i])], 8))
        elif name == "psrah":
            self.set(rd, pack([signed(h, 16) >> (sa & 15) for h in lanes(self.get(rt), 16)], 16))
        elif name == "pmaddh":
            s = [signed(h, 16) for h in lanes(self.get(rs), 16)]
            t = [signed(h, 16) for h in lanes(self.get(rt), 16)]
            lo, hi = lanes(self.lo, 32), lanes(self.hi, 32)
            # products 0,1 -> LO words 0,1; 2,3 -> HI 0,1; 4,5 -> LO 2,3; 6,7 -> HI 2,3
            for k, (dst, j) in enumerate([(lo, 0), (lo, 1), (hi, 0), (hi, 1),
                                          (lo, 2), (lo, 3), (hi, 2), (hi, 3)]):
                dst[j] = (dst[j] + s[k] * t[k]) & M32
            self.lo, self.hi = pack(lo, 32), pack(hi, 32)
            self.set(rd, pack([lo[0], hi[0], lo[2], hi[2]], 32))
        elif name == "pmfhi":
            self.set(rd, self.hi)
        elif name == "pmflo":
            self.set(rd, self.lo)
        elif name == "pmthi":
            self.hi = self.get(rs)
        elif name == "pmtlo":
            self.lo = self.get(rs)
        elif name == "pcpyud":
            self.set(rd, (self.get(rs) >> 64) | ((self.get(rt) >> 64) << 64))
        elif name == "prot3w":
            t = lanes(self.get(rt), 32)
            self.set(rd, pack([t[1], t[2], t[0], t[3]], 32))
        else:  # pragma: no cover - decode() and this table list the same names
            raise R5900Error(name)

    # -------------------------------------------------------------- calls
    def call(self, entry: int, args: list[int], sp: int, stack_args: list[int] = ()) -> None:
        """Call entry(args...) per o32: four words in a0-a3, the rest at sp+16."""
        ret = 0x1000
        for i, a in enumerate(args):
            self.uc.reg_write(GPR[4 + i], a & M32)
        for i, a in enumerate(stack_args):
            self.uc.mem_write(sp + 16 + 4 * i, struct.pack("<I", a & M32))
        self.uc.reg_write(mc.UC_MIPS_REG_SP, sp)
        self.uc.reg_write(mc.UC_MIPS_REG_RA, ret)
        self.uc.emu_start(entry, ret)


def _is_branch(w: int) -> bool:
    op = w >> 26
    if op == 0:
        return (w & 0x3F) in (0x08, 0x09)                # jr, jalr
    if op == 0x01:
        return True                                      # bltz, bgez, ...
    if op == 0x11:
        return (w >> 21) & 0x1F == 0x08                  # bc1f/bc1t
    return op in (0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x14, 0x15, 0x16, 0x17)
