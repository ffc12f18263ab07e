"""Host C toolchain: $HOST_CC (default gcc) with the runtime's flags; its version
string is a build dependency, so a new compiler rebuilds everything."""
from __future__ import annotations

import shutil
import subprocess

from ps2llm_build import HOST_CFLAGS


def _version(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        raise SystemExit(f"host compiler {cc!r} does not run: {err}") from None
    return out.splitlines()[0] if out else cc


def generate(env) -> None:
    cc = shutil.which(env.get("HOST_CC", "gcc")) or env.get("HOST_CC", "gcc")
    env["CC"] = cc
    env["HOST_CC_VERSION"] = _version(cc)
    env.Replace(CCFLAGS=list(HOST_CFLAGS))


def exists(env) -> bool:
    return bool(shutil.which(env.get("HOST_CC", "gcc")))
