/* crc32.h — CRC32 as zlib computes it (ISO-HDLC: reflected 0xEDB88320, initial
 * and final XOR 0xFFFFFFFF), the checksum of every PSNT section. */
#ifndef PS2LLM_CRC32_H
#define PS2LLM_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* crc = crc32_update(0, a, n); crc = crc32_update(crc, b, m); equals zlib.crc32(a+b). */
uint32_t crc32_update(uint32_t crc, const void *data, size_t len);

#endif
