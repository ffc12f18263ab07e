/* cdvd.c — sector reads through the IOP's CDVDFSV server.
 *
 * Sequence (REFERENCE.md §4 "Simplest correct read"): sif_init; bind
 * 0x80000592 and call fno 0 {mode 0}; bind 0x80000593 (S) and 0x80000595 (N);
 * N fno 0x0E (DiskReady) until it answers 2; then per read: write back and
 * invalidate the buffer's cache lines, N fno 1 with {lbn, n, buf, rmode,
 * remain, pos}, rmode 1 so END arrives when the IOP is done (ps2sdk
 * ncmd.c:184-232 does the same with an end callback); then S fno 4
 * (GetError) must be 0 -- the read's own result word is 0 on Play!
 * (Iop_Cdvdfsv.cpp Read) so we do not use it.
 * The IOP DMAs sectors straight into a 64-aligned buffer; for an unaligned one
 * it would split head/tail into the "remain" area whose layout depends on the
 * CDVDFSV version (cdvdfsv.c:1057-1217, ncmd.c:128-180), so we never hand it
 * one: unaligned reads go through our own 64-aligned bounce buffer.
 */
#include <string.h>

#include "cdvd.h"
#include "ee_clock.h"
#include "ee_kernel.h"
#include "sif.h"

#define SECTOR 2048u
#define BOUNCE_SECTORS 16u
#define DIRECT_CHUNK_MAX 256u /* sectors per RPC call; keeps timeouts sane */
#define MAX_TRIES 3
#define RPC_TIMEOUT_MS 5000u

static sif_rpc_client s_init_client, s_scmd, s_ncmd;
static uint32_t s_send[16] __attribute__((aligned(64)));
static uint32_t s_recv[16] __attribute__((aligned(64)));
static uint32_t s_remain[48] __attribute__((aligned(64))); /* 144 bytes used */
static uint32_t s_pos[16] __attribute__((aligned(64)));
static uint8_t s_bounce[BOUNCE_SECTORS * SECTOR] __attribute__((aligned(64)));

static struct {
    int active;
    int result; /* last finished read: 1 ok or <0 */
    uint32_t lba, n, done, chunk;
    uint8_t *dst;
    int direct;
    int tries;
    uint64_t deadline;
} s_rd;

static int s_ready;
static uint64_t s_bytes_read;

static int _sif_err(int r)
{
    return r == SIF_ERR_TIMEOUT ? CDVD_E_TIMEOUT : CDVD_E_SIF;
}

/* Synchronous call whose reply is one u32. */
static int _call_u32(sif_rpc_client *c, uint32_t fno, uint32_t ssize, uint32_t *out)
{
    volatile uint32_t *rv = (volatile uint32_t *)EE_UNCACHED(s_recv);
    rv[0] = 0xFFFFFFFFu;
    int r = sif_rpc_call(c, fno, ssize ? EE_UNCACHED(s_send) : 0, ssize, s_recv, 16,
                         RPC_TIMEOUT_MS);
    if (r != SIF_OK)
        return _sif_err(r);
    *out = rv[0];
    return 0;
}

int cdvd_get_error(void)
{
    uint32_t e;
    int r = _call_u32(&s_scmd, CDVD_SCMD_GETERROR, 0, &e);
    return r < 0 ? r : (int)(e & 0xFFu);
}

int cdvd_disk_ready(void)
{
    uint32_t v;
    int r = _call_u32(&s_ncmd, CDVD_NCMD_DISKREADY, 0, &v);
    return r < 0 ? r : (int)v;
}

int cdvd_init(void)
{
    if (s_ready)
        return 0;
    int r = sif_init();
    if (r != SIF_OK)
        return _sif_err(r);
    if (sif_rpc_bind(&s_init_client, CDVD_SID_INIT, 10000) != SIF_OK)
        return CDVD_E_SIF;
    uint32_t v;
    cdvd_encode_init((uint32_t *)EE_UNCACHED(s_send), 0); /* SCECdINIT */
    r = _call_u32(&s_init_client, 0, 4, &v);
    if (r < 0)
        return r;
    if (sif_rpc_bind(&s_scmd, CDVD_SID_SCMD, 10000) != SIF_OK ||
        sif_rpc_bind(&s_ncmd, CDVD_SID_NCMD, 10000) != SIF_OK)
        return CDVD_E_SIF;
    uint64_t deadline = ee_clock_ticks() + 30ull * EE_CLOCK_HZ; /* spin-up, tray */
    for (;;) {
        r = cdvd_disk_ready();
        if (r == (int)CDVD_DISK_READY)
            break;
        if (r < 0)
            return r;
        if (ee_clock_ticks() > deadline) {
            int e = cdvd_get_error();
            return e > 0 ? e : CDVD_E_NOT_READY;
        }
        ee_delay_us(10000);
    }
    s_ready = 1;
    return 0;
}

static int _issue_chunk(void)
{
    uint32_t left = s_rd.n - s_rd.done;
    uint32_t cap = s_rd.direct ? DIRECT_CHUNK_MAX : BOUNCE_SECTORS;
    s_rd.chunk = left < cap ? left : cap;
    uint8_t *dest = s_rd.direct ? s_rd.dst + (size_t)s_rd.done * SECTOR : s_bounce;
    ee_dcache_writeback_invalidate(dest, s_rd.chunk * SECTOR);

    volatile uint32_t *rem = (volatile uint32_t *)EE_UNCACHED(s_remain);
    for (int i = 0; i < 48; i++)
        rem[i] = 0;
    uint32_t *req = (uint32_t *)EE_UNCACHED(s_send);
    cdvd_encode_read(req, s_rd.lba + s_rd.done, s_rd.chunk, (uint32_t)(uintptr_t)dest,
                     cdvd_encode_rmode(0, CDVD_SPIN_NOMINAL, CDVD_PATTERN_2048),
                     (uint32_t)(uintptr_t)s_remain, (uint32_t)(uintptr_t)s_pos);
    /* Generous: 10 s plus 20 ms per sector (a 1x CD needs 13 ms). */
    s_rd.deadline = ee_clock_ticks() + 10ull * EE_CLOCK_HZ +
                    (uint64_t)s_rd.chunk * (EE_CLOCK_HZ / 50u);
    int r = sif_rpc_call_start(&s_ncmd, CDVD_NCMD_READ, req, 24, 0, 0);
    return r == SIF_OK ? 0 : _sif_err(r);
}

int cdvd_read_start(uint32_t lba, uint32_t n, void *buf)
{
    if (!s_ready || n == 0 || buf == 0 || ((uintptr_t)buf & 15u))
        return CDVD_E_ARGS;
    if (s_rd.active)
        return CDVD_E_BUSY;
    s_rd.lba = lba;
    s_rd.n = n;
    s_rd.done = 0;
    s_rd.dst = (uint8_t *)buf;
    s_rd.direct = ((uintptr_t)buf & 63u) == 0;
    s_rd.tries = 0;
    s_rd.active = 1;
    int r = _issue_chunk();
    if (r < 0) {
        s_rd.active = 0;
        s_rd.result = r;
    }
    return r;
}

static int _finish(int result)
{
    s_rd.active = 0;
    s_rd.result = result;
    return result;
}

int cdvd_read_poll(void)
{
    if (!s_rd.active)
        return s_rd.result ? s_rd.result : 1; /* nothing started: idle = done */
    if (!sif_rpc_call_done(&s_ncmd)) {
        if (ee_clock_ticks() > s_rd.deadline) {
            sif_rpc_abandon(&s_ncmd);
            return _finish(CDVD_E_TIMEOUT);
        }
        return 0;
    }
    int err = cdvd_get_error();
    if (err < 0)
        return _finish(err);
    if (err != CDVD_ERR_NONE) {
        if (++s_rd.tries >= MAX_TRIES)
            return _finish(-err);
        int r = _issue_chunk(); /* same chunk again */
        return r < 0 ? _finish(r) : 0;
    }
    if (!s_rd.direct)
        memcpy(s_rd.dst + (size_t)s_rd.done * SECTOR, s_bounce, (size_t)s_rd.chunk * SECTOR);
    s_rd.done += s_rd.chunk;
    s_bytes_read += (uint64_t)s_rd.chunk * SECTOR;
    s_rd.tries = 0;
    if (s_rd.done < s_rd.n) {
        int r = _issue_chunk();
        return r < 0 ? _finish(r) : 0;
    }
    return _finish(1);
}

int cdvd_read_wait(void)
{
    int r;
    while ((r = cdvd_read_poll()) == 0)
        ;
    return r == 1 ? 0 : r;
}

uint64_t cdvd_bytes_read(void)
{
    return s_bytes_read;
}
