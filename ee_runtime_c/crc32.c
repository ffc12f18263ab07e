/* crc32.c — CRC32 by "slicing by 4" (four 1 KiB tables, built on first use):
 * four bytes per step, so checking streamed weights costs little next to the
 * matrix products that use them. Tables as in zlib's crc32.c (braided tables
 * there); the result is the plain bytewise CRC's. */
#include "crc32.h"

static uint32_t crc_table[4][256];
static int crc_table_ready;

static void build_table(void)
{
    uint32_t i, c;
    int k;
    for (i = 0; i < 256; i++) {
        c = i;
        for (k = 0; k < 8; k++)
            c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (i = 0; i < 256; i++)
        for (k = 1; k < 4; k++)
            crc_table[k][i] = crc_table[0][crc_table[k - 1][i] & 0xFFu] ^ (crc_table[k - 1][i] >> 8);
    crc_table_ready = 1;
}

uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = (const uint8_t *)data;
    if (!crc_table_ready)
        build_table();
    crc = ~crc;
    for (; len >= 4; len -= 4, p += 4) {
        crc ^= (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        crc = crc_table[3][crc & 0xFFu] ^ crc_table[2][(crc >> 8) & 0xFFu]
            ^ crc_table[1][(crc >> 16) & 0xFFu] ^ crc_table[0][crc >> 24];
    }
    while (len--)
        crc = crc_table[0][(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}
