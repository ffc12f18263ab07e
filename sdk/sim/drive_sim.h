/* drive_sim.h — a simulated disc drive for the ports that read an image file
 * (linux-mips, host): reads throttled to a drive profile, and injected faults.
 * Portable C, no libc; the port supplies the clock and does the actual reading.
 * hal.h ("throttle", "fault" under hal_configure) says what the options mean. */
#ifndef PS2LLM_DRIVE_SIM_H
#define PS2LLM_DRIVE_SIM_H

#include <stdint.h>

#define DRIVE_SIM_MAX_FAULTS 8

typedef enum { FAULT_NONE = 0, FAULT_READ_ERROR, FAULT_SHORT_READ, FAULT_FLIP } DriveFault;

typedef struct {
    DriveFault kind;
    uint32_t first;         /* read number (from 1) of the first fault */
    uint32_t every;         /* 0: only `first`; else first, first + every, ... */
} DriveFaultSpec;

typedef struct {
    uint64_t bytes_per_s;   /* 0: not throttled */
    uint32_t seek_us;
    uint32_t next_lba;      /* where the previous read ended */
    int positioned;         /* next_lba is known */
    DriveFaultSpec faults[DRIVE_SIM_MAX_FAULTS];
    uint32_t n_faults;
    uint32_t n_reads;       /* reads started since the faults were set */
} DriveSim;

/* Apply a hal_configure() key: "throttle" or "fault". HAL_OK or HAL_ERR_ARGS. */
int drive_sim_configure(DriveSim *s, const char *key, const char *value);

/* A read of n sectors at lba starts at now_us: which fault it gets, and (in
 * *ready_us) when the modelled drive has it done. */
DriveFault drive_sim_start(DriveSim *s, uint32_t lba, uint32_t n, uint64_t now_us,
                           uint64_t *ready_us);

/* Invert a bit in each sector of a read's data (the lowest of its first byte),
 * so that a flip always lands in data a reader uses. */
void drive_sim_flip(void *buf, uint32_t bytes);

#endif
