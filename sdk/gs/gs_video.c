/* gs_video.c — GS video mode and PATH3 uploads for the text console.
 *
 * REFERENCE.md §6 (sources: ps2sdk ee/debug/src/scr_printf.c:57-122,
 * ee/graph/src/graph_mode.c:22,195-265, common/include/gs_privileged.h:53-134;
 * naken_asm samples/playstation2/draw_image.asm):
 *   CSR 0x12001000 = 0x200 resets the GS; GsPutIMR(0xFF00) masks GS
 *   interrupts; SetGsCrt(1, 2, 1) = interlaced, NTSC, frame mode;
 *   PMODE 0x12000000 = 0xFF25 (circuit 1, CRTMD 1, ALP from register);
 *   DISPFB1 0x12000070 = 0x1400 (FBP 0, FBW 10 = 640 px, PSMCT32);
 *   DISPLAY1 0x12000080 = 0x001BF9FF_0181A28C (DX 652, DY 26, MAGH 3,
 *   DW 2559, DH 447); BGCOLOR 0x120000E0.
 *   GIF DMA channel 2: CHCR 0x1000A000, MADR A010, QWC A020; D_CTRL
 *   0x1000E000 bit 0 enables the DMAC; CHCR = 0x101 (from memory, start),
 *   wait for bit 8 to clear. Data must be in RAM: write the D-cache back.
 * The frame buffer is the one at VRAM block 0 that DISPFB1 shows; no drawing
 * primitives are used, only host-to-local image transfers.
 * The privileged registers are 64-bit and are written with ee_write64 (one
 * `sd`; see ee_kernel.h for why a C uint64_t store is not enough with o32).
 */
#include "ee_kernel.h"
#include "gs_console.h"

#define GS_PMODE 0x12000000u
#define GS_SMODE2 0x12000020u
#define GS_DISPFB1 0x12000070u
#define GS_DISPLAY1 0x12000080u
#define GS_BGCOLOR 0x120000E0u
#define GS_CSR 0x12001000u

#define D2_CHCR 0x1000A000u
#define D2_MADR 0x1000A010u
#define D2_QWC 0x1000A020u
#define D_CTRL 0x1000E000u

#define FB_DBW (GS_SCREEN_W / 64)
#define ROW_PIXELS (GS_SCREEN_W * GS_GLYPH_H)

/* One row upload: 6 header quadwords then 640x13 pixels. */
static uint32_t s_row_pkt[24 + ROW_PIXELS] __attribute__((aligned(64)));

static void _gif_dma_wait(void)
{
    while (EE_REG32(D2_CHCR) & 0x100u)
        ;
}

static void _gif_send(const void *pkt, uint32_t qwc)
{
    _gif_dma_wait();
    ee_dcache_writeback_invalidate(pkt, qwc * 16u);
    EE_REG32(D2_MADR) = EE_PHYS(pkt);
    EE_REG32(D2_QWC) = qwc;
    EE_REG32(D2_CHCR) = 0x101u; /* DIR from memory, normal mode, STR */
    _gif_dma_wait();
}

void gs_set_bgcolor(uint32_t rgb)
{
    ee_write64(GS_BGCOLOR, rgb & 0xFFFFFFu);
}

int gs_video_init(void)
{
    ee_write64(GS_CSR, 0x200); /* RESET */
    ee_write64(GS_CSR, 0);     /* then clear CSR, as ps2sdk graph_set_mode does */
    __asm__ volatile("sync.p" ::: "memory");
    GsPutIMR(0xFF00);
    SetGsCrt(1, 2, 1); /* interlaced, NTSC, frame mode */
    EE_REG32(D_CTRL) |= 1u;
    /* The frame buffer first, then turn read circuit 1 on (ps2sdk's graph
     * library also enables the output last). */
    ee_write64(GS_DISPFB1, gs_dispfb(0, FB_DBW, 0, 0, 0));        /* 0x1400 */
    ee_write64(GS_DISPLAY1, gs_display(652, 26, 3, 0, 2559, 447)); /* 0x001BF9FF_0181A28C */
    ee_write64(GS_PMODE, gs_pmode(1, 0, 1, 0, 0, 0xFF));          /* 0xFF25 */
    gs_set_bgcolor(0);
    return 0;
}

/* Upload the pixels already in s_row_pkt as the band of h lines at y. */
static void _upload_band(uint32_t y, uint32_t h)
{
    int hq = gs_encode_upload_header((uint64_t *)s_row_pkt, 0, FB_DBW, 0, y, GS_SCREEN_W, h);
    _gif_send(s_row_pkt, (uint32_t)hq + GS_SCREEN_W * h / 4u);
}

void gs_console_flush(gs_console *c)
{
    uint32_t *px = s_row_pkt + 24; /* after the 6 header quadwords */
    if (c->clear) {
        /* VRAM holds whatever was there before the reset: paint the whole
         * frame, margins included, in the background colour. */
        for (int i = 0; i < ROW_PIXELS; i++)
            px[i] = c->bg;
        for (uint32_t y = 0; y < GS_SCREEN_H; y += GS_GLYPH_H)
            _upload_band(y, GS_SCREEN_H - y < GS_GLYPH_H ? GS_SCREEN_H - y : GS_GLYPH_H);
        c->clear = 0;
    }
    for (int r = 0; r < GS_CON_ROWS; r++) {
        if (!(c->dirty & (1ull << r)))
            continue;
        gs_console_render_row(c, r, px, GS_SCREEN_W);
        _upload_band((uint32_t)(GS_CON_Y0 + r * GS_GLYPH_H), GS_GLYPH_H);
    }
    c->dirty = 0;
}
