/* hal.h for Linux on little-endian MIPS (run under qemu-mipsel), without libc.
 *
 * The disc is an image file (ISO or bare PSNT) read by 2048-byte sector, the
 * same requests the PS2 drive gets. Reads are carried out when they are started;
 * poll/wait then report the result, at once or, with the "throttle" option, when
 * the modelled drive would have it (sdk/sim/drive_sim.h, faults too), so the
 * runtime's asynchronous path runs and overlaps as it does on the PS2. */
#include "hal.h"
#include "sim/drive_sim.h"
#include "syscall.h"

#ifndef HAL_MEMORY_BYTES
#define HAL_MEMORY_BYTES (256u << 20)
#endif

static struct {
    int fd;
    uint32_t sectors;
    int pending;            /* status of the read in flight, 1 = none in flight */
    uint64_t bytes_read;
    uint64_t ready_us;      /* when the modelled drive has the read in flight */
    DriveSim drive;
} disc = { -1, 0, 1, 0, 0, { 0 } };

/* Image bounds from the default GNU ld script. */
extern char __executable_start[], _end[];

static long seek_to(uint64_t offset)
{
    uint32_t result[2];
    return linux_syscall6(SYS_llseek, disc.fd, (long)(offset >> 32), (long)(uint32_t)offset,
                          (long)result, 0 /* SEEK_SET */, 0);
}

int hal_init(const char *disc_path)
{
    uint32_t end[2];
    long fd;
    if (!disc_path)
        return HAL_ERR_ARGS;
    fd = linux_syscall6(SYS_openat, AT_FDCWD, (long)disc_path, O_RDONLY, 0, 0, 0);
    if (fd < 0)
        return HAL_ERR_NO_DISC;
    disc.fd = (int)fd;
    if (linux_syscall6(SYS_llseek, fd, 0, 0, (long)end, 2 /* SEEK_END */, 0) < 0)
        return HAL_ERR_NO_DISC;
    disc.sectors = (uint32_t)((((uint64_t)end[1] << 32) | end[0]) / HAL_SECTOR_SIZE);
    return HAL_OK;
}

uint32_t hal_disc_sectors(void) { return disc.sectors; }

static int read_sectors(uint32_t lba, uint32_t n, void *buf)
{
    uint8_t *p = buf;
    uint32_t left = n * HAL_SECTOR_SIZE;
    if (lba > disc.sectors || n > disc.sectors - lba)
        return HAL_ERR_RANGE;
    if (seek_to((uint64_t)lba * HAL_SECTOR_SIZE) < 0)
        return HAL_ERR_IO;
    while (left) {
        long got = linux_syscall3(SYS_read, disc.fd, p, left);
        if (got <= 0)
            return HAL_ERR_IO;
        p += got;
        left -= (uint32_t)got;
        disc.bytes_read += (uint64_t)got;
    }
    return HAL_OK;
}

int hal_read_start(uint32_t lba, uint32_t n_sectors, void *buf)
{
    DriveFault fault;
    if (disc.pending != 1)
        return HAL_ERR_BUSY;
    if (!buf || ((uintptr_t)buf & 15u))
        return HAL_ERR_ARGS;
    fault = drive_sim_start(&disc.drive, lba, n_sectors, hal_ticks(), &disc.ready_us);
    disc.pending = read_sectors(lba, fault == FAULT_SHORT_READ ? n_sectors / 2 : n_sectors, buf);
    if (fault == FAULT_READ_ERROR)
        disc.pending = HAL_ERR_IO;
    else if (fault == FAULT_FLIP && disc.pending == HAL_OK)
        drive_sim_flip(buf, n_sectors * HAL_SECTOR_SIZE);
    return HAL_OK;
}

int hal_read_poll(void)
{
    int status = disc.pending;
    if (status == 1)
        return HAL_ERR_ARGS;       /* nothing in flight */
    if (hal_ticks() < disc.ready_us)
        return 0;
    disc.pending = 1;
    return status == HAL_OK ? 1 : status;
}

int hal_read_wait(void)
{
    int status;
    /* spin, as the EE does polling its drive: a sleep would overshoot by its
     * wake-up latency (large under qemu), which would add up over many reads */
    while (disc.pending != 1 && hal_ticks() < disc.ready_us)
        ;
    status = hal_read_poll();
    return status == 1 ? HAL_OK : status;
}

int hal_read(uint32_t lba, uint32_t n_sectors, void *buf)
{
    int status = hal_read_start(lba, n_sectors, buf);
    return status == HAL_OK ? hal_read_wait() : status;
}

void hal_write(const char *text, size_t len)
{
    while (len) {
        long n = linux_syscall3(SYS_write, 1, text, len);
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

uint64_t hal_ticks(void)
{
    int32_t ts[2] = { 0, 0 };
    linux_syscall3(SYS_clock_gettime, CLOCK_MONOTONIC, ts, 0);
    return (uint64_t)(uint32_t)ts[0] * 1000000u + (uint32_t)ts[1] / 1000u;
}

uint32_t hal_ticks_per_second(void) { return 1000000u; }

void *hal_memory(size_t *size_out)
{
    long p = linux_syscall6(SYS_mmap2, 0, HAL_MEMORY_BYTES, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p < 0 && p > -4096) {
        *size_out = 0;
        return 0;
    }
    *size_out = HAL_MEMORY_BYTES;
    return (void *)p;
}

uint64_t hal_bytes_read(void) { return disc.bytes_read; }

size_t hal_static_bytes(void) { return (size_t)(_end - __executable_start); }

int hal_configure(const char *key, const char *value)
{
    return drive_sim_configure(&disc.drive, key, value);
}

void hal_exit(int code)
{
    for (;;)
        linux_syscall3(SYS_exit_group, code, 0, 0);
}
