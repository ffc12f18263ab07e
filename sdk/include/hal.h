/* hal.h — the hardware layer under the ps2llm runtime.
 *
 * ee_runtime_c/ calls only this. Each port (sdk/ps2, sdk/linux-mips, sdk/host)
 * implements it; everything above it is the same C on every target.
 *
 * The disc is seen as an array of 2048-byte sectors. On the PS2 it is the CD/DVD
 * in the drive; on linux-mips and host it is an image file (an ISO, or a bare PSNT
 * file, which then reads as a disc holding only MODEL.PSN). Finding a file on the
 * disc (ISO 9660) is portable code above this layer: see iso9660.h.
 */
#ifndef PS2LLM_HAL_H
#define PS2LLM_HAL_H

#include <stddef.h>
#include <stdint.h>

#define HAL_SECTOR_SIZE 2048u

/* Status codes shared by the hardware layer and the runtime. 0 is success. */
typedef enum {
    HAL_OK = 0,
    HAL_ERR_IO = -1,        /* a read failed (after the port's own retries) */
    HAL_ERR_RANGE = -2,     /* LBA past the end of the disc */
    HAL_ERR_BUSY = -3,      /* a read is already in flight */
    HAL_ERR_NOT_FOUND = -4, /* no such file on the disc */
    HAL_ERR_NO_DISC = -5,   /* no disc / image could not be opened */
    HAL_ERR_ARGS = -6       /* bad arguments to a hal call */
} hal_status;

/* Start-up: open the disc. disc_path names the image file on linux-mips and host;
 * the ps2 port ignores it and uses the drive. Returns HAL_OK or an error. */
int hal_init(const char *disc_path);

/* Number of 2048-byte sectors on the disc. */
uint32_t hal_disc_sectors(void);

/* Asynchronous sector read: start reading n_sectors at lba into buf (16-byte
 * aligned, n_sectors*2048 bytes). One read in flight at a time.
 * hal_read_poll: 1 done (ok), 0 still busy, <0 failed (hal_status).
 * hal_read_wait: block until done; HAL_OK or <0. */
int hal_read_start(uint32_t lba, uint32_t n_sectors, void *buf);
int hal_read_poll(void);
int hal_read_wait(void);

/* Synchronous convenience: start + wait. */
int hal_read(uint32_t lba, uint32_t n_sectors, void *buf);

/* Text out: screen (where there is one) and debug console. Not NUL-terminated. */
void hal_write(const char *text, size_t len);

/* Monotonic clock. */
uint64_t hal_ticks(void);
uint32_t hal_ticks_per_second(void);

/* The one memory region the runtime's arena may use, fixed at start-up. */
void *hal_memory(size_t *size_out);

/* Bytes read from the disc so far (counted at the hardware layer). */
uint64_t hal_bytes_read(void);

/* Stop. The ps2 port keeps the screen up and halts; others exit the process. */
void hal_exit(int code) __attribute__((noreturn));

#endif
