"""Codegen builder: model.psnt (+ its model.plan.json, when there is one) ->
gen/{model_config.gen.h, kernels.gen.h, kernels.gen.c, plan.gen.c} via
`python -m codegen`; UnicodeTables builder: the tokenizer's
character classes via `python -m codegen.unicode_tables`. Their scanner returns
the templates and codegen/*.py, so editing the generator regenerates."""
from __future__ import annotations

import sys

import SCons.Action
import SCons.Builder
import SCons.Scanner

from ps2llm_build import REPO_ROOT

KERNEL_OUTPUTS = ("model_config.gen.h", "kernels.gen.h", "kernels.gen.c", "plan.gen.c")


def _generator_files(node, env, path):
    return env.Glob("#templates/*.jinja") + env.Glob("#codegen/*.py")


def _codegen_emitter(target, source, env):
    """Outputs: every generated file. Sources: the PSNT first (the action reads
    it), then its plan (codegen/stream_plan.py reads it beside the PSNT) when the
    Psnt builder makes one or it is there."""
    gen_dir = target[0].dir
    psnt = source[0]
    plan = psnt.dir.File(psnt.name[:-len(".psnt")] + ".plan.json") if psnt.name.endswith(".psnt") else None
    if plan is not None and plan not in source and (plan.has_builder() or plan.exists()):
        source = source + [plan]
    return [gen_dir.File(name) for name in KERNEL_OUTPUTS], source


def _unicode_emitter(target, source, env):
    return target, source + env.Glob("#model/tokenizer.py")


def generate(env) -> None:
    env.SetDefault(PYTHON=sys.executable, CONTEXT=0, GENCOMSTR="Generating $TARGETS")
    env["REPO_ROOT"] = str(REPO_ROOT)
    scanner = SCons.Scanner.Scanner(function=_generator_files, name="codegen")
    env["BUILDERS"]["Codegen"] = SCons.Builder.Builder(
        action=SCons.Action.Action(
            "cd ${REPO_ROOT} && $PYTHON -m codegen ${SOURCE.abspath} ${TARGET.dir.abspath}"
            "${' --context ' + str(CONTEXT) if CONTEXT else ''}", "$GENCOMSTR"),
        emitter=_codegen_emitter, source_scanner=scanner)
    env["BUILDERS"]["UnicodeTables"] = SCons.Builder.Builder(
        action=SCons.Action.Action(
            "cd ${REPO_ROOT} && $PYTHON -m codegen.unicode_tables ${TARGET.abspath}", "$GENCOMSTR"),
        emitter=_unicode_emitter, source_scanner=scanner)


def exists(env) -> bool:
    return True
