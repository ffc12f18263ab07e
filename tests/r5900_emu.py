"""Run one compiled R5900 function under unicorn (MIPS32 little-endian), with the
few R5900-only instructions it uses modelled here from their documented semantics
(docs/KERNELS.md cites the sources). Unicorn's GPRs are 32 bits: this module keeps
the 128-bit registers and the 128-bit HI/LO that the MMI instructions use.

How: every R5900-only word of the function is replaced by a nop in the emulator's
memory, and a code hook at its address performs it. A word is R5900-only if its
major opcode is MMI (0x1C), LQ (0x1E), SQ (0x1F), COP2 (0x12), LQC2 (0x36) or SQC2
(0x3E), or it is the three-operand MULT/MULTU (rd != 0), or CVT.W.S (the R5900's truncates);
any such word that is not modelled here fails the run, so a
compiler change cannot slip an unverified instruction past the tests.

VU0 macro mode (COP2, docs/KERNELS.md): lqc2/sqc2, qmfc2/qmtc2 and the
add/sub/mul/madd family (full, broadcast and ACC forms) on 32 VF registers of four
f32 lanes and ACC, kept here. Lanes are computed as IEEE f32 (numpy float32, round
to nearest), a product rounded before it is added (PCSX2 pcsx2/VUops.cpp _vuMADDA),
which is what C computes with -ffp-contract=off; the VU itself rounds differently and
has no denormals, inf or NaN, so an operand or result that is not a normal number
or zero fails the run instead of being modelled. qmtc2 from a register an ordinary
instruction wrote last leaves lanes y, z, w unknown; reading an unknown lane fails.

A 128-bit value lives in `wide[r]` with the low 32 bits unicorn held when it was
written; an MMI instruction that reads r as 128 bits while unicorn's low word no
longer matches (an ordinary instruction wrote r since) raises, because what the
R5900 would hold in bits 32..127 then is beyond this model."""
from __future__ import annotations

import re
import struct

import numpy as np
from unicorn import UC_ARCH_MIPS, UC_HOOK_CODE, UC_MODE_LITTLE_ENDIAN, UC_MODE_MIPS32, Uc
from unicorn import mips_const as mc

M32, M128 = (1 << 32) - 1, (1 << 128) - 1
GPR = [getattr(mc, f"UC_MIPS_REG_{i}") for i in range(32)]
FPR = [getattr(mc, f"UC_MIPS_REG_F{i}") for i in range(32)]
NOP = 0
_VU_OP = re.compile(r"v(add|sub|mul|madd)(a?)([xyzw]?)")


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
    if op in (0x36, 0x3E):                               # LDC2/SDC2 of MIPS III
        return "lqc2" if op == 0x36 else "sqc2"
    if op == 0x12:
        return decode_cop2(word)
    if op == 0x11 and (word >> 21) & 0x1F == 0x10 and funct == 0x24:
        return "cvt.w.s"        # the R5900's truncates, whatever FCSR says (see _hook)
    if op == 0 and funct in (0x18, 0x19) and rd:
        return "mult3" if funct == 0x18 else "multu3"
    if op != 0x1C:
        return None
    table = {
        (0x08, 0x00): "paddw", (0x08, 0x05): "psubh", (0x08, 0x1A): "pextlb",
        (0x08, 0x16): "pextlh", (0x08, 0x12): "pextlw",
        (0x28, 0x1A): "pextub", (0x28, 0x16): "pextuh", (0x28, 0x12): "pextuw",
        (0x09, 0x08): "pmfhi", (0x09, 0x09): "pmflo", (0x09, 0x10): "pmaddh", (0x09, 0x1F): "prot3w",
        (0x29, 0x08): "pmthi", (0x29, 0x09): "pmtlo", (0x29, 0x0E): "pcpyud",
        (0x09, 0x12): "pand", (0x29, 0x12): "por", (0x28, 0x02): "pceqw",    # exp4.h
        (0x09, 0x13): "pxor", (0x08, 0x01): "psubw", (0x08, 0x17): "ppach",  # act_vu0.h
    }
    shifts = {0x34: "psllh", 0x36: "psrlh", 0x37: "psrah"}    # sa is the shift amount
    shifts[0x3C] = "psllw"                                     # exp4.h
    shifts[0x3F] = "psraw"                                     # act_vu0.h
    if funct in shifts:
        return shifts[funct]
    return table.get((funct, sa), f"mmi?{funct:#x}/{sa:#x}")


# VU0 macro instructions (COP2 with the CO bit): special1 by funct, special2 (funct
# 0x3C-0x3F) by ((word >> 6) & 31) << 2 | (word & 3), as PCSX2 pcsx2/VU0.cpp's tables
# and Play! Source/ee/COP_VU.cpp decode them. bc forms are named by their lane.
_VU_SPECIAL1 = {0x00: "vadd?", 0x04: "vsub?", 0x08: "vmadd?", 0x18: "vmul?",
                0x28: "vadd", 0x29: "vmadd", 0x2A: "vmul", 0x2C: "vsub"}
_VU_SPECIAL2 = {0x00: "vadda?", 0x04: "vsuba?", 0x08: "vmadda?", 0x18: "vmula?",
                0x28: "vadda", 0x29: "vmadda", 0x2A: "vmula", 0x2C: "vsuba"}
# exp4.h's VU0 exp (Play! Source/ee/COP_VU.cpp m_pOpVector, m_pOpVx0/Vx3 tables):
# MAXbc 0x10-0x13, MINIbc 0x14-0x17, MULq 0x1C, MAX 0x2B, MINI 0x2F; ITOF0 0x10,
# FTOI0 0x14, DIV 0x38, WAITQ 0x3B. Modelled in R5900._vu_exp.
_VU_SPECIAL1.update({0x10: "vmax?", 0x14: "vmini?", 0x1C: "vmulq", 0x2B: "vmax", 0x2F: "vmini"})
_VU_SPECIAL2.update({0x10: "vitof0", 0x14: "vftoi0", 0x38: "vdiv", 0x3B: "vwaitq"})
_VU_SPECIAL2[0x1D] = "vabs"          # act_vu0.h (Play! COP_VU.cpp m_pOpVx1: ABS 0x1D)
_VU_EXP = re.compile(r"v(max|mini)([xyzw]?)|vmulq|vitof0|vftoi0|vdiv|vwaitq|vabs")


def decode_cop2(word: int) -> str:
    if not (word >> 25) & 1:
        return {0x01: "qmfc2", 0x05: "qmtc2"}.get((word >> 21) & 0x1F, f"cop2?{word:#x}")
    funct = word & 0x3F
    table, index = (_VU_SPECIAL2, ((word >> 6) & 0x1F) << 2 | (word & 3)) if funct >= 0x3C \
        else (_VU_SPECIAL1, funct)
    if index < 0x20 and table.get(index & ~3, "").endswith("?"):
        return table[index & ~3][:-1] + "xyzw"[index & 3]
    return table.get(index) or f"vu0?{word:#x}"


def _f32(bits: int | None, what: str) -> np.float32:
    if bits is None:
        raise R5900Error(f"VU0 reads an unknown lane ({what})")
    v = np.uint32(bits).view(np.float32)
    if bits & 0x7F800000 == 0x7F800000 or (bits & 0x7F800000 == 0 and bits & 0x7FFFFF):
        raise R5900Error(f"VU0 operand {v} ({what}) is not a normal number or zero")
    return v


def _bits(v: np.float32, what: str) -> int:
    bits = int(np.float32(v).view(np.uint32))
    _f32(bits, what)
    return bits


class R5900:
    def __init__(self, code: bytes, code_addr: int = 0x00100000, mem_size: int = 64 << 20):
        self.uc = Uc(UC_ARCH_MIPS, UC_MODE_MIPS32 + UC_MODE_LITTLE_ENDIAN)
        self.code_addr = code_addr
        self.uc.mem_map(0, mem_size)
        self.wide: dict[int, tuple[int, int]] = {}
        self.hi = self.lo = 0
        self.vf: list[list[int | None]] = [[0, 0, 0, 0x3F800000]] + [[None] * 4 for _ in range(31)]
        self.acc: list[int | None] = [None] * 4
        self.fused_madd = False     # a deliberately wrong VU0 model, for the tests' self-check
        self.ignore_dest = False    # another: every lane written, whatever the dest field says
        self.ftoi_round = False     # another: vftoi0 rounding to nearest instead of truncating
        self.mul_toward_zero = False   # another: vmul products rounded toward zero, not to nearest
        self.q: int | None = None   # VU0's Q register (vdiv), and whether vwaitq has waited for it
        self.q_ready = False
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
        elif name in ("lqc2", "sqc2"):
            addr = (self.get32(rs) + signed(w & 0xFFFF, 16)) & M32
            if addr & 15:
                raise R5900Error(f"{name} at a misaligned address {addr:#x}")
            if name == "lqc2":
                if rt:
                    self.vf[rt] = list(struct.unpack("<4I", uc.mem_read(addr, 16)))
            else:
                if None in self.vf[rt]:
                    raise R5900Error(f"sqc2 of $vf{rt} with unknown lanes")
                uc.mem_write(addr, struct.pack("<4I", *self.vf[rt]))
        elif name == "qmfc2":
            if None in self.vf[rd]:
                raise R5900Error(f"qmfc2 of $vf{rd} with unknown lanes")
            self.set(rt, pack(self.vf[rd], 32))
        elif name == "qmtc2":
            low = self.get32(rt)
            wide = self.wide.get(rt)
            if rd:
                self.vf[rd] = lanes(wide[1], 32) if wide and wide[0] == low else [low, None, None, None]
        elif _VU_EXP.fullmatch(name):
            self._vu_exp(name, w)
        elif name.startswith("v"):
            self._vu(name, w)
        elif name == "cvt.w.s":
            # fd = (int32)fs rounded toward zero: the EE FPU has no other rounding
            # (Play! Source/COP_FPU.cpp CVT_W_S "PS2 only supports truncate rounding
            # mode"; PCSX2 pcsx2/FPU.cpp CVT_W), where unicorn's MIPS32 FPU would
            # round to nearest. GCC's (int)f on -march=r5900 is this instruction.
            fs, fd = (w >> 11) & 31, (w >> 6) & 31
            v = np.float64(np.uint32(uc.reg_read(FPR[fs]) & M32).view(np.float32))
            k = 0x7FFFFFFF if np.isnan(v) else int(min(max(np.trunc(v), -2**31), 2**31 - 1))
            uc.reg_write(FPR[fd], k & M32)
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
        elif name == "psubh":           # rs - rt per halfword, wrapping (PCSX2 MMI.cpp PSUBH)
            self.set(rd, pack([a - b for a, b in zip(lanes(self.get(rs), 16), lanes(self.get(rt), 16))], 16))
        elif name[:4] == "pext":
            # interleave the low (pextl*) or high (pextu*) halves of rt and rs, rt's
            # lane first: d[2i] = rt[off + i], d[2i + 1] = rs[off + i] (PCSX2 MMI.cpp
            # PEXTLB/PEXTLH/PEXTLW, PEXTUB/PEXTUH/PEXTUW)
            bits = {"b": 8, "h": 16, "w": 32}[name[-1]]
            half = 64 // bits
            off = 0 if name[4] == "l" else half
            s, t = lanes(self.get(rs), bits), lanes(self.get(rt), bits)
            self.set(rd, pack([x for i in range(half) for x in (t[off + i], s[off + i])], bits))
        elif name == "psrah":
            self.set(rd, pack([signed(h, 16) >> (sa & 15) for h in lanes(self.get(rt), 16)], 16))
        elif name == "psrlh":           # logical: zeros shifted in (PCSX2 MMI.cpp PSRLH)
            self.set(rd, pack([h >> (sa & 15) for h in lanes(self.get(rt), 16)], 16))
        elif name == "psllh":           # bits shifted past bit 15 are lost (PCSX2 MMI.cpp PSLLH)
            self.set(rd, pack([h << (sa & 15) for h in lanes(self.get(rt), 16)], 16))
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
        elif name in ("pand", "por"):   # 128-bit rs & rt, rs | rt (PCSX2 MMI.cpp PAND, POR)
            a, b = self.get(rs), self.get(rt)
            self.set(rd, a & b if name == "pand" else a | b)
        elif name == "pceqw":           # per word: all ones where rs = rt (PCSX2 MMI.cpp PCEQW)
            self.set(rd, pack([M32 if a == b else 0 for a, b in zip(lanes(self.get(rs), 32),
                                                                      lanes(self.get(rt), 32))], 32))
        elif name == "psllw":           # per word, bits past 31 lost (PCSX2 MMI.cpp PSLLW)
            self.set(rd, pack([x << sa for x in lanes(self.get(rt), 32)], 32))
        elif name == "psraw":           # per word, arithmetic (PCSX2 MMI.cpp PSRAW)
            self.set(rd, pack([signed(x, 32) >> sa for x in lanes(self.get(rt), 32)], 32))
        elif name == "pxor":            # 128-bit rs ^ rt (PCSX2 MMI.cpp PXOR)
            self.set(rd, self.get(rs) ^ self.get(rt))
        elif name == "psubw":           # rs - rt per word, wrapping (PCSX2 MMI.cpp PSUBW)
            self.set(rd, pack([a - b for a, b in zip(lanes(self.get(rs), 32), lanes(self.get(rt), 32))], 32))
        elif name == "ppach":           # low halfword of each word: rt's words 0-3, then
            t, r = lanes(self.get(rt), 16), lanes(self.get(rs), 16)    # rs's (PCSX2 MMI.cpp PPACH)
            self.set(rd, pack(t[0::2] + r[0::2], 16))
        else:  # pragma: no cover - decode() and this table list the same names
            raise R5900Error(name)

    def _vu(self, name: str, w: int) -> None:
        """fd (or ACC) = fs op ft lane by lane, in the lanes of the dest field; a bc
        form (vmulx, ...) uses lane bc of ft for every lane; madd adds the product to ACC."""
        op, to_acc, bc = _VU_OP.fullmatch(name).groups()
        ft, fs, fd = (w >> 16) & 31, (w >> 11) & 31, (w >> 6) & 31
        out = list(self.acc if to_acc else self.vf[fd])
        for j in range(4):
            if not (w >> (24 - j)) & 1 and not self.ignore_dest:   # dest bits: x = 24, y = 23, z = 22, w = 21
                continue
            a = _f32(self.vf[fs][j], f"$vf{fs}")
            b = _f32(self.vf[ft]["xyzw".index(bc) if bc else j], f"$vf{ft}")
            with np.errstate(all="ignore"):
                if op == "add":
                    r = a + b
                elif op == "sub":
                    r = a - b
                elif op == "mul":
                    r = a * b
                    if self.mul_toward_zero and abs(np.float64(r)) > abs(np.float64(a) * np.float64(b)):
                        r = np.nextafter(r, np.float32(0))     # the exact product is a double
                elif self.fused_madd:
                    r = np.float32(np.float64(_f32(self.acc[j], "ACC")) + np.float64(a) * np.float64(b))
                else:                             # the product rounded, then the sum
                    p = a * b
                    _bits(p, "product")
                    r = _f32(self.acc[j], "ACC") + p
            out[j] = _bits(r, name)
        if to_acc:
            self.acc = out
        elif fd:
            self.vf[fd] = out

    def _vu_exp(self, name: str, w: int) -> None:
        """The VU0 instructions of exp4.h, lane by lane in the dest field's lanes:
        vmax/vmini (bc forms: lane bc of ft) compare sign and magnitude, so -0 < +0
        (PCSX2 pcsx2/VUops.cpp _MAX/_MINI; Play! VUShared.cpp MAX_base/MINI_base);
        vftoi0 ft = (int32)fs truncated toward zero, saturating, vitof0 ft = (float)fs
        of the int32 lane (_vuFTOI0/_vuITOF0; FTOI0/ITOF0); vdiv Q = fs.fsf / ft.ftf
        (_vuDIV; DIV, with fsf in bits 21-22, ftf in 23-24), which vmulq fd = fs * Q may
        read only after vwaitq (conservative: macro-mode PS2 code writes vdiv, vwaitq, vmulq);
        a zero divisor (the VU's flagged maximum) is not modelled and fails."""
        ft, fs, fd = (w >> 16) & 31, (w >> 11) & 31, (w >> 6) & 31
        if name == "vwaitq":
            self.q_ready = self.q is not None
            return
        if name == "vdiv":
            a = _f32(self.vf[fs][(w >> 21) & 3], f"$vf{fs}")
            b = _f32(self.vf[ft][(w >> 23) & 3], f"$vf{ft}")
            if b == 0:
                raise R5900Error("vdiv by zero")
            with np.errstate(all="ignore"):
                self.q = _bits(a / b, name)
            self.q_ready = False
            return
        m = _VU_EXP.fullmatch(name)
        dst = ft if name in ("vftoi0", "vitof0", "vabs") else fd
        out = list(self.vf[dst])
        for j in range(4):
            if not (w >> (24 - j)) & 1:
                continue
            if name == "vftoi0":
                v = np.float64(_f32(self.vf[fs][j], f"$vf{fs}"))
                k = np.rint(v) if self.ftoi_round else np.trunc(v)
                out[j] = int(min(max(k, -2**31), 2**31 - 1)) & M32
            elif name == "vabs":          # ft = |fs|: the sign bit cleared (PCSX2 _vuABS)
                out[j] = _bits(abs(_f32(self.vf[fs][j], f"$vf{fs}")), name)
            elif name == "vitof0":
                bits = self.vf[fs][j]
                if bits is None:
                    raise R5900Error(f"VU0 reads an unknown lane ($vf{fs})")
                out[j] = _bits(np.float32(signed(bits, 32)), name)
            elif name == "vmulq":
                if not self.q_ready:
                    raise R5900Error("vmulq reads Q before vwaitq")
                with np.errstate(all="ignore"):
                    out[j] = _bits(_f32(self.vf[fs][j], f"$vf{fs}") * _f32(self.q, "Q"), name)
            else:                                 # vmax, vmini and their bc forms
                a = self.vf[fs][j]
                b = self.vf[ft]["xyzw".index(m.group(2)) if m.group(2) else j]
                _f32(a, f"$vf{fs}"), _f32(b, f"$vf{ft}")
                key = lambda v: -(v & 0x7FFFFFFF) - 1 if v >> 31 else v   # noqa: E731
                pick_a = key(a) > key(b) if m.group(1) == "max" else key(a) < key(b)
                out[j] = a if pick_a else b
        if dst:
            self.vf[dst] = out

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
    if op in (0x11, 0x12):
        return (w >> 21) & 0x1F == 0x08                  # bc1f/bc1t, bc2f/bc2t
    return op in (0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x14, 0x15, 0x16, 0x17)
