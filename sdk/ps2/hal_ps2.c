/* hal_ps2.c — the `ps2` port of hal.h: EE kernel + SIF RPC to CDVDFSV + GS
 * text console + EE SIO. See docs/SDK.md for what each piece relies on.
 */
#include <string.h>

#include "cdvd.h"
#include "ee_clock.h"
#include "ee_kernel.h"
#include "ee_sio.h"
#include "gs_console.h"
#include "hal.h"

/* Symbols from sdk/startup/ps2.ld: first free byte after .bss and the stack. */
extern char _end[];

/* Top of RAM left alone: ps2sdk's default stack (SetupThread with -1) sits at
 * the top and Play! places it at RAM - 4 KB (PS2OS.cpp sc_SetupThread), so we
 * keep a margin for whatever the kernel keeps up there. */
#define RAM_TOP_RESERVE (64u * 1024u)
#define ISO_PVD_LBA 16u

static gs_console s_con;
static uint32_t s_disc_sectors;
static uint8_t s_sector[HAL_SECTOR_SIZE] __attribute__((aligned(64)));

static int _hal_status(int cdvd_err)
{
    switch (cdvd_err < 0 ? -cdvd_err : cdvd_err) {
    case CDVD_ERR_NO_DISC:
    case CDVD_ERR_TRAY_OPEN:
        return HAL_ERR_NO_DISC;
    case CDVD_ERR_BAD_LSN:
    case CDVD_ERR_END_OF_MEDIA:
        return HAL_ERR_RANGE;
    default:
        return HAL_ERR_IO;
    }
}

static void _say(const char *s)
{
    hal_write(s, strlen(s));
}

int hal_init(const char *disc_path)
{
    (void)disc_path; /* the ps2 port reads the drive */
    ee_clock_init();
    gs_video_init();
    gs_console_reset(&s_con, GS_RGB(0xE0, 0xE0, 0xE0), GS_RGB(0x00, 0x00, 0x30));
    gs_console_flush(&s_con);

    int r = cdvd_init();
    if (r != 0) {
        _say("cdvd: init failed: ");
        _say(cdvd_error_name(r));
        _say("\n");
        return r == CDVD_ERR_NO_DISC || r == CDVD_ERR_TRAY_OPEN || r == CDVD_E_NOT_READY
                   ? HAL_ERR_NO_DISC
                   : HAL_ERR_IO;
    }
    /* Disc size from the ISO 9660 primary volume descriptor: "CD001" at +1,
     * volume space size (both-endian, LE half first) at +80 (ECMA-119 8.4.8). */
    s_disc_sectors = ISO_PVD_LBA + 1u; /* enough to read the PVD itself */
    r = hal_read(ISO_PVD_LBA, 1, s_sector);
    if (r != HAL_OK)
        return r;
    if (s_sector[0] == 1 && memcmp(s_sector + 1, "CD001", 5) == 0)
        s_disc_sectors = (uint32_t)s_sector[80] | ((uint32_t)s_sector[81] << 8) |
                         ((uint32_t)s_sector[82] << 16) | ((uint32_t)s_sector[83] << 24);
    else
        s_disc_sectors = 0xFFFFFFFFu; /* not ISO 9660: let the drive judge ranges */
    return HAL_OK;
}

uint32_t hal_disc_sectors(void)
{
    return s_disc_sectors;
}

int hal_read_start(uint32_t lba, uint32_t n_sectors, void *buf)
{
    if (n_sectors == 0 || buf == 0 || ((uintptr_t)buf & 15u))
        return HAL_ERR_ARGS;
    if (lba >= s_disc_sectors || n_sectors > s_disc_sectors - lba)
        return HAL_ERR_RANGE;
    int r = cdvd_read_start(lba, n_sectors, buf);
    if (r == CDVD_E_BUSY)
        return HAL_ERR_BUSY;
    if (r == CDVD_E_ARGS)
        return HAL_ERR_ARGS;
    return r < 0 ? _hal_status(r) : HAL_OK;
}

int hal_read_poll(void)
{
    int r = cdvd_read_poll();
    return r < 0 ? _hal_status(r) : r;
}

int hal_read_wait(void)
{
    int r;
    while ((r = hal_read_poll()) == 0)
        ;
    return r == 1 ? HAL_OK : r;
}

int hal_read(uint32_t lba, uint32_t n_sectors, void *buf)
{
    int r = hal_read_start(lba, n_sectors, buf);
    return r != HAL_OK ? r : hal_read_wait();
}

void hal_write(const char *text, size_t len)
{
    gs_console_write(&s_con, text, len);
    gs_console_flush(&s_con);
    ee_sio_write(text, len);
}

uint64_t hal_ticks(void)
{
    return ee_clock_ticks();
}

uint32_t hal_ticks_per_second(void)
{
    return EE_CLOCK_HZ;
}

void *hal_memory(size_t *size_out)
{
    uintptr_t start = ((uintptr_t)_end + 63u) & ~(uintptr_t)63u;
    uintptr_t end = EE_RAM_SIZE - RAM_TOP_RESERVE;
    if (size_out)
        *size_out = end > start ? (size_t)(end - start) : 0;
    return (void *)start;
}

/* The image is linked at 0x00100000 (sdk/startup/ps2.ld) and _end follows the stack. */
size_t hal_static_bytes(void)
{
    return (size_t)((uintptr_t)_end - 0x00100000u);
}

/* No port options: the PS2 reads its real drive (no throttle, no faults). */
int hal_configure(const char *key, const char *value)
{
    (void)key;
    (void)value;
    return HAL_ERR_ARGS;
}

uint64_t hal_bytes_read(void)
{
    return cdvd_bytes_read();
}

void hal_exit(int code)
{
    (void)code; /* the runtime has printed it; the screen stays as it is */
    gs_console_flush(&s_con);
    for (;;)
        ;
}
