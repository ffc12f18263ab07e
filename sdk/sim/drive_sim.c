/* drive_sim.c — see drive_sim.h. */
#include "drive_sim.h"

#include "hal.h"

static int starts_with(const char *s, const char *prefix, const char **rest)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return 0;
    *rest = s;
    return 1;
}

/* Decimal digits [. digits] -> value * 1000, at most 1e9; *end after them. */
static int parse_milli(const char *s, uint64_t *out, const char **end)
{
    uint64_t v = 0, scale = 1000;
    int digits = 0, frac = 0;
    for (; (*s >= '0' && *s <= '9') || (*s == '.' && !frac); s++) {
        if (*s == '.') {
            frac = 1;
            continue;
        }
        digits++;
        if (v > 1000000000000ull)
            return 0;
        if (frac) {
            scale /= 10;
            v += (uint64_t)(*s - '0') * scale;
        } else {
            v = v * 10 + (uint64_t)(*s - '0') * 1000;
        }
    }
    *out = v;
    *end = s;
    return digits > 0;
}

static int parse_u32(const char *s, uint32_t *out, const char **end)
{
    uint32_t v = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (v > 400000000u)
            return 0;
        v = v * 10 + (uint32_t)(*s - '0');
    }
    *out = v;
    *end = s;
    return digits > 0;
}

/* "MBPS,SEEK_MS" */
static int configure_throttle(DriveSim *s, const char *v)
{
    uint64_t mbps_milli, seek_milli;
    const char *end;
    if (!parse_milli(v, &mbps_milli, &end) || *end != ',' || mbps_milli == 0)
        return HAL_ERR_ARGS;
    if (!parse_milli(end + 1, &seek_milli, &end) || *end)
        return HAL_ERR_ARGS;
    s->bytes_per_s = mbps_milli * 1048576u / 1000u;
    s->seek_us = (uint32_t)seek_milli;
    if (s->bytes_per_s == 0)
        return HAL_ERR_ARGS;
    return HAL_OK;
}

/* "KIND@N", "KIND@N+" or "KIND/K", comma-separated */
static int configure_faults(DriveSim *s, const char *v)
{
    static const struct { const char *name; DriveFault kind; } kinds[] = {
        { "read-error", FAULT_READ_ERROR }, { "short-read", FAULT_SHORT_READ }, { "flip", FAULT_FLIP }
    };
    s->n_faults = 0;
    s->n_reads = 0;
    while (*v) {
        DriveFaultSpec f = { FAULT_NONE, 0, 0 };
        const char *rest = v;
        unsigned i;
        for (i = 0; i < sizeof kinds / sizeof kinds[0] && f.kind == FAULT_NONE; i++)
            if (starts_with(v, kinds[i].name, &rest))
                f.kind = kinds[i].kind;
        if (f.kind == FAULT_NONE || s->n_faults == DRIVE_SIM_MAX_FAULTS)
            return HAL_ERR_ARGS;
        if (*rest == '@') {
            if (!parse_u32(rest + 1, &f.first, &rest) || f.first == 0)
                return HAL_ERR_ARGS;
            if (*rest == '+') {
                f.every = 1;
                rest++;
            }
        } else if (*rest == '/') {
            if (!parse_u32(rest + 1, &f.every, &rest) || f.every == 0)
                return HAL_ERR_ARGS;
            f.first = f.every;
        } else {
            return HAL_ERR_ARGS;
        }
        if (*rest == ',')
            rest++;
        else if (*rest)
            return HAL_ERR_ARGS;
        s->faults[s->n_faults++] = f;
        v = rest;
    }
    return HAL_OK;
}

int drive_sim_configure(DriveSim *s, const char *key, const char *value)
{
    const char *rest;
    if (!key || !value)
        return HAL_ERR_ARGS;
    if (starts_with(key, "throttle", &rest) && !*rest)
        return configure_throttle(s, value);
    if (starts_with(key, "fault", &rest) && !*rest)
        return configure_faults(s, value);
    return HAL_ERR_ARGS;
}

DriveFault drive_sim_start(DriveSim *s, uint32_t lba, uint32_t n, uint64_t now_us,
                           uint64_t *ready_us)
{
    DriveFault fault = FAULT_NONE;
    uint32_t i, k = ++s->n_reads;
    uint64_t t = now_us;
    for (i = 0; i < s->n_faults && fault == FAULT_NONE; i++) {
        const DriveFaultSpec *f = &s->faults[i];
        if (k == f->first || (f->every && k > f->first && (k - f->first) % f->every == 0))
            fault = f->kind;
    }
    if (s->bytes_per_s) {
        if (!s->positioned || lba != s->next_lba)
            t += s->seek_us;
        t += (uint64_t)n * HAL_SECTOR_SIZE * 1000000u / s->bytes_per_s;
    }
    s->next_lba = lba + n;
    s->positioned = 1;
    *ready_us = t;
    return fault;
}

void drive_sim_flip(void *buf, uint32_t bytes)
{
    uint32_t i;
    for (i = 0; i < bytes; i += HAL_SECTOR_SIZE)
        ((uint8_t *)buf)[i] ^= 1u;
}
