"""What every port compiles, in one place, and the host port's build.

Pure data at the top (RUNTIME_SOURCES, INCLUDE_DIRS, C flags) so tests compile
the runtime exactly as SCons does without importing SCons. A port is a function
`build_<port>(env, model) -> {alias: (nodes, description)}`; SConstruct calls every
function in PORT_BUILDERS. The lead adds the ps2 and linux-mips ports there."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parent.parent

# The runtime, the same C on every target (paths from the repository root).
RUNTIME_SOURCES = [
    "ee_runtime_c/app.c",
    "ee_runtime_c/arena.c",
    "ee_runtime_c/attention.c",
    "ee_runtime_c/args.c",
    "ee_runtime_c/crc32.c",
    "ee_runtime_c/fmt.c",
    "ee_runtime_c/forward.c",
    "ee_runtime_c/generate.c",
    "ee_runtime_c/mathf.c",
    "ee_runtime_c/model.c",
    "ee_runtime_c/profile.c",
    "ee_runtime_c/prompts.c",
    "ee_runtime_c/psnt.c",
    "ee_runtime_c/sampler.c",
    "ee_runtime_c/staging.c",
    "ee_runtime_c/status.c",
    "ee_runtime_c/stream.c",
    "ee_runtime_c/tokenizer.c",
    "sdk/iso9660.c",
]
# Generated per model (in build/<model>/gen/) and once (in build/gen/).
MODEL_GENERATED = ["kernels.gen.c", "plan.gen.c"]
SHARED_GENERATED = ["unicode_tables.gen.c"]
INCLUDE_DIRS = ["ee_runtime_c", "sdk/include", "sdk"]
HOST_PORT_SOURCES = ["sdk/host/hal_host.c", "sdk/sim/drive_sim.c", "sdk/sim/scratch_sim.c"]

# Every port: C99, float expressions rounded as written (no FMA contraction, so
# kernels give the same bits everywhere), sqrt as an instruction.
COMMON_CFLAGS = ["-std=c99", "-ffp-contract=off", "-fno-math-errno",
                 "-Wall", "-Wextra", "-Werror"]
HOST_CFLAGS = COMMON_CFLAGS + ["-O2"]
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                  "-fno-omit-frame-pointer", "-g"]


@dataclass(frozen=True)
class ModelBuild:
    """One model's build products, which every port compiles against."""
    name: str            # build/<name>/
    dir: str             # "#build/<name>"
    psnt: Any            # the model.psnt node
    gen_dir: str         # "#build/<name>/gen"
    generated: list      # generated .c nodes (kernels + unicode tables)
    plan: Any = None     # the model.plan.json node beside the PSNT (docs/PLAN_INTERFACE.md)


def runtime_objects(env, model: ModelBuild, objdir: str) -> list:
    """Objects of the runtime and the generated C, built with env in objdir."""
    objs = []
    for src in RUNTIME_SOURCES:
        objs += env.Object(f"{objdir}/{Path(src).stem}.o", f"#{src}")
    for node in model.generated:
        objs += env.Object(f"{objdir}/{Path(str(node)).name[:-2]}.o", node)
    return objs


def build_host(env, model: ModelBuild) -> dict[str, tuple[list, str]]:
    """build/<model>/host/ps2llm, and `run-host` running it on the PSNT."""
    henv = env.Clone(tools=["host_cc"])
    henv.Append(CPPPATH=[f"#{d}" for d in INCLUDE_DIRS] + [model.gen_dir])
    objdir = f"{model.dir}/host/obj"
    objs = runtime_objects(henv, model, objdir)
    for src in HOST_PORT_SOURCES:
        objs += henv.Object(f"{objdir}/{Path(src).stem}.o", f"#{src}")
    henv.Depends(objs, henv.Value(henv["HOST_CC_VERSION"]))
    program = henv.Program(f"{model.dir}/host/ps2llm", objs)
    run = henv.Command(f"{model.dir}/host/run.phony", [program, model.psnt],
                       "${SOURCES[0]} ${SOURCES[1]} $RUN_ARGS",
                       RUN_ARGS=run_args(env))
    henv.AlwaysBuild(run)
    return {"host": (program, "the host build of the runtime, build/<model>/host/ps2llm"),
            "run-host": (run, "run the host build on the model with PROMPT, TOKENS, SEED, TEMP")}


def check_quant(key, value, env) -> None:
    """Validator of the QUANT option: model/psnt.py's policy parser is the judge."""
    import SCons.Script
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from model.psnt import QuantPolicy
    try:
        QuantPolicy.parse(value)
    except ValueError as err:
        SCons.Script.Exit(f"QUANT={value}: {err}")


def run_args(env) -> str:
    """Runtime arguments from the PROMPT, TOKENS, SEED and TEMP options, shell-quoted."""
    import shlex
    args = ["--tokens", str(env["TOKENS"]), "--seed", str(env["SEED"]), "--temp", str(env["TEMP"])]
    if env["PROMPT"]:
        args += ["--prompt", env["PROMPT"]]
    return " ".join(shlex.quote(a) for a in args)


# Each port's build function; the lead appends build_ps2 and build_linux_mips.
PORT_BUILDERS: list[Callable[[Any, ModelBuild], dict[str, tuple[list, str]]]] = [build_host]
