"""Where a PS2 can read the weights from, and how fast: read rate, seek time and
the fixed cost of one read request, each with its public source. Figures marked
`estimate` have no primary source; docs/PLANNER.md lists them all."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    description: str
    read_bytes_per_s: float     # sustained sequential read
    seek_s: float               # one long seek (our per-token jumps span the model)
    request_s: float            # fixed cost of one read request (RPC to the IOP, command)
    source: str                 # where the figures come from
    estimate: bool              # True when no primary source gives the figures

    def read_time(self, n_bytes: float, seeks: float = 0.0, requests: float = 0.0) -> float:
        """Seconds to read n_bytes with that many seeks and read requests."""
        return n_bytes / self.read_bytes_per_s + seeks * self.seek_s + requests * self.request_s

    @property
    def seek_bytes(self) -> float:
        """How many bytes the drive reads in the time of one seek."""
        return self.seek_s * self.read_bytes_per_s


KB = 1000.0
MB = 1000.0 * KB

# The SIF RPC round trip of one CDVD read command (../shared/ps2/REFERENCE.md §4):
# an estimate, ~1 ms, the same for every IOP-driven device.
_RPC = 1e-3

DEVICES: dict[str, DeviceProfile] = {p.name: p for p in (
    DeviceProfile(
        "ps2-cd", "PS2 DVD drive reading a CD-R, max spindle speed",
        900 * 1024, 0.100, _RPC,
        "read: Open-PS2-Loader maintainers model ~900 KB/s for real CDs (24x = 3,600 KB/s is never "
        "reached), citing a Sony developer newsgroup document (ps2homebrew/Open-PS2-Loader PR #691); "
        "seek: PCSX2 models a full seek as 100 ms and a fast one as 30 ms "
        "(pcsx2/CDVD/CDVD_internal.h Cdvd_FullSeek_Cycles / Cdvd_FastSeek_Cycles)",
        estimate=False),
    DeviceProfile(
        "ps2-dvd", "PS2 DVD drive reading a DVD-R, max spindle speed",
        2200 * 1024, 0.100, _RPC,
        "read: ~2,200 KB/s at max spin (ps2homebrew/Open-PS2-Loader PR #691, same source as ps2-cd); "
        "seek: PCSX2 full seek 100 ms (CDVD_internal.h). [UNVERIFIED] primary source for 4x DVD",
        estimate=False),
    DeviceProfile(
        "ps2-hdd", "internal IDE/SATA drive on the network adapter (fat PS2), UDMA4",
        25 * MB, 0.012, _RPC,
        "read: measured on the IOP by an OPL maintainer: 7 MB/s with 2 KB requests, 20 MB/s with "
        "8 KB, 32 MB/s with 16 KB (ps2homebrew/Open-PS2-Loader issue #225, rickgaiser); we read "
        ">= 64 KB blocks but data still crosses the SIF, so 25 MB/s. seek: a 7200 rpm desktop drive's "
        "average seek + half a rotation, ~12 ms (estimate; an SSD is far faster)",
        estimate=True),
    DeviceProfile(
        "ps2-usb", "USB mass storage on the PS2's USB 1.1 (full speed) ports",
        1.0 * MB, 0.002, 2 * _RPC,
        "read: USB 1.1 full speed is 12 Mbit/s = 1.5 MB/s on the wire (USB 1.1 specification; "
        "Wikipedia 'USB'); bulk-only mass storage on the IOP's OHCI gets ~1 MB/s (estimate, "
        "consistent with OPL users' reports of stuttering FMVs over USB). seek: flash, ~2 ms per "
        "request incl. the USB transaction (estimate)",
        estimate=True),
    DeviceProfile(
        "ps2-mx4sio", "SD card on an MX4SIO adapter in a memory-card slot (SIO2, SPI mode)",
        1.5 * MB, 0.001, _RPC,
        "read: SD cards in SPI mode clock at most 25 MHz = 3.1 MB/s (SD Physical Layer Simplified "
        "Specification, SPI mode); the IOP's SIO2 driver (ps2sdk mx4sio_bd) gets about half of that "
        "(estimate). seek: SD random-read latency ~1 ms (estimate)",
        estimate=True),
    DeviceProfile(
        "pcsx2-cd", "PCSX2's emulated CD timing (to compare with runs under PCSX2)",
        24 * 153600, 0.100, _RPC,
        "PCSX2 emulates CD at 24x 153,600 B/s = 3.69 MB/s, full seek 100 ms "
        "(pcsx2/CDVD/CDVD_internal.h; ../shared/ps2/REFERENCE.md §8)",
        estimate=False),
    DeviceProfile(
        "pcsx2-dvd", "PCSX2's emulated DVD timing",
        4 * 1382400, 0.100, _RPC,
        "PCSX2 emulates DVD at 4x 1,382,400 B/s = 5.53 MB/s, full seek 100 ms "
        "(pcsx2/CDVD/CDVD_internal.h)",
        estimate=False),
)}

# The profiles of the PS2's own storage, in the order reports list them.
PS2_DEVICES = ("ps2-cd", "ps2-dvd", "ps2-hdd", "ps2-usb", "ps2-mx4sio")


def get_device(name: str) -> DeviceProfile:
    try:
        return DEVICES[name]
    except KeyError:
        raise ValueError(f"unknown device profile {name!r}; known: {', '.join(DEVICES)}") from None
