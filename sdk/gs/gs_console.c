/* gs_console.c — character grid, scrolling and the pixel renderer (no hardware).
 * GIF tag and GS register layouts: ps2sdk common/include/gif_tags.h:80-83,
 * gs_gp.h:175-178 (BITBLTBUF), 308-318 (TRXDIR/TRXPOS/TRXREG); register ids
 * BITBLTBUF 0x50, TRXPOS 0x51, TRXREG 0x52, TRXDIR 0x53, A+D = 0xE
 * (REFERENCE.md §6; TEK PS2/GIF/GIFtags.md). Privileged register fields
 * (PMODE, DISPFB, DISPLAY): ps2sdk common/include/gs_privileged.h
 * GS_SET_PMODE/GS_SET_DISPFB/GS_SET_DISPLAY. UTF-8 decoding: RFC 3629 §3.
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
    c->clear = 1;
    c->u8_cp = 0;
    c->u8_need = c->u8_len = c->u8_lead = 0;
}

static void _scroll(gs_console *c)
{
    memmove(c->cells[0], c->cells[1], (size_t)(GS_CON_ROWS - 1) * GS_CON_COLS);
    memset(c->cells[GS_CON_ROWS - 1], 0, GS_CON_COLS);
    c->row = GS_CON_ROWS - 1;
    c->dirty = (GS_CON_ROWS >= 64) ? ~0ull : ((1ull << GS_CON_ROWS) - 1u);
}

static void _newline(gs_console *c)
{
    c->col = 0;
    if (++c->row >= GS_CON_ROWS)
        _scroll(c);
}

/* The row is full and a character that is not a space follows: break the
 * line at its last space (blanked), moving the word in progress to the next
 * row. A word as wide as the row (no space after column 0) is cut there. */
static void _wrap(gs_console *c)
{
    uint8_t word[GS_CON_COLS];
    uint8_t *row = c->cells[c->row];
    int k = GS_CON_COLS - 1, n = 0;
    while (k > 0 && row[k] != ' ')
        k--;
    if (k > 0) {
        n = GS_CON_COLS - 1 - k;
        memcpy(word, row + k + 1, (size_t)n);
        memset(row + k, 0, (size_t)n + 1u); /* the space is the break */
        c->dirty |= 1ull << c->row;
    }
    _newline(c); /* may scroll: row is stale from here */
    memcpy(c->cells[c->row], word, (size_t)n);
    c->col = n;
    c->dirty |= 1ull << c->row;
}

static void _put(gs_console *c, uint8_t ch)
{
    if (c->col >= GS_CON_COLS) {
        if (ch == ' ') { /* the space at a line break is the break */
            _newline(c);
            return;
        }
        _wrap(c);
    }
    c->cells[c->row][c->col++] = ch;
    c->dirty |= 1ull << c->row;
}

/* One byte that is not part of a UTF-8 sequence. */
static void _byte(gs_console *c, uint8_t ch)
{
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
        _put(c, ch);
        break;
    }
}

/* A sequence that ended early: one replacement cell for it. */
static void _u8_abort(gs_console *c)
{
    if (c->u8_need) {
        c->u8_need = 0;
        _put(c, c->u8_lead);
    }
}

static void _u8_done(gs_console *c)
{
    /* Unicode 15 §3.9 D92 (RFC 3629 §3): shortest form only, no surrogates. */
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t cp = c->u8_cp;
    const char *fold = 0;
    if (cp >= min_cp[c->u8_len] && cp <= 0x10FFFFu && (cp < 0xD800u || cp > 0xDFFFu))
        fold = gs_utf8_fold(cp);
    if (fold == 0)
        _put(c, c->u8_lead);
    else
        while (*fold)
            _put(c, (uint8_t)*fold++);
}

void gs_console_write(gs_console *c, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = (uint8_t)s[i];
        if (c->u8_need) {
            if ((ch & 0xC0u) == 0x80u) { /* continuation byte */
                c->u8_cp = (c->u8_cp << 6) | (ch & 0x3Fu);
                if (--c->u8_need == 0)
                    _u8_done(c);
                continue;
            }
            _u8_abort(c);
        }
        if (ch >= 0xC2u && ch <= 0xF4u) { /* lead byte of a 2-, 3- or 4-byte sequence */
            c->u8_need = ch >= 0xF0u ? 3 : ch >= 0xE0u ? 2 : 1;
            c->u8_len = (uint8_t)(c->u8_need + 1);
            c->u8_cp = ch & (0x3Fu >> c->u8_need);
            c->u8_lead = ch;
            continue;
        }
        _byte(c, ch); /* ASCII, or a byte that cannot start a sequence */
    }
}

/* Latin-1 letters U+00C0-U+00FF without their accents (U+00D7 and U+00F7 are
 * the multiplication and division signs). */
static const char *const s_latin1[64] = {
    "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",
    "D", "N", "O", "O", "O", "O", "O", "x", "O", "U", "U", "U", "U", "Y", "Th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", "/", "o", "u", "u", "u", "u", "y", "th", "y",
};

const char *gs_utf8_fold(uint32_t cp)
{
    if (cp >= 0xC0u && cp <= 0xFFu)
        return s_latin1[cp - 0xC0u];
    if (cp >= 0x2010u && cp <= 0x2015u) /* hyphens and dashes */
        return "-";
    if ((cp >= 0x2000u && cp <= 0x200Au) || cp == 0x202Fu) /* spaces */
        return " ";
    switch (cp) {
    case 0x00A0u: return " ";    /* no-break space */
    case 0x00ABu: return "<<";
    case 0x00BBu: return ">>";
    case 0x00B7u: return ".";    /* middle dot */
    case 0x2018u: case 0x2019u: case 0x201Au: case 0x201Bu: case 0x2032u:
        return "'";
    case 0x201Cu: case 0x201Du: case 0x201Eu: case 0x201Fu: case 0x2033u:
        return "\"";
    case 0x2022u: return "*";    /* bullet */
    case 0x2026u: return "...";  /* ellipsis */
    case 0x2039u: return "<";
    case 0x203Au: return ">";
    case 0x2192u: return "->";
    case 0x2212u: return "-";    /* minus sign */
    default: return 0;
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
        for (int x = 0; x < GS_CON_X0; x++)
            *out++ = c->bg;
        for (int col = 0; col < GS_CON_COLS; col++) {
            uint8_t bits = gs_font_bits[gs_font_index(cells[col])][y];
            for (int x = 0; x < GS_GLYPH_W; x++)
                out[x] = (bits & (0x80u >> x)) ? c->fg : c->bg;
            out += GS_GLYPH_W;
        }
        for (int x = GS_CON_X0 + GS_CON_COLS * GS_GLYPH_W; x < GS_SCREEN_W; x++)
            *out++ = c->bg;
    }
}

void gs_console_render(const gs_console *c, uint32_t *fb, int stride)
{
    for (int y = 0; y < GS_SCREEN_H; y++)
        for (int x = 0; x < GS_SCREEN_W; x++)
            fb[(size_t)y * (size_t)stride + (size_t)x] = c->bg;
    for (int r = 0; r < GS_CON_ROWS; r++)
        gs_console_render_row(c, r, fb + (size_t)(GS_CON_Y0 + r * GS_GLYPH_H) * (size_t)stride,
                              stride);
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

uint64_t gs_pmode(uint32_t en1, uint32_t en2, uint32_t mmod, uint32_t amod, uint32_t slbg,
                  uint32_t alp)
{
    return (uint64_t)((en1 & 1u) | ((en2 & 1u) << 1) | (1u << 2) | ((mmod & 1u) << 5) |
                      ((amod & 1u) << 6) | ((slbg & 1u) << 7) | ((alp & 0xFFu) << 8));
}

uint64_t gs_dispfb(uint32_t fbp, uint32_t fbw, uint32_t psm, uint32_t dbx, uint32_t dby)
{
    return (uint64_t)((fbp & 0x1FFu) | ((fbw & 0x3Fu) << 9) | ((psm & 0x1Fu) << 15)) |
           ((uint64_t)(dbx & 0x7FFu) << 32) | ((uint64_t)(dby & 0x7FFu) << 43);
}

uint64_t gs_display(uint32_t dx, uint32_t dy, uint32_t magh, uint32_t magv, uint32_t dw,
                    uint32_t dh)
{
    return (uint64_t)((dx & 0xFFFu) | ((dy & 0x7FFu) << 12) | ((magh & 0xFu) << 23) |
                      ((magv & 3u) << 27)) |
           ((uint64_t)(dw & 0xFFFu) << 32) | ((uint64_t)(dh & 0x7FFu) << 44);
}
