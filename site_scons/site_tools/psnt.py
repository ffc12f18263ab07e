"""Psnt builder: MODEL (a built-in name or a path) -> build/<name>/model.psnt and
its residency plan build/<name>/model.plan.json, by running `python -m model
convert` (model/__main__.py) as a subprocess. The PSNT's tensors are laid out in
the plan's disc order (docs/PLAN_INTERFACE.md).

The source is the MODEL value with quant type, group size and the plan options
RAM, CONTEXT, KV and DEVICE (as a Value), plus the model's files when it is a path
and the converter's own Python, so a changed model, option or converter rebuilds
both files."""
from __future__ import annotations

import sys
from pathlib import Path

import SCons.Builder
import SCons.Errors

from plan_build import plan_args
from ps2llm_build import REPO_ROOT


def model_name(spec: str) -> str:
    """The build/<name>/ of a MODEL value, without fetching anything."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from model.sources import BUILTIN_MODELS, locate_model
    if spec in BUILTIN_MODELS:
        return spec
    try:
        return locate_model(spec).name
    except ValueError as err:
        raise SCons.Errors.UserError(f"MODEL={spec}: {err}") from None


def _model_files(spec: str) -> list[str]:
    from model.sources import BUILTIN_MODELS, locate_model
    if spec in BUILTIN_MODELS:
        return []
    return [str(p) for p in locate_model(spec).files()]


def _emitter(target, source, env):
    spec = env["PSNT_MODEL"]
    psnt = target[0]
    plan = psnt.dir.File(Path(psnt.name).with_suffix(".plan.json").name)   # as model/__main__.plan_path
    target = [psnt, plan]
    deps = [env.Value(f"{spec} --quant {env['PSNT_QUANT']} --group {env['PSNT_GROUP']} "
                      f"{env['PSNT_PLAN_ARGS']}")]
    deps += [env.File(f) for f in _model_files(spec)]
    deps += env.Glob("#model/*.py")
    return target, deps


def psnt_from_model(env, target: str, model: str, quant: str, group: int):
    """env.Psnt(target, MODEL, QUANT, GROUP): [the PSNT node, its plan.json node],
    planned with the env's RAM, CONTEXT, KV and DEVICE."""
    return env.PsntConvert(target, [], PSNT_MODEL=model, PSNT_QUANT=quant, PSNT_GROUP=group,
                           PSNT_PLAN_ARGS=plan_args(env))


def generate(env) -> None:
    env.SetDefault(PYTHON=sys.executable, PSNTCOMSTR="Converting $PSNT_MODEL -> $TARGET",
                   RAM="32M", CONTEXT=0, KV="f32", DEVICE="ps2-cd")
    env["BUILDERS"]["PsntConvert"] = SCons.Builder.Builder(
        action=SCons.Action.Action(
            "cd ${REPO_ROOT} && $PYTHON -m model convert $PSNT_MODEL ${TARGET.abspath}"
            " --quant $PSNT_QUANT --group $PSNT_GROUP $PSNT_PLAN_ARGS", "$PSNTCOMSTR"),
        emitter=_emitter)
    env["REPO_ROOT"] = str(REPO_ROOT)
    env.AddMethod(psnt_from_model, "Psnt")
    env.AddMethod(lambda env, spec: model_name(spec), "PsntModelName")


def exists(env) -> bool:
    return True
