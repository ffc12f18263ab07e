/* profile.h — where a run's time goes, in hal clock ticks (on the PS2 the EE's
 * own clock), and what it read and used: printed after each prompt.
 *
 * One stage is current at any time; prof_enter() charges the ticks since the
 * last switch to the current stage and makes another current, so the stages add
 * up to the wall time between prof_reset() and prof_report(). */
#ifndef PS2LLM_PROFILE_H
#define PS2LLM_PROFILE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    PROF_OTHER = 0,     /* anything not below: the app, printing, idle */
    PROF_TOKENIZE,      /* prompt -> token ids */
    PROF_WAIT,          /* waiting for weights from the disc */
    PROF_VERIFY,        /* CRC32 of streamed weights */
    PROF_MATMUL,        /* matrix-vector products, activation quantization included */
    PROF_ATTENTION,     /* scores, softmax, weighted values */
    PROF_NORM,          /* embedding row, RMSNorm, rotary, SwiGLU, residual adds */
    PROF_SAMPLING,      /* logits -> next token */
    PROF_DETOKENIZE,    /* token -> text, and writing it out */
    PROF_STAGES
} ProfStage;

/* Zero every stage and the read counters; OTHER is current. */
void prof_reset(void);

/* Make `stage` current; returns the stage that was. */
ProfStage prof_enter(ProfStage stage);

/* What a report needs beyond the stages. */
typedef struct {
    uint32_t n_prompt, n_generated;    /* tokens */
    uint32_t prompt_forwards, gen_forwards;
    uint64_t prompt_ticks, gen_ticks;
    uint64_t bytes_read;               /* by the forward passes (hal_bytes_read deltas) */
    uint32_t reads, retries, read_errors, crc_errors;   /* streamer */
    int streaming, verify, overlap;
    size_t arena_high_water, arena_size, static_bytes;
} ProfRun;

/* Print the stages (seconds), tok/s of prompt and generation (never shown as 0),
 * bytes read per token and peak RAM, as lines a test can parse:
 *   time: tokenize=S wait=S verify=S matmul=S attention=S norm/rope/act=S sampling=S detokenize=S other=S
 *   prompt: N tokens, R tok/s (S s/token)
 *   generation: N tokens, R tok/s (S s/token)
 *   disc: B bytes read in F forward passes, R bytes/token
 *   stream: N reads, R retries (E read errors, C CRC mismatches), verify on|off, overlap on|off
 *   peak RAM: B bytes (arena high water A of C, program image P) */
void prof_report(const ProfRun *r);

#endif
