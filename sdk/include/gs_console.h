/* gs_console.h — text console on the GS: a character grid in EE RAM, rendered
 * row by row into 32-bit pixels and uploaded to VRAM over GIF PATH3.
 *
 * The grid and the renderer are plain C (host-tested in tests/test_sdk.py);
 * gs_video.c does the hardware (REFERENCE.md §6).
 */
#ifndef PS2LLM_GS_CONSOLE_H
#define PS2LLM_GS_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#define GS_SCREEN_W 640
#define GS_SCREEN_H 448
#define GS_GLYPH_W 8
#define GS_GLYPH_H 13
#define GS_CON_COLS (GS_SCREEN_W / GS_GLYPH_W)  /* 80 */
#define GS_CON_ROWS (GS_SCREEN_H / GS_GLYPH_H)  /* 34 */
#define GS_TAB 8

/* PSMCT32 pixel: R in bits 0-7, G 8-15, B 16-23, A 24-31. */
#define GS_RGB(r, g, b) ((uint32_t)(r) | ((uint32_t)(g) << 8) | ((uint32_t)(b) << 16) | 0x80000000u)

typedef struct {
    uint8_t cells[GS_CON_ROWS][GS_CON_COLS]; /* bytes as written; 0 = blank */
    int row, col;
    uint32_t fg, bg;
    uint64_t dirty; /* bit r: row r changed since the last flush */
} gs_console;

void gs_console_reset(gs_console *c, uint32_t fg, uint32_t bg);
/* Interpret bytes: '\n' new line, '\r' column 0, '\t' to the next multiple
 * of 8, '\b' back one; other bytes are stored (non-printable ones show the
 * replacement glyph). Wraps at 80 columns, scrolls up at the bottom. */
void gs_console_write(gs_console *c, const char *s, size_t n);
/* Glyph index in the font table for a byte. */
int gs_font_index(uint8_t ch);
const uint8_t *gs_font_glyph(uint8_t ch); /* GS_GLYPH_H row bytes, MSB left */
/* Render text row `row` into GS_SCREEN_W x GS_GLYPH_H pixels (stride in pixels). */
void gs_console_render_row(const gs_console *c, int row, uint32_t *px, int stride);
/* Render the whole screen (GS_SCREEN_W x GS_SCREEN_H; rows below the last text
 * row get the background). */
void gs_console_render(const gs_console *c, uint32_t *fb, int stride);

/* GIF packet that uploads a w x h PSMCT32 rectangle to (x, y) of the frame
 * buffer at block address dbp (64-word units), width dbw (64-pixel units):
 * a PACKED A+D tag setting BITBLTBUF, TRXPOS, TRXREG, TRXDIR, then an IMAGE
 * tag for the pixel quadwords that must follow. Writes 12 uint64_t (6 qwords),
 * returns 6. */
int gs_encode_upload_header(uint64_t hdr[12], uint32_t dbp, uint32_t dbw, uint32_t x,
                            uint32_t y, uint32_t w, uint32_t h);
uint64_t gs_giftag(uint32_t nloop, uint32_t eop, uint32_t flg, uint32_t nreg);

/* ---- hardware (gs_video.c) ---- */
int gs_video_init(void);               /* NTSC 640x448 interlaced, frame mode */
void gs_console_flush(gs_console *c);  /* upload dirty rows */
void gs_set_bgcolor(uint32_t rgb);     /* BGCOLOR: cheap progress signal */

#endif
