"""Disc image (ISO 9660 via pycdlib) and ELF audit, checked with independent tools."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "site_scons" / "site_tools"))
import elf_audit  # noqa: E402
import iso_image  # noqa: E402

CROSS = "mipsel-linux-gnu-gcc"
OBJDUMP = "mipsel-linux-gnu-objdump"


@pytest.fixture
def disc(tmp_path):
    elf = tmp_path / "boot.elf"
    elf.write_bytes(b"\x7fELF" + bytes(3000))
    psn = bytes(range(256)) * 40           # 10240 bytes: 5 sectors
    out = tmp_path / "x.iso"
    iso_image.build_iso(out, {"BOOT.ELF": elf, "MODEL.PSN": psn, "PROMPTS.TXT": b"Hi\n"})
    return out, psn


def test_iso_reads_back_with_pycdlib(disc):
    out, psn = disc
    lba, size = iso_image.file_extent(out, "MODEL.PSN")
    assert size == len(psn)
    data = out.read_bytes()
    assert data[lba * 2048:lba * 2048 + size] == psn     # contiguous, sector-aligned
    assert data[16 * 2048 + 1:16 * 2048 + 6] == b"CD001"


@pytest.mark.skipif(not shutil.which("isoinfo"), reason="isoinfo (Debian genisoimage) not installed")
def test_iso_reads_back_with_isoinfo(disc):
    out, psn = disc
    listing = subprocess.run(["isoinfo", "-i", str(out), "-l"], capture_output=True, text=True,
                             check=True).stdout
    for name in ("BOOT.ELF;1", "MODEL.PSN;1", "PROMPTS.TXT;1", "SYSTEM.CNF;1"):
        assert name in listing
    cnf = subprocess.run(["isoinfo", "-i", str(out), "-x", "/SYSTEM.CNF;1"],
                         capture_output=True, check=True).stdout
    assert cnf == b"BOOT2 = cdrom0:\\BOOT.ELF;1\r\nVER = 1.00\r\nVMODE = NTSC\r\n"
    got = subprocess.run(["isoinfo", "-i", str(out), "-x", "/MODEL.PSN;1"],
                         capture_output=True, check=True).stdout
    assert got == psn


@pytest.mark.skipif(not shutil.which("xorriso"), reason="xorriso not installed")
def test_iso_reads_back_with_xorriso(disc, tmp_path):
    out, psn = disc
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(out), "-extract", "/MODEL.PSN",
                    str(tmp_path / "psn")], capture_output=True, check=True)
    assert (tmp_path / "psn").read_bytes() == psn


def test_failed_iso_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        iso_image.build_iso(tmp_path / "x.iso", {"BOOT.ELF": tmp_path / "missing"})
    assert list(tmp_path.iterdir()) == []


def test_bad_video_mode():
    with pytest.raises(ValueError, match="VMODE"):
        iso_image.system_cnf("SECAM")


def _link(tmp_path, asm: str, base: int = 0x100000) -> Path:
    src = tmp_path / "t.S"
    src.write_text("    .text\n    .globl __start\n    .set noreorder\n" + asm)
    script = tmp_path / "t.ld"
    script.write_text(f"SECTIONS {{ . = {base:#x}; .text : {{ *(.text) }} "
                      "/DISCARD/ : { *(.MIPS.abiflags) *(.reginfo) *(.gnu.attributes) } }")
    elf = tmp_path / "t.elf"
    subprocess.run([CROSS, "-march=r5900", "-mabi=32", "-msingle-float", "-nostdlib", "-static",
                    "-fno-pic", "-mno-abicalls", "-T", str(script), "-Wl,-e,__start",
                    "-Wl,--build-id=none", "-o", str(elf), str(src)], check=True, capture_output=True)
    return elf


needs_cross = pytest.mark.skipif(not shutil.which(CROSS), reason=f"{CROSS} not installed")


@needs_cross
def test_audit_accepts_r5900_code(tmp_path):
    elf = _link(tmp_path, "__start:\n    mult $2, $3, $4\n    add.s $f0, $f1, $f2\n    jr $31\n    nop\n")
    report = elf_audit.audit_elf(str(elf), OBJDUMP)
    assert report.instructions == 4 and report.load_end > 0x100000


@needs_cross
@pytest.mark.parametrize("insn,shown", [("ll $2, 0($4)", "ll"), ("dmult $2, $3", "dmult"),
                                        ("ldc1 $f0, 0($4)", "ldc1"), ("add.d $f0, $f2, $f4", "add.d"),
                                        ("cvt.d.s $f0, $f2", "cvt.d.s")])
def test_audit_names_forbidden_instruction(tmp_path, insn, shown):
    # Assembled as MIPS III with a double FPU: what a stray object or inline asm could bring in.
    elf = _link(tmp_path, "__start:\n    nop\nbad_function:\n    .set push\n    .set arch=mips3\n"
                f"    .set doublefloat\n    {insn}\n    .set pop\n    jr $31\n    nop\n")
    with pytest.raises(elf_audit.AuditError, match=f"bad_function at .*: {shown}"):
        elf_audit.audit_elf(str(elf), OBJDUMP)


@needs_cross
def test_audit_rejects_low_load_address_and_ram_overflow(tmp_path):
    elf = _link(tmp_path, "__start:\n    jr $31\n    nop\n")
    with pytest.raises(elf_audit.AuditError, match="bytes over the 32 MB"):
        elf_audit.audit_elf(str(elf), OBJDUMP, runtime_memory=32 << 20)
    low = _link(tmp_path, "__start:\n    jr $31\n    nop\n", base=0x1000)
    with pytest.raises(elf_audit.AuditError, match="below 0x100000"):
        elf_audit.audit_elf(str(low), OBJDUMP)


@needs_cross
def test_audit_rejects_sqrt_with_operand_only_in_fs(tmp_path):
    """GAS's sqrt.s puts the operand in fs; the EE reads ft (sdk/include/ee_fpu.h)."""
    elf = _link(tmp_path, "__start:\n    nop\nroot:\n    sqrt.s $f0, $f12\n    jr $31\n    nop\n")
    with pytest.raises(elf_audit.AuditError, match="root at .*: sqrt.s"):
        elf_audit.audit_elf(str(elf), OBJDUMP)
    both = 0x46000004 | (12 << 16) | (12 << 11)          # sqrt.s $f0, with ft = fs = $f12
    ok = _link(tmp_path, f"__start:\n    nop\nroot:\n    .word {both:#x}\n    jr $31\n    nop\n")
    assert elf_audit.audit_elf(str(ok), OBJDUMP).instructions == 4
