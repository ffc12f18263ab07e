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

/* The scratchpad: HAL_SCRATCH_BYTES of fast memory beside the CPU, filled by DMA
 * while the CPU computes (the PS2's 16 KB scratchpad at 0x70000000, filled by DMA
 * channel 9, toSPR; elsewhere a static buffer filled by memcpy). The runtime stages
 * weights through it so that the kernels never wait on a RAM cache miss
 * (docs/PLANNER.md, "Scratchpad staging").
 * hal_scratch: its first byte, 64-byte aligned.
 * hal_scratch_sync: make RAM hold every byte the CPU wrote (the EE's D-cache is
 *     write-back and DMA reads RAM); call it before fills from such data.
 * hal_scratch_fill: start copying bytes (a multiple of 16) from src (16-byte
 *     aligned, in RAM) to dst inside the scratchpad (16-byte aligned); one fill in
 *     flight at a time. hal_scratch_wait: block until the last fill has landed. */
#define HAL_SCRATCH_BYTES 16384u
void *hal_scratch(void);
void hal_scratch_sync(void);
void hal_scratch_fill(void *dst, const void *src, uint32_t bytes);
void hal_scratch_wait(void);

/* Bytes read from the disc so far (counted at the hardware layer). */
uint64_t hal_bytes_read(void);

/* Bytes of the program image in RAM (code, data, bss, and the stack where the
 * port places it inside the image); 0 where the port does not know. With the
 * arena's high-water mark it gives the peak RAM of a run. */
size_t hal_static_bytes(void);

/* Port options, set before hal_init (the app passes its command line's
 * --throttle and --fault here). HAL_OK, or HAL_ERR_ARGS for an unknown key or a
 * bad value; the ps2 port knows none (it has the real drive).
 *
 * "throttle" "MBPS,SEEK_MS" (linux-mips, host): model a drive. A read started at
 *     time t completes at t + SEEK_MS (unless it starts at the sector where the
 *     previous read ended) + bytes / (MBPS * 2^20 per second): the data is copied
 *     at start, poll reports busy (0) until then, wait sleeps until then. The CPU
 *     runs meanwhile, as it does while the PS2's drive reads.
 * "fault" "SPEC[,SPEC...]" (linux-mips, host): inject faults into the reads
 *     started after this call, counted from 1. SPEC is KIND@N (the Nth read),
 *     KIND@N+ (the Nth and every later one) or KIND/K (every Kth). KIND:
 *       read-error  the read reports HAL_ERR_IO (hal_read_poll/wait < 0);
 *       short-read  only the first half of the sectors arrive, yet the read
 *                   reports success (what a port that loses a transfer does);
 *       flip        a bit of each sector is inverted (the lowest bit of its
 *                   first byte), and the read succeeds.
 *     Only a checksum catches the last two: the streamer's --verify. */
int hal_configure(const char *key, const char *value);

/* Stop. The ps2 port keeps the screen up and halts; others exit the process. */
void hal_exit(int code) __attribute__((noreturn));

#endif
