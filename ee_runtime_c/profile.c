/* profile.c — see profile.h. One profile per program: the stages are charged
 * from deep inside the forward pass and the streamer, so they live here. */
#include "profile.h"

#include "fmt.h"
#include "hal.h"

static struct {
    uint64_t ticks[PROF_STAGES];
    uint64_t since;
    ProfStage current;
} prof;

static const char *const stage_names[PROF_STAGES] = {
    "other", "tokenize", "wait", "verify", "matmul", "attention", "norm/rope/act",
    "sampling", "detokenize"
};

void prof_reset(void)
{
    unsigned i;
    for (i = 0; i < PROF_STAGES; i++)
        prof.ticks[i] = 0;
    prof.current = PROF_OTHER;
    prof.since = hal_ticks();
}

ProfStage prof_enter(ProfStage stage)
{
    uint64_t now = hal_ticks();
    ProfStage was = prof.current;
    prof.ticks[was] += now - prof.since;
    prof.since = now;
    prof.current = stage;
    return was;
}

static float seconds(uint64_t ticks)
{
    return (float)ticks / (float)hal_ticks_per_second();
}

/* Decimals that show v >= 0 with about 3 significant digits (at most 6). Integer
 * comparisons: chained float ones make GCC emit movt/movf on extra FP condition
 * codes, which MIPS32 lacks. */
static int decimals_for(float v)
{
    uint32_t milli = v >= 4e6f ? 0xFFFFFFFFu : (uint32_t)(v * 1000.0f);
    return milli >= 100000u ? 1 : milli >= 1000u ? 2 : milli >= 10u ? 4 : 6;
}

/* "what: N tokens, R tok/s (S s/token)": the rate with as many decimals as it
 * takes not to read as 0; never a rate for no work. */
static void print_rate(const char *what, uint32_t n_tokens, uint32_t forwards, uint64_t ticks)
{
    uint32_t count = forwards ? forwards : n_tokens;
    float secs, rate, per;
    fmt_print("%s: %u tokens", what, (unsigned)n_tokens);
    if (count == 0) {
        fmt_str("\n");
        return;
    }
    secs = seconds(ticks ? ticks : 1);
    rate = (float)count / secs;
    per = secs / (float)count;
    fmt_str(", ");
    fmt_float(rate, decimals_for(rate));
    fmt_str(" tok/s (");
    fmt_float(per, decimals_for(per));
    fmt_str(" s/token)\n");
}

void prof_report(const ProfRun *r)
{
    unsigned i;
    uint32_t forwards = r->prompt_forwards + r->gen_forwards;
    prof_enter(prof.current);
    fmt_str("time:");
    for (i = 1; i <= PROF_STAGES; i++) {
        unsigned s = i % PROF_STAGES;      /* "other" last */
        fmt_print(" %s=", stage_names[s]);
        fmt_float(seconds(prof.ticks[s]), 4);
    }
    fmt_str("\n");
    print_rate("prompt", r->n_prompt, r->prompt_forwards, r->prompt_ticks);
    print_rate("generation", r->n_generated, r->gen_forwards, r->gen_ticks);
    fmt_str("disc: ");
    fmt_uint(r->bytes_read);
    fmt_print(" bytes read in %u forward passes", (unsigned)forwards);
    if (forwards) {
        uint64_t whole = r->bytes_read / forwards, part = r->bytes_read % forwards;
        fmt_str(", ");
        fmt_uint(whole);
        if (part) {
            fmt_str(".");
            fmt_uint(part * 10u / forwards);
        }
        fmt_str(" bytes/token");
    }
    fmt_str("\n");
    if (r->streaming)
        fmt_print("stream: %u reads, %u retries (%u read errors, %u CRC mismatches), verify %s, overlap %s\n",
                  (unsigned)r->reads, (unsigned)r->retries, (unsigned)r->read_errors,
                  (unsigned)r->crc_errors, r->verify ? "on" : "off", r->overlap ? "on" : "off");
    fmt_print("arena: high water %lu bytes of %lu\n", (unsigned long)r->arena_high_water,
              (unsigned long)r->arena_size);
    fmt_print("peak RAM: %lu bytes (arena high water %lu, program image %lu%s)\n",
              (unsigned long)(r->arena_high_water + r->static_bytes), (unsigned long)r->arena_high_water,
              (unsigned long)r->static_bytes, r->static_bytes ? "" : ": unknown on this port");
}
