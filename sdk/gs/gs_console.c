/* gs_console.c — character grid, scrolling and the pixel renderer (no hardware).
 * GIF tag and GS register layouts: ps2sdk common/include/gif_tags.h:80-83,
 * gs_gp.h:175-178 (BITBLTBUF), 308-318 (TRXDIR/TRXPOS/TRXREG); register ids
 * BITBLTBUF 0x50, TRXPOS 0x51, TRXREG 0x52, TRXDIR 0x53, A+D = 0xE
 * (REFERENCE.md §6; TEK PS2/GIF/GIFtags.md).
 */
#include <string.h>

#include "gs_console.h"
#include "gs_font.gen.h"

#if GS_FONT_W != GS_GLYPH_W || GS_FONT_H != GS_GLYPH_H
#error "font size does not match the console's glyph size"
#endif

void gs_console_reset(gs_console *c, uint32_t fg, uint32_t bg)
{
    memset(c->cells, 0, sizeof c->cells);
    c->row = c->col = 0;
    c->fg = fg;
    c->bg = bg;
    c->dirty = (GS_CON_ROWS >= 64) ? ~0ull : ((1ull << GS_CON_ROWS) - 1u);
}

static void _scroll(gs_console *c)
{
    memmove(c->cells[0], c->cells[1], (size_t)(GS_CON_ROWS - 1) * GS_CON_COLS);
    memset(c->cells[GS_CON_ROWS - 1], 0, GS_CON_COLS);
    c->row = GS_CON_ROWS - 1;
    c->dirty = (1ull << GS_CON_ROWS) - 1u;
}

static void _newline(gs_console *c)
{
    c->col = 0;
    if (++c->row >= GS_CON_ROWS)
        _scroll(c);
}

void gs_console_write(gs_console *c, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = (uint8_t)s[i];
        switch (ch) {
        case '\n':
            _newline(c);
            break;
        case '\r':
            c->col = 0;
            break;
        case '\b':
            if (c->col > 0)
                c->col--;
            break;
        case '\t':
            do {
                if (c->col >= GS_CON_COLS) {
                    _newline(c);
                    break;
                }
                c->cells[c->row][c->col++] = ' ';
                c->dirty |= 1ull << c->row;
            } while (c->col % GS_TAB);
            break;
        default:
            if (c->col >= GS_CON_COLS)
                _newline(c);
            c->cells[c->row][c->col++] = ch;
            c->dirty |= 1ull << c->row;
            break;
        }
    }
}

int gs_font_index(uint8_t ch)
{
    if (ch == 0)
        return ' ' - GS_FONT_FIRST; /* blank cell */
    if (ch < GS_FONT_FIRST || ch >= GS_FONT_FIRST + GS_FONT_REPLACEMENT)
        return GS_FONT_REPLACEMENT;
    return ch - GS_FONT_FIRST;
}

const uint8_t *gs_font_glyph(uint8_t ch)
{
    return gs_font_bits[gs_font_index(ch)];
}

void gs_console_render_row(const gs_console *c, int row, uint32_t *px, int stride)
{
    const uint8_t *cells = c->cells[row];
    for (int y = 0; y < GS_GLYPH_H; y++) {
        uint32_t *out = px + (size_t)y * (size_t)stride;
        for (int col = 0; col < GS_CON_COLS; col++) {
            uint8_t bits = gs_font_bits[gs_font_index(cells[col])][y];
            for (int x = 0; x < GS_GLYPH_W; x++)
                out[x] = (bits & (0x80u >> x)) ? c->fg : c->bg;
            out += GS_GLYPH_W;
        }
    }
}

void gs_console_render(const gs_console *c, uint32_t *fb, int stride)
{
    for (int r = 0; r < GS_CON_ROWS; r++)
        gs_console_render_row(c, r, fb + (size_t)r * GS_GLYPH_H * (size_t)stride, stride);
    for (int y = GS_CON_ROWS * GS_GLYPH_H; y < GS_SCREEN_H; y++)
        for (int x = 0; x < GS_SCREEN_W; x++)
            fb[(size_t)y * (size_t)stride + (size_t)x] = c->bg;
}

#define GIF_FLG_PACKED 0u
#define GIF_FLG_IMAGE 2u
#define GIF_REG_AD 0xEu
#define GS_REG_BITBLTBUF 0x50u
#define GS_REG_TRXPOS 0x51u
#define GS_REG_TRXREG 0x52u
#define GS_REG_TRXDIR 0x53u

uint64_t gs_giftag(uint32_t nloop, uint32_t eop, uint32_t flg, uint32_t nreg)
{
    return (uint64_t)(nloop & 0x7FFFu) | ((uint64_t)(eop & 1u) << 15) |
           ((uint64_t)(flg & 3u) << 58) | ((uint64_t)(nreg & 0xFu) << 60);
}

int gs_encode_upload_header(uint64_t hdr[12], uint32_t dbp, uint32_t dbw, uint32_t x,
                            uint32_t y, uint32_t w, uint32_t h)
{
    uint32_t qwc = (w * h * 4u + 15u) / 16u; /* PSMCT32: 4 pixels per quadword */
    hdr[0] = gs_giftag(4, 0, GIF_FLG_PACKED, 1);
    hdr[1] = GIF_REG_AD;
    /* BITBLTBUF: DBP bits 32-45, DBW 48-53, DPSM 56-61 (0 = PSMCT32) */
    hdr[2] = ((uint64_t)(dbp & 0x3FFFu) << 32) | ((uint64_t)(dbw & 0x3Fu) << 48);
    hdr[3] = GS_REG_BITBLTBUF;
    /* TRXPOS: DSAX bits 32-42, DSAY 48-58, DIR 0 */
    hdr[4] = ((uint64_t)(x & 0x7FFu) << 32) | ((uint64_t)(y & 0x7FFu) << 48);
    hdr[5] = GS_REG_TRXPOS;
    /* TRXREG: RRW bits 0-11, RRH 32-43 */
    hdr[6] = (uint64_t)(w & 0xFFFu) | ((uint64_t)(h & 0xFFFu) << 32);
    hdr[7] = GS_REG_TRXREG;
    hdr[8] = 0; /* TRXDIR XDIR 0: host -> local */
    hdr[9] = GS_REG_TRXDIR;
    hdr[10] = gs_giftag(qwc, 1, GIF_FLG_IMAGE, 0);
    hdr[11] = 0;
    return 6;
}
