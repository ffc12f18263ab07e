"""ee_gcc — SCons tool for the PS2 Emotion Engine cross compiler and the `ps2` SDK port.

Finds the EE compiler (ps2dev's mips64r5900el-ps2-elf-gcc first, else Debian's
mipsel-linux-gnu-gcc, which knows -march=r5900) and sets it up freestanding with
our own crt0, linker script and libc. Usage in an SConscript:

    env = base.Clone(tools=["ee_gcc"])
    objs = env.Object(env["EE_SDK_SOURCES"]) + env.Object(runtime_sources)
    elf = env.Program("BOOT.ELF", objs)

Facts behind the flags: /work/shared/ps2/REFERENCE.md §1 and §9 (toolchain check):
non-PIC, -G0, no libgcc (mips32r2 clz/mul collide with MMI opcodes), -mno-llsc,
one PT_LOAD at 0x00100000 via sdk/startup/ps2.ld.
"""
from __future__ import annotations

import os
import shutil
import subprocess

COMPILERS = ("mips64r5900el-ps2-elf-gcc", "mipsel-linux-gnu-gcc")

ARCH_FLAGS = ["-march=r5900", "-msingle-float", "-mhard-float", "-fno-pic", "-G0", "-mno-llsc"]
DEBIAN_ONLY_FLAGS = ["-mabi=32", "-mno-abicalls"]  # ps2dev's compiler is already ELF/non-PIC
C_FLAGS = [
    "-ffreestanding",
    "-nostdlib",
    "-fno-builtin-printf",
    "-fno-math-errno",
    "-ffp-contract=off",
    "-ffunction-sections",
    "-fdata-sections",
    "-O2",
    "-std=c99",
    "-Wall",
    "-Wextra",
]
LINK_FLAGS = [
    "-nostdlib",
    "-static",
    "-Wl,--build-id=none",
    "-Wl,--gc-sections",
    "-Wl,-z,max-page-size=128",
]

# The ps2 port: SDK sources relative to the repository root, in link order.
SDK_SOURCES = [
    "sdk/startup/crt0.S",
    "sdk/kernel/syscalls.S",
    "sdk/kernel/kernel.c",
    "sdk/timer/ee_clock.c",
    "sdk/sif/sif_packets.c",
    "sdk/sif/sif_cmd.c",
    "sdk/sif/sif_rpc.c",
    "sdk/cdvd/cdvd_packets.c",
    "sdk/cdvd/cdvd.c",
    "sdk/gs/gs_console.c",
    "sdk/gs/gs_video.c",
    "sdk/sio/ee_sio.c",
    "sdk/libc/string.c",
    "sdk/libc/format.c",
    "sdk/libc/libgcc.c",
    "sdk/ps2/hal_ps2.c",
    "sdk/ps2/scratch_ps2.c",
]
SDK_INCLUDES = ["sdk/include", "sdk/libc/include"]
LINKER_SCRIPT = "sdk/startup/ps2.ld"
FONT_ART = "sdk/gs/font_8x13.txt"
FONT_GENERATOR = "sdk/gs/gen_font.py"


def find_compiler(env=None) -> str | None:
    """Full path of the first EE compiler found ($EE_CC or $PATH)."""
    explicit = (env.get("EE_CC") if env is not None else None) or os.environ.get("EE_CC")
    candidates = [explicit] if explicit else list(COMPILERS)
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    return None


def compiler_flags(cc: str) -> list[str]:
    flags = list(ARCH_FLAGS)
    if "mipsel-linux-gnu" in os.path.basename(cc):
        flags += DEBIAN_ONLY_FLAGS
    return flags


def compiler_include_dir(cc: str) -> str:
    return subprocess.run([cc, "-print-file-name=include"], check=True, capture_output=True,
                          text=True).stdout.strip()


def compiler_version(cc: str) -> str:
    out = subprocess.run([cc, "--version"], check=True, capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else cc


def exists(env) -> bool:
    return find_compiler(env) is not None


def generate(env) -> None:
    cc = find_compiler(env)
    if cc is None:
        raise SystemExit(
            "ee_gcc: no EE compiler found (tried " + ", ".join(COMPILERS) +
            "); install Debian's gcc-mipsel-linux-gnu or set EE_CC")
    prefix = cc[: -len("gcc")]
    root = env.Dir("#").abspath
    arch = compiler_flags(cc)
    gcc_inc = compiler_include_dir(cc)
    env.Replace(
        CC=cc,
        AS=cc,
        LINK=cc,
        AR=prefix + "ar",
        RANLIB=prefix + "ranlib",
        OBJCOPY=prefix + "objcopy",
        EE_OBJDUMP=prefix + "objdump",
        PROGSUFFIX=".elf",
        EE_CC_VERSION=compiler_version(cc),
    )
    env.AppendUnique(
        CCFLAGS=arch + C_FLAGS + ["-nostdinc", "-isystem", gcc_inc],
        ASFLAGS=arch + ["-x", "assembler-with-cpp"],
        CPPPATH=[env.Dir("#" + p) for p in SDK_INCLUDES],
        LINKFLAGS=arch + LINK_FLAGS + ["-T", os.path.join(root, LINKER_SCRIPT)],
    )
    env["ASCOM"] = "$CC $ASFLAGS $_CPPINCFLAGS -c -o $TARGET $SOURCES"
    env["ASPPCOM"] = env["ASCOM"]

    # The font header is generated at build time from the ASCII art.
    gen_dir = env.Dir("$BUILD_DIR/sdk_gen" if "BUILD_DIR" in env else "#build/sdk_gen")
    font_h = env.Command(
        gen_dir.File("gs_font.gen.h"),
        ["#" + FONT_ART, "#" + FONT_GENERATOR],
        "python3 ${SOURCES[1]} c ${SOURCES[0]} $TARGET",
    )
    env.AppendUnique(CPPPATH=[gen_dir])
    env["EE_FONT_HEADER"] = font_h
    env["EE_SDK_SOURCES"] = [env.File("#" + s) for s in SDK_SOURCES]
    env["EE_LINKER_SCRIPT"] = env.File("#" + LINKER_SCRIPT)

    # A new compiler rebuilds everything (Godot-style): make every object depend on the version.
    version_node = env.Value(env["EE_CC_VERSION"])

    def _object_emitter(target, source, env):
        env.Depends(target, version_node)
        env.Depends(target, font_h)
        return target, source

    for suffix in (".c", ".S"):
        builder = env["BUILDERS"]["Object"]
        builder.add_emitter(suffix, _object_emitter)

    def _program_emitter(target, source, env):
        env.Depends(target, env["EE_LINKER_SCRIPT"])
        return target, source

    env.Append(PROGEMITTER=[_program_emitter])

    if not env.get("VERBOSE"):
        env["CCCOMSTR"] = "EE CC $TARGET"
        env["ASCOMSTR"] = "EE AS $TARGET"
        env["ASPPCOMSTR"] = "EE AS $TARGET"
        env["LINKCOMSTR"] = "EE LD $TARGET"
