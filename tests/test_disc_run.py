"""`scons iso` and `scons run` end to end on a tiny model: the linux-mips build runs
the disc image under qemu-mipsel and must print the host build's tokens, which
must be the numpy reference's; broken discs give their error, never a hang."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hf_models import make_tiny_hf_model
from model.psnt import read_psnt
from model.reference import ReferenceModel
from model.tokenizer import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "site_scons" / "site_tools"))
import iso_image  # noqa: E402

PROMPT = "Once upon a time"
TOKENS = 24
pytestmark = pytest.mark.skipif(not (shutil.which("qemu-mipsel") and shutil.which("mipsel-linux-gnu-gcc")),
                                reason="qemu-mipsel and mipsel-linux-gnu-gcc are installed by setup.sh")


def scons(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "SCons", "-Q", "-C", str(ROOT), *args],
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def disc(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("disc")
    model = make_tiny_hf_model(tmp / "tiny", dim=64, n_layers=2, n_heads=4, n_kv_heads=2,
                               hidden=128, vocab=320, tie=True, seed=3)
    build = tmp / "build"
    args = [f"MODEL={model}", f"BUILD_DIR={build}", f"PROMPT={PROMPT}", f"TOKENS={TOKENS}"]
    done = scons(*args, "iso", "mips", "host", "run")
    assert done.returncode == 0, done.stdout + done.stderr
    out = build / "tiny"
    return {"iso": out / "tiny.iso", "mips": out / "mips" / "ps2llm.elf",
            "host": out / "host" / "ps2llm", "psnt": out / "model.psnt", "run": done.stdout,
            "elf": out / "ps2" / "BOOT.elf", "audit": out / "ps2" / "BOOT.audit"}


def qemu(disc, iso, *args):
    return subprocess.run(["qemu-mipsel", "-cpu", "24Kf", str(disc["mips"]), str(iso), *args],
                          capture_output=True, timeout=300)


def generated_ids(text: str) -> list[int]:
    found = re.search(r"^ids:(.*)$", text, re.M)
    assert found, text
    return [int(t) for t in found.group(1).split()]


def test_qemu_tokens_equal_host_and_reference(disc):
    mips_ids = generated_ids(disc["run"])
    host = subprocess.run([str(disc["host"]), str(disc["iso"]), "--ids"], capture_output=True,
                          text=True, timeout=120)
    assert host.returncode == 0, host.stderr
    assert generated_ids(host.stdout) == mips_ids
    psnt = read_psnt(disc["psnt"])
    tok = Tokenizer(psnt.vocab)
    prompt = tok.encode_chat([{"role": "user", "content": PROMPT}])
    want = ReferenceModel(psnt).generate_greedy(prompt, TOKENS, eos_id=psnt.vocab.eos_id)
    assert mips_ids == want[:len(mips_ids)] and len(mips_ids) > 0
    assert f"> {PROMPT}" in disc["run"] and "tok/s" in disc["run"]


def test_disc_layout(disc):
    lba, size = iso_image.file_extent(disc["iso"], "MODEL.PSN")
    assert size == disc["psnt"].stat().st_size
    data = disc["iso"].read_bytes()
    assert data[lba * 2048:lba * 2048 + size] == disc["psnt"].read_bytes()
    _, size = iso_image.file_extent(disc["iso"], "PROMPTS.TXT")
    assert size > len(PROMPT)
    assert "no R5900-incompatible instruction" in disc["audit"].read_text()


def rebuilt(disc, tmp_path, **files):
    contents = {"BOOT.ELF": disc["elf"], "MODEL.PSN": disc["psnt"],
                "PROMPTS.TXT": f"--tokens 4\n{PROMPT}\n".encode(), **files}
    iso = tmp_path / "x.iso"
    iso_image.build_iso(iso, {k: v for k, v in contents.items() if v is not None})
    return iso


def test_model_missing(disc, tmp_path):
    done = qemu(disc, rebuilt(disc, tmp_path, **{"MODEL.PSN": None}))
    assert done.returncode != 0
    assert b"MODEL.PSN" in done.stdout and b"error" in done.stdout


def test_crc_mismatch(disc, tmp_path):
    bad = bytearray(disc["psnt"].read_bytes())
    psnt = read_psnt(disc["psnt"])
    bad[psnt.entry("layers.1.w2").offset + 5] ^= 0x10
    done = qemu(disc, rebuilt(disc, tmp_path, **{"MODEL.PSN": bytes(bad)}))
    assert done.returncode != 0
    assert b"CRC" in done.stdout and b"layers.1.w2" in done.stdout


def test_unreadable_sector(disc, tmp_path):
    """A disc cut short: MODEL.PSN's last sectors cannot be read."""
    iso = rebuilt(disc, tmp_path)
    lba, size = iso_image.file_extent(iso, "MODEL.PSN")
    data = iso.read_bytes()
    iso.write_bytes(data[:lba * 2048 + size // 2])
    done = qemu(disc, iso)
    assert done.returncode != 0 and b"error" in done.stdout


def test_no_prompt_anywhere(disc, tmp_path):
    done = qemu(disc, rebuilt(disc, tmp_path, **{"PROMPTS.TXT": None}))
    assert done.returncode != 0 and b"PROMPTS.TXT" in done.stdout


def test_bad_option_in_prompts_file(disc, tmp_path):
    done = qemu(disc, rebuilt(disc, tmp_path, **{"PROMPTS.TXT": b"--tokens lots\nHi\n"}))
    assert done.returncode == 2 and b"--tokens" in done.stdout


def test_invalid_utf8_prompt_on_disc(disc, tmp_path):
    done = qemu(disc, rebuilt(disc, tmp_path, **{"PROMPTS.TXT": b"caf\xe9 \xff\n"}))
    assert done.returncode != 0 and b"UTF-8" in done.stdout


def test_prompt_option_overrides_disc(disc):
    done = qemu(disc, disc["iso"], "--prompt", "Hi", "--tokens", "3")
    assert done.returncode == 0, done.stdout
    assert b"> " not in done.stdout and b"generation:" in done.stdout
