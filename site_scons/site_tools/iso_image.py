"""Iso builder: a bootable PS2 disc image (ISO 9660) made with pycdlib.

The disc holds SYSTEM.CNF, BOOT.ELF, MODEL.PSN and PROMPTS.TXT in its root
directory. The PS2 BIOS reads SYSTEM.CNF and boots the ELF its BOOT2 line names
(format: ps2sdk/PCSX2 `CDVD/CDVD.cpp` GetPS2ElfName; the path is upper case,
`cdrom0:\\NAME;1`). MODEL.PSN is one file, so its sectors are contiguous and in
the order the PSNT writer laid them out."""
from __future__ import annotations

import io
import os
from pathlib import Path

BOOT_NAME = "BOOT.ELF"


def system_cnf(video_mode: str = "NTSC") -> bytes:
    if video_mode not in ("NTSC", "PAL"):
        raise ValueError(f"VMODE must be NTSC or PAL, not {video_mode!r}")
    lines = [f"BOOT2 = cdrom0:\\{BOOT_NAME};1", "VER = 1.00", f"VMODE = {video_mode}"]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def build_iso(out: str | os.PathLike, files: dict[str, str | os.PathLike | bytes],
              volume_id: str = "PS2LLM", video_mode: str = "NTSC") -> None:
    """Write the disc atomically. `files` maps 8.3 upper-case names to a path or
    bytes; SYSTEM.CNF is added first so it sits at the start of the disc."""
    import pycdlib
    from model.atomic import atomic_output
    out = Path(out)
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, vol_ident=volume_id, sys_ident="PLAYSTATION")
    entries = {"SYSTEM.CNF": system_cnf(video_mode), **files}
    opened = []
    try:
        for name, content in entries.items():
            if isinstance(content, bytes):
                fp = io.BytesIO(content)
                size = len(content)
            else:
                fp = open(content, "rb")
                size = os.fstat(fp.fileno()).st_size
            opened.append(fp)
            iso.add_fp(fp, size, f"/{name};1")
        with atomic_output(out) as tmp:
            iso.write(str(tmp))
    finally:
        iso.close()
        for fp in opened:
            fp.close()


def file_extent(iso_path: str | os.PathLike, name: str) -> tuple[int, int]:
    """(LBA, size) of a root-directory file, read back with pycdlib."""
    import pycdlib
    iso = pycdlib.PyCdlib()
    iso.open(str(iso_path))
    try:
        record = iso.get_record(iso_path=f"/{name};1")
        return record.extent_location(), record.get_data_length()
    finally:
        iso.close()


def _iso_action(target, source, env):
    files = {BOOT_NAME: str(source[0]), "MODEL.PSN": str(source[1]),
             "PROMPTS.TXT": env["PROMPTS_TEXT"].encode("utf-8")}
    build_iso(str(target[0]), files, video_mode=env.get("VMODE", "NTSC"))
    return 0


def generate(env):
    from SCons.Action import Action
    from SCons.Builder import Builder
    env.SetDefault(ISOCOMSTR="Building disc image $TARGET")
    env["BUILDERS"]["Iso"] = Builder(
        action=Action(_iso_action, "$ISOCOMSTR", varlist=["PROMPTS_TEXT", "VMODE"]))


def exists(env):
    try:
        import pycdlib  # noqa: F401
    except ImportError:
        return False
    return True
