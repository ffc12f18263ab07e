"""The disc and the two builds that run it: BOOT.ELF for the PS2 (ee_gcc), the
ISO around it, and the linux-mips ELF that runs the same disc image under
qemu-mipsel. Aliases: elf, iso, mips, run, test-pcsx2."""
from __future__ import annotations

from pathlib import Path

from ps2llm_build import INCLUDE_DIRS, ModelBuild, runtime_objects

DEFAULT_PROMPT = "What is the capital of France?"


def prompts_text(env) -> str:
    """PROMPTS.TXT: the generation options, then the prompt (ee_runtime_c/prompts.h)."""
    prompt = env["PROMPT"] or DEFAULT_PROMPT
    options = f"--tokens {env['TOKENS']} --seed {env['SEED']} --temp {env['TEMP']}"
    return f"{options}\n" + "".join(line + "\n" for line in prompt.splitlines() if line.strip())


def _port_program(env, tool: str, sources_key: str, model: ModelBuild, name: str, program: str):
    """The runtime linked with a port's sources ($sources_key of the port's tool)."""
    penv = env.Clone(tools=[tool])
    penv.Append(CPPPATH=[f"#{d}" for d in INCLUDE_DIRS] + [model.gen_dir])
    objdir = f"{model.dir}/{name}/obj"
    objs = runtime_objects(penv, model, objdir)
    for src in penv[sources_key]:
        objs += penv.Object(f"{objdir}/port_{Path(str(src)).stem}.o", src)
    return penv, penv.Program(f"{model.dir}/{name}/{program}", objs)


def build_disc(env, model: ModelBuild) -> dict[str, tuple[list, str]]:
    eenv, boot = _port_program(env, "ee_gcc", "EE_SDK_SOURCES", model, "ps2", "BOOT")
    # ELF + the plan's arena (its arena_bytes, read from plan.json) must fit in RAM.
    audit = eenv.Clone(tools=["elf_audit"]).ElfAudit(
        f"{model.dir}/ps2/BOOT.audit", [boot] + ([model.plan] if model.plan else []))
    disc = env.Clone(tools=["iso_image"], PROMPTS_TEXT=prompts_text(env))
    iso = disc.Iso(f"{model.dir}/{model.name}.iso", [boot, model.psnt])
    disc.Depends(iso, audit)            # a disc is only made from an audited ELF

    menv, mips = _port_program(env, "linux_mips", "LINUX_MIPS_SOURCES", model, "mips", "ps2llm")
    run = menv.Command(f"{model.dir}/mips/run.phony", [mips, iso],
                       "$QEMU -cpu $QEMU_CPU ${SOURCES[0]} ${SOURCES[1]} --ids")
    menv.AlwaysBuild(run)
    host = env.File(f"{model.dir}/host/ps2llm")      # the host build's answer is the reference
    pcsx2 = env.Clone(tools=["pcsx2"]).Pcsx2Run(f"{model.dir}/pcsx2.phony", [iso, host])
    env.AlwaysBuild(pcsx2)
    return {
        "elf": ([boot, audit], "BOOT.ELF for the PS2, audited (build/<model>/ps2/)"),
        "iso": (iso, "the bootable disc image build/<model>/<model>.iso"),
        "mips": (mips, "the linux-mips build of the runtime (build/<model>/mips/)"),
        "run": (run, "run the disc image with the linux-mips build under qemu-mipsel"),
        "test-pcsx2": (pcsx2, "boot the disc in PCSX2 (PCSX2=..., PCSX2_BIOS=...) and check its answer"),
    }
