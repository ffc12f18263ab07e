"""ElfAudit builder: check that BOOT.ELF is something a PS2 loads and an R5900 runs.

- ELF32, little-endian, MIPS, executable; every PT_LOAD at or above 0x00100000
  (ps2sdk `ee/startup/src/linkfile` links there; the first MB belongs to the kernel
  and EELOAD, ../shared/ps2/REFERENCE.md §1).
- Static footprint (all PT_LOAD memsz) plus the runtime's arena and stack within RAM.
- No instruction the R5900 lacks: 64-bit multiply/divide, LL/SC, and the
  double-precision FPU (the EE FPU is single-precision only; R5900 has no
  LDC1/SDC1). A violation names the function and the instruction.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

LOAD_BASE = 0x00100000
EE_RAM = 32 << 20

FORBIDDEN = {
    "dmult", "dmultu", "ddiv", "ddivu",            # 64-bit multiply/divide
    "ll", "sc", "lld", "scd",                       # load-linked/store-conditional
    "ldc1", "sdc1", "ldxc1", "sdxc1", "dmfc1", "dmtc1",   # 64-bit FPU moves
}
_DOUBLE_FP = re.compile(r"^[a-z.]+\.(d|l)$|^cvt\.d\.|^c\.[a-z]+\.d$")


class AuditError(ValueError):
    pass


@dataclass
class AuditReport:
    text: int
    data: int
    bss: int
    footprint: int        # sum of PT_LOAD memsz
    load_end: int         # highest address the image occupies
    instructions: int


def forbidden(mnemonic: str, word: int) -> bool:
    if mnemonic == "sqrt.s":
        # The R5900 reads sqrt.s's operand from the ft field (bits 16-20), standard
        # MIPS from fs (bits 11-15), and GAS/GCC encode fs: only a word with both
        # fields equal computes the same on both (PCSX2 and Play! read ft;
        # sdk/include/ee_fpu.h emits such words).
        return (word >> 16) & 31 != (word >> 11) & 31
    return mnemonic in FORBIDDEN or bool(_DOUBLE_FP.match(mnemonic))


def scan_instructions(elf_path: str, objdump: str) -> tuple[int, list[tuple[str, str, str]]]:
    """(instruction count, [(function, address, instruction)] that the R5900 lacks)."""
    # Disassembled as MIPS III (R4000): the forbidden instructions have the same
    # encodings there, and objdump's R5900 mode would show them only as .word.
    out = subprocess.run([objdump, "-d", "-m", "mips:4000", elf_path], check=True,
                         capture_output=True, text=True).stdout
    function, count, bad = "?", 0, []
    for line in out.splitlines():
        header = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if header:
            function = header.group(1)
            continue
        insn = re.match(r"^\s+([0-9a-f]+):\s+([0-9a-f]{8})\s+(\S+)(.*)$", line)
        if not insn:
            continue
        count += 1
        if forbidden(insn.group(3), int(insn.group(2), 16)):
            bad.append((function, insn.group(1), (insn.group(3) + insn.group(4)).strip()))
    return count, bad


def audit_elf(elf_path: str, objdump: str, ram_budget: int = EE_RAM,
              runtime_memory: int = 0) -> AuditReport:
    from elftools.elf.constants import P_FLAGS  # noqa: F401  (pyelftools present)
    from elftools.elf.elffile import ELFFile
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        if elf.elfclass != 32 or not elf.little_endian:
            raise AuditError(f"{elf_path}: not a 32-bit little-endian ELF")
        if elf["e_machine"] != "EM_MIPS" or elf["e_type"] != "ET_EXEC":
            raise AuditError(f"{elf_path}: not a MIPS executable ({elf['e_machine']}, {elf['e_type']})")
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        if not loads:
            raise AuditError(f"{elf_path}: no PT_LOAD segment")
        for seg in loads:
            if seg["p_vaddr"] < LOAD_BASE:
                raise AuditError(f"{elf_path}: PT_LOAD at {seg['p_vaddr']:#x} is below {LOAD_BASE:#x}")
        sizes = {"text": 0, "data": 0, "bss": 0}
        for sec in elf.iter_sections():
            if not sec["sh_flags"] & 2:        # SHF_ALLOC
                continue
            kind = ("bss" if sec["sh_type"] == "SHT_NOBITS"
                    else "text" if sec["sh_flags"] & 4 else "data")
            sizes[kind] += sec["sh_size"]
        footprint = sum(s["p_memsz"] for s in loads)
        load_end = max(s["p_vaddr"] + s["p_memsz"] for s in loads)
    if load_end + runtime_memory > ram_budget:
        raise AuditError(f"{elf_path}: image ends at {load_end:#x} and the runtime needs "
                         f"{runtime_memory} more bytes: {load_end + runtime_memory - ram_budget} "
                         f"bytes over the {ram_budget >> 20} MB of RAM")
    count, bad = scan_instructions(elf_path, objdump)
    if bad:
        listing = "\n".join(f"  {fn} at {addr}: {insn}" for fn, addr, insn in bad[:20])
        raise AuditError(f"{elf_path}: {len(bad)} instruction(s) the R5900 lacks:\n{listing}")
    return AuditReport(sizes["text"], sizes["data"], sizes["bss"], footprint, load_end, count)


def _runtime_memory(source, env) -> int:
    """EE_RUNTIME_MEMORY, or the arena_bytes of a plan.json among the sources."""
    import json
    for node in source[1:]:
        if str(node).endswith(".plan.json"):
            with open(str(node)) as f:
                return int(json.load(f)["arena_bytes"])
    return int(env.get("EE_RUNTIME_MEMORY", 0))


def _audit_action(target, source, env):
    try:
        report = audit_elf(str(source[0]), env.subst("$EE_OBJDUMP"),
                           runtime_memory=_runtime_memory(source, env))
    except AuditError as err:
        print(f"ElfAudit: {err}")
        return 1
    summary = (f"{source[0]}: text {report.text} B, data {report.data} B, bss {report.bss} B, "
               f"footprint {report.footprint} B, {report.instructions} instructions, "
               f"no R5900-incompatible instruction\n")
    with open(str(target[0]), "w") as f:
        f.write(summary)
    print(summary, end="")
    return 0


def generate(env):
    from SCons.Action import Action
    from SCons.Builder import Builder
    env.SetDefault(AUDITCOMSTR="Auditing $SOURCE")
    env["BUILDERS"]["ElfAudit"] = Builder(action=Action(_audit_action, "$AUDITCOMSTR"),
                                          suffix=".audit")


def exists(env):
    return True
