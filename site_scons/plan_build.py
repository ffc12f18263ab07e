"""The `plan` alias: print the residency plan of build/<model>/model.psnt with the
predicted seconds per token on every device profile (instruction counts from the
PS2 ELF's kernels) and write build/<model>/plan.png, a timeline of one token.
Runs `python -m model plan` (model/__main__.py); always runs, since its output is
the report."""
from __future__ import annotations

from ps2llm_build import ModelBuild


def plan_args(env) -> str:
    """The plan options (RAM, CONTEXT, KV, DEVICE) as `python -m model` takes them;
    the Psnt builder passes the same to `convert`."""
    args = f"--ram {env['RAM']} --kv {env['KV']} --device {env['DEVICE']}"
    return args + (f" --context {env['CONTEXT']}" if int(env["CONTEXT"]) else "")


def build_plan(env, model: ModelBuild) -> dict[str, tuple[list, str]]:
    boot = env.File(f"{model.dir}/ps2/BOOT.elf")
    report = env.Command(
        f"{model.dir}/plan.png", [model.psnt, model.plan, boot],
        "cd $REPO_ROOT && $PYTHON -m model plan ${SOURCES[0].abspath} $PLAN_ARGS"
        " --elf ${SOURCES[2].abspath} --png ${TARGET.abspath}",
        PLAN_ARGS=plan_args(env))
    env.AlwaysBuild(report)
    return {"plan": (report, "print what stays resident, what streams and the predicted "
                             "s/token; write build/<model>/plan.png")}
