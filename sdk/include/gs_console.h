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
/* The text area leaves a margin of 16 pixels on every side: a TV's overscan
 * hides the picture's edges, and text in the outer few percent is cut off or
 * distorted (the usual "title safe" area is the inner 90%). */
#define GS_CON_X0 16
#define GS_CON_Y0 16
#define GS_CON_COLS ((GS_SCREEN_W - 2 * GS_CON_X0) / GS_GLYPH_W)  /* 76 */
#define GS_CON_ROWS ((GS_SCREEN_H - 2 * GS_CON_Y0) / GS_GLYPH_H)  /* 32 */
#define GS_TAB 8

/* PSMCT32 pixel: R in bits 0-7, G 8-15, B 16-23, A 24-31. */
#define GS_RGB(r, g, b) ((uint32_t)(r) | ((uint32_t)(g) << 8) | ((uint32_t)(b) << 16) | 0x80000000u)

typedef struct {
    /* One byte per cell, 0 = blank: printable ASCII as written; a character
     * the font lacks shows the replacement glyph and is stored as its first
     * byte (a control byte, a stray UTF-8 byte, or the lead byte of a UTF-8
     * sequence that gs_utf8_fold does not map to ASCII). */
    uint8_t cells[GS_CON_ROWS][GS_CON_COLS];
    int row, col;
    uint32_t fg, bg;
    uint64_t dirty; /* bit r: row r changed since the last flush */
    int clear;      /* the whole frame (margins too) needs the background */
    /* a UTF-8 sequence in progress (it may span gs_console_write calls) */
    uint32_t u8_cp;
    uint8_t u8_need, u8_len, u8_lead;
} gs_console;

/* Clear the grid and set the colours; the next flush repaints the whole frame. */
void gs_console_reset(gs_console *c, uint32_t fg, uint32_t bg);
/* Interpret UTF-8 text: '\n' new line, '\r' column 0, '\t' to the next
 * multiple of 8, '\b' back one; one cell per character (see cells above).
 * Wraps at GS_CON_COLS columns (at the last space of the row when there is
 * one; the space at the break is dropped), scrolls up at the bottom. */
void gs_console_write(gs_console *c, const char *s, size_t n);
/* ASCII stand-in for a code point the font lacks, or NULL: typographic
 * punctuation (quotes, dashes, ellipsis, no-break space...) and the Latin-1
 * letters without their accents. */
const char *gs_utf8_fold(uint32_t cp);
/* Glyph index in the font table for a byte. */
int gs_font_index(uint8_t ch);
const uint8_t *gs_font_glyph(uint8_t ch); /* GS_GLYPH_H row bytes, MSB left */
/* Render text row `row` as the GS_SCREEN_W x GS_GLYPH_H band of the frame at
 * y = GS_CON_Y0 + row * GS_GLYPH_H: the left and right margins in the
 * background colour, the text from x = GS_CON_X0 (stride in pixels). */
void gs_console_render_row(const gs_console *c, int row, uint32_t *px, int stride);
/* Render the whole screen (GS_SCREEN_W x GS_SCREEN_H, margins included). */
void gs_console_render(const gs_console *c, uint32_t *fb, int stride);

/* GIF packet that uploads a w x h PSMCT32 rectangle to (x, y) of the frame
 * buffer at block address dbp (64-word units), width dbw (64-pixel units):
 * a PACKED A+D tag setting BITBLTBUF, TRXPOS, TRXREG, TRXDIR, then an IMAGE
 * tag for the pixel quadwords that must follow. Writes 12 uint64_t (6 qwords),
 * returns 6. */
int gs_encode_upload_header(uint64_t hdr[12], uint32_t dbp, uint32_t dbw, uint32_t x,
                            uint32_t y, uint32_t w, uint32_t h);
uint64_t gs_giftag(uint32_t nloop, uint32_t eop, uint32_t flg, uint32_t nreg);

/* GS privileged register values (ps2sdk common/include/gs_privileged.h;
 * REFERENCE.md §6). Each is one 64-bit register: write it with ee_write64. */
/* PMODE: EN1 bit 0, EN2 1, CRTMD 2-4 (always 1), MMOD 5, AMOD 6, SLBG 7, ALP 8-15. */
uint64_t gs_pmode(uint32_t en1, uint32_t en2, uint32_t mmod, uint32_t amod, uint32_t slbg,
                  uint32_t alp);
/* DISPFB1/2: FBP 0-8 (2048-word pages), FBW 9-14 (64-pixel units), PSM 15-19,
 * DBX 32-42, DBY 43-53. */
uint64_t gs_dispfb(uint32_t fbp, uint32_t fbw, uint32_t psm, uint32_t dbx, uint32_t dby);
/* DISPLAY1/2: DX 0-11, DY 12-22, MAGH 23-26, MAGV 27-28, DW 32-43, DH 44-54
 * (DX, DW in VCK units; MAGH, MAGV, DW, DH are the value minus one). */
uint64_t gs_display(uint32_t dx, uint32_t dy, uint32_t magh, uint32_t magv, uint32_t dw,
                    uint32_t dh);

/* ---- hardware (gs_video.c) ---- */
int gs_video_init(void);               /* NTSC 640x448 interlaced, frame mode */
void gs_console_flush(gs_console *c);  /* upload dirty rows */
void gs_set_bgcolor(uint32_t rgb);     /* BGCOLOR: cheap progress signal */

#endif
