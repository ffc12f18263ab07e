"""linux_mips — SCons tool for the `linux-mips` port: the runtime built for Linux on
little-endian MIPS32 with a single-precision FPU, no libc, run under qemu-mipsel.

qemu-user has no R5900 model, so this build is plain MIPS32 (never -march=r5900:
GCC then emits R5900-only forms such as 3-operand `mult`, which a MIPS32 CPU
decodes differently). It links the SDK's small libc, so the code above hal.h is
the same C as on the PS2.

    env = base.Clone(tools=["linux_mips"])
    elf = env.Program("ps2llm", env["LINUX_MIPS_SOURCES"] + runtime_objects)
"""
from __future__ import annotations

import shutil
import subprocess

COMPILER = "mipsel-linux-gnu-gcc"
QEMU = "qemu-mipsel"
QEMU_CPU = "24Kf"          # a MIPS32 core with an FPU

ARCH_FLAGS = ["-march=mips32", "-mabi=32", "-msingle-float", "-mhard-float", "-fno-pic",
              "-mno-abicalls", "-G0", "-mno-llsc"]
C_FLAGS = ["-ffreestanding", "-nostdlib", "-fno-math-errno", "-ffp-contract=off",
           "-ffunction-sections", "-fdata-sections", "-O2", "-std=c99", "-Wall", "-Wextra",
           "-Werror"]
LINK_FLAGS = ["-nostdlib", "-static", "-Wl,--build-id=none", "-Wl,--gc-sections",
              "-Wl,-e,__start"]
PORT_SOURCES = [
    "sdk/linux-mips/crt0.S",
    "sdk/linux-mips/hal_linux.c",
    "sdk/sim/drive_sim.c",
    "sdk/sim/scratch_sim.c",
    "sdk/libc/string.c",
    "sdk/libc/libgcc.c",
]
INCLUDES = ["sdk/include", "sdk/libc/include", "sdk/linux-mips"]


def _version(cc: str) -> str:
    return subprocess.run([cc, "--version"], check=True, capture_output=True,
                          text=True).stdout.splitlines()[0]


def exists(env) -> bool:
    return shutil.which(COMPILER) is not None


def generate(env) -> None:
    cc = shutil.which(COMPILER)
    if cc is None:
        raise SystemExit(f"linux_mips: {COMPILER} not found; install Debian's gcc-mipsel-linux-gnu")
    gcc_inc = subprocess.run([cc, "-print-file-name=include"], check=True, capture_output=True,
                             text=True).stdout.strip()
    env.Replace(CC=cc, AS=cc, LINK=cc, PROGSUFFIX=".elf",
                LINUX_MIPS_CC_VERSION=_version(cc),
                QEMU=shutil.which(QEMU) or QEMU, QEMU_CPU=QEMU_CPU)
    env.AppendUnique(CCFLAGS=ARCH_FLAGS + C_FLAGS + ["-nostdinc", "-isystem", gcc_inc],
                     ASFLAGS=ARCH_FLAGS + ["-x", "assembler-with-cpp"],
                     CPPPATH=[env.Dir("#" + p) for p in INCLUDES],
                     LINKFLAGS=ARCH_FLAGS + LINK_FLAGS)
    env["ASCOM"] = "$CC $ASFLAGS $_CPPINCFLAGS -c -o $TARGET $SOURCES"
    env["ASPPCOM"] = env["ASCOM"]
    env["LINUX_MIPS_SOURCES"] = [env.File("#" + s) for s in PORT_SOURCES]
    if not env.get("VERBOSE"):
        env["CCCOMSTR"] = "MIPS CC $TARGET"
        env["ASPPCOMSTR"] = env["ASCOMSTR"] = "MIPS AS $TARGET"
        env["LINKCOMSTR"] = "MIPS LD $TARGET"
