/* hal_host.c — the hardware layer on a POSIX host (tests, sanitizers, benchmarks).
 *
 * The disc is an image file read with pread by 2048-byte sector; a trailing
 * partial sector is not part of the disc. The data is copied when a read is
 * started; poll/wait report the result, at once or, with the "throttle" option,
 * when the modelled drive would have it (sdk/sim/drive_sim.h; faults too).
 * Memory is one malloc at start-up, of $PS2LLM_MEMORY_MB megabytes (default
 * HAL_HOST_MEMORY_MB). */
#define _POSIX_C_SOURCE 200809L

#include "hal.h"
#include "sim/drive_sim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef HAL_HOST_MEMORY_MB
#define HAL_HOST_MEMORY_MB 1024
#endif

static int disc_fd = -1;
static uint32_t disc_sectors;
static int read_state;          /* 0 idle, 1 done, <0 failed (hal_status) */
static int read_in_flight;
static uint64_t read_ready_us;  /* when the modelled drive has it */
static DriveSim drive;
static uint64_t bytes_read;
static void *memory;
static size_t memory_size;

int hal_init(const char *disc_path)
{
    struct stat st;
    const char *mb = getenv("PS2LLM_MEMORY_MB");
    size_t megabytes = HAL_HOST_MEMORY_MB;
    if (mb && *mb) {
        megabytes = 0;
        for (; *mb >= '0' && *mb <= '9'; mb++)
            megabytes = megabytes * 10 + (size_t)(*mb - '0');
    }
    if (!disc_path)
        return HAL_ERR_ARGS;
    disc_fd = open(disc_path, O_RDONLY);
    if (disc_fd < 0 || fstat(disc_fd, &st) != 0 || !S_ISREG(st.st_mode))
        return HAL_ERR_NO_DISC;
    disc_sectors = (uint32_t)((uint64_t)st.st_size / HAL_SECTOR_SIZE);
    memory_size = megabytes << 20;
    memory = malloc(memory_size);
    if (!memory)
        memory_size = 0;
    return HAL_OK;
}

uint32_t hal_disc_sectors(void)
{
    return disc_sectors;
}

int hal_read_start(uint32_t lba, uint32_t n_sectors, void *buf)
{
    size_t want, done = 0;
    DriveFault fault;
    if (read_in_flight)
        return HAL_ERR_BUSY;
    if (!buf || ((uintptr_t)buf & 15u))
        return HAL_ERR_ARGS;
    if (lba > disc_sectors || n_sectors > disc_sectors - lba)
        return HAL_ERR_RANGE;
    fault = drive_sim_start(&drive, lba, n_sectors, hal_ticks(), &read_ready_us);
    want = (size_t)(fault == FAULT_SHORT_READ ? n_sectors / 2 : n_sectors) * HAL_SECTOR_SIZE;
    while (done < want) {
        ssize_t got = pread(disc_fd, (char *)buf + done, want - done,
                            (off_t)lba * HAL_SECTOR_SIZE + (off_t)done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        done += (size_t)got;
    }
    bytes_read += done;
    read_in_flight = 1;
    read_state = done == want && fault != FAULT_READ_ERROR ? 1 : HAL_ERR_IO;
    if (fault == FAULT_FLIP)
        drive_sim_flip(buf, (uint32_t)done);
    return HAL_OK;
}

int hal_read_poll(void)
{
    int state = read_state;
    if (!read_in_flight)
        return HAL_ERR_ARGS;
    if (hal_ticks() < read_ready_us)
        return 0;
    read_in_flight = 0;
    read_state = 0;
    return state;
}

int hal_read_wait(void)
{
    int state;
    /* spin, as the EE does polling its drive: a sleep would overshoot by its
     * wake-up latency, and that would add up over hundreds of reads per token */
    while (read_in_flight && hal_ticks() < read_ready_us)
        ;
    state = hal_read_poll();
    return state == 1 ? HAL_OK : state;
}

int hal_read(uint32_t lba, uint32_t n_sectors, void *buf)
{
    int st = hal_read_start(lba, n_sectors, buf);
    return st != HAL_OK ? st : hal_read_wait();
}

void hal_write(const char *text, size_t len)
{
    while (len) {
        ssize_t n = write(1, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

uint64_t hal_ticks(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint32_t hal_ticks_per_second(void)
{
    return 1000000u;
}

void *hal_memory(size_t *size_out)
{
    *size_out = memory_size;
    return memory;
}

size_t hal_static_bytes(void)
{
    return 0;       /* a host process's image says nothing about the PS2's */
}

int hal_configure(const char *key, const char *value)
{
    return drive_sim_configure(&drive, key, value);
}

uint64_t hal_bytes_read(void)
{
    return bytes_read;
}

void hal_exit(int code)
{
    free(memory);
    if (disc_fd >= 0)
        close(disc_fd);
    exit(code);
}
