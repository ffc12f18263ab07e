"""The test-pcsx2 harness, with stand-ins for PCSX2 (none can be installed here):
it must skip naming what is missing, pass a disc that answers, fail one that errs."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "site_scons" / "site_tools"))
import pcsx2  # noqa: E402

ANSWER = "> What is 2+2?\nThe answer is 4.\nload: 0.1 s\narena: high water 1 bytes of 2\n"


def stand_in(tmp_path, name, log_text):
    """An executable that writes log_text to the file after -logfile, as PCSX2 would."""
    exe = tmp_path / name
    exe.write_text("#!/usr/bin/env python3\nimport sys\n"
                   "log = sys.argv[sys.argv.index('-logfile') + 1]\n"
                   f"open(log, 'w').write({log_text!r})\n")
    exe.chmod(0o755)
    return exe


@pytest.fixture
def host(tmp_path):
    """Stands in for the host build, whose answer on the same disc is the reference."""
    exe = tmp_path / "host"
    exe.write_text(f"#!/usr/bin/env python3\nprint({ANSWER!r}, end='')\n")
    exe.chmod(0o755)
    return exe


def run(env, host, capsys):
    status = pcsx2._run_action(None, ["disc.iso", str(host)], env)
    return status, capsys.readouterr().out


def run_configured(tmp_path, host, capsys, log_text):
    """A BIOS file and a stand-in PCSX2 whose log is log_text, then the check."""
    bios = tmp_path / "bios.bin"
    bios.write_bytes(b"\0" * 16)
    emu = stand_in(tmp_path, "pcsx2-qt", log_text)
    return run({"PCSX2": str(emu), "PCSX2_BIOS": str(bios)}, host, capsys)


def test_skips_naming_what_is_missing(host, capsys, monkeypatch):
    monkeypatch.delenv("PCSX2", raising=False)
    monkeypatch.delenv("PCSX2_BIOS", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    status, out = run({}, host, capsys)
    assert status == 0
    assert "SKIPPED" in out and "PCSX2 not found" in out and "PCSX2_BIOS" in out


def test_missing_bios_file(host, capsys, tmp_path):
    emu = stand_in(tmp_path, "pcsx2-qt", ANSWER)
    status, out = run({"PCSX2": str(emu), "PCSX2_BIOS": str(tmp_path / "nope.bin")}, host, capsys)
    assert status == 0 and "SKIPPED" in out and "nope.bin: no such file" in out


def test_passes_when_the_disc_answers(host, capsys, tmp_path):
    status, out = run_configured(tmp_path, host, capsys, ANSWER)
    assert status == 0 and "PASSED" in out


def test_fails_on_device_error(host, capsys, tmp_path):
    status, out = run_configured(tmp_path, host, capsys, "ps2llm: error: MODEL.PSN not found\n")
    assert status == 1 and "reported an error" in out


def test_fails_without_output(host, capsys, tmp_path):
    status, out = run_configured(tmp_path, host, capsys, "")
    assert status == 1 and "no 'arena:' line" in out


def test_answer_text():
    assert pcsx2.answer_text(ANSWER) == "The answer is 4."
    assert pcsx2.answer_text("nothing") == ""
