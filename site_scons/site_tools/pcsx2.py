"""Pcsx2Run: boot the disc in PCSX2 headless and check what it prints.

Configured by two variables (environment or scons options):
  PCSX2       the emulator (default: pcsx2-qt or pcsx2 on $PATH)
  PCSX2_BIOS  a PS2 BIOS image you dumped from your own console
Where either is missing the check is skipped, saying exactly what is missing.

PCSX2 runs as `pcsx2-qt -batch -nogui -fastboot -earlyconsolelog -logfile LOG -- ISO`
(flags from PCSX2's pcsx2-qt/QtHost.cpp usage text), with its settings in a
private XDG_CONFIG_HOME so the user's own configuration is left alone. What the
EE writes to its SIO port lands in the log as EE console output. The run passes
when the disc prints its answer and its tok/s line without an error; the answer's
text is compared with the host build's on the same disc (the EE FPU rounds toward
zero, so a late divergence is reported, not failed). Not verified here: no PCSX2
or BIOS can be installed on the machines this was written on."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT_S = 600
DONE_MARK = "arena:"


def find_pcsx2(env) -> tuple[str | None, str | None, list[str]]:
    """(emulator, bios, what is missing)."""
    missing = []
    exe = env.get("PCSX2") or os.environ.get("PCSX2")
    exe = shutil.which(exe) if exe else (shutil.which("pcsx2-qt") or shutil.which("pcsx2"))
    if not exe:
        missing.append("PCSX2 not found: install it or set PCSX2=/path/to/pcsx2-qt")
    bios = env.get("PCSX2_BIOS") or os.environ.get("PCSX2_BIOS")
    if not bios:
        missing.append("no BIOS: set PCSX2_BIOS=/path/to/your-ps2-bios.bin (dumped from your console)")
    elif not Path(bios).is_file():
        missing.append(f"PCSX2_BIOS={bios}: no such file")
        bios = None
    return exe, bios, missing


def _settings(config_home: Path, bios: Path) -> None:
    inis = config_home / "PCSX2" / "inis"
    inis.mkdir(parents=True)
    (inis / "PCSX2.ini").write_text(
        "[UI]\nSettingsVersion = 1\nConfirmShutdown = false\n"
        f"[Folders]\nBios = {bios.parent}\n"
        f"[Filenames]\nBIOS = {bios.name}\n"
        "[EmuCore]\nEnableFastBoot = true\n"
        "[Logging]\nEnableSystemConsole = true\nEnableFileLogging = true\nEnableEEConsole = true\n"
        "[EmuCore/GS]\nRenderer = 13\n")      # software renderer: no GPU needed


def answer_text(output: str) -> str:
    """The generated text of the first prompt: after its '> ' line, up to 'load:'."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("> ")), None)
    if start is None:
        return ""
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("load:")), len(lines))
    return "\n".join(lines[start + 1:end]).strip()


def _run_action(target, source, env):
    iso, host = str(source[0]), str(source[1])
    exe, bios, missing = find_pcsx2(env)
    if missing:
        print("test-pcsx2: SKIPPED, nothing was run:\n  " + "\n  ".join(missing))
        return 0
    expected = subprocess.run([host, iso], capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        _settings(Path(tmp), Path(bios))
        log = Path(tmp) / "emulog.txt"
        cmd = [exe, "-batch", "-nogui", "-fastboot", "-earlyconsolelog", "-logfile", str(log), "--", iso]
        print("test-pcsx2: " + " ".join(cmd))
        try:
            subprocess.run(cmd, env={**os.environ, "XDG_CONFIG_HOME": tmp}, timeout=TIMEOUT_S,
                           capture_output=True)
        except subprocess.TimeoutExpired:
            pass     # the disc never exits by itself: it keeps its screen up
        output = log.read_text(errors="replace") if log.exists() else ""
    if "ps2llm: error" in output:
        print("test-pcsx2: FAILED, the disc reported an error:\n" + output[-2000:])
        return 1
    if DONE_MARK not in output:
        print(f"test-pcsx2: FAILED, no '{DONE_MARK}' line within {TIMEOUT_S} s; log tail:\n{output[-2000:]}")
        return 1
    got, want = answer_text(output), answer_text(expected)
    same = len(os.path.commonprefix([got, want]))
    print(f"test-pcsx2: PASSED, the disc answered; {same} of {len(want)} characters equal the host's"
          + ("" if got == want else f"\n  PCSX2: {got!r}\n  host:  {want!r}"))
    return 0


def generate(env):
    from SCons.Action import Action
    from SCons.Builder import Builder
    env["BUILDERS"]["Pcsx2Run"] = Builder(action=Action(_run_action, "Booting $SOURCE in PCSX2"))


def exists(env):
    return True
