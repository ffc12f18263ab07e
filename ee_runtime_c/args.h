/* args.h — the command line of the host and linux-mips builds:
 *   ps2llm DISC [--prompt TEXT] [--tokens N] [--seed S] [--temp T] [--topk K]
 *               [--topp P] [--chat|--raw] [--ids]
 *               [--ignore-eos] [--verify|--no-verify] [--overlap|--no-overlap]
 *               [--throttle MBPS,SEEK_MS] [--fault SPEC]
 * --throttle and --fault are the port's (hal_configure in hal.h: a modelled drive,
 * injected read faults). The ps2 port has no command line and runs with the
 * defaults and PROMPTS.TXT's options. */
#ifndef PS2LLM_ARGS_H
#define PS2LLM_ARGS_H

#include <stdint.h>

#include "status.h"

typedef enum { PROMPT_AUTO = 0, PROMPT_CHAT, PROMPT_RAW } PromptMode;

typedef struct {
    const char *disc;        /* image path (ignored on the ps2 port) */
    const char *prompt;      /* NULL: none */
    uint32_t tokens;         /* new tokens to generate */
    uint64_t seed;
    float temperature;       /* 0: greedy */
    uint32_t top_k;          /* 0: off */
    float top_p;             /* 1: off */
    PromptMode mode;         /* AUTO: chat when the model has ChatML markers */
    int print_ids;           /* print "prompt ids: ..." and "ids: ..." lines */
    int ignore_eos;          /* keep generating past end-of-text tokens */
    int verify;              /* check the CRC of streamed weights (default on) */
    int overlap;             /* read the next block while one computes (default on) */
    const char *throttle;    /* hal "throttle" option, NULL: none */
    const char *fault;       /* hal "fault" option, NULL: none */
} AppOptions;

void args_defaults(AppOptions *o);

/* ST_BAD_ARGS with the offending option in detail. */
status_t args_parse(AppOptions *o, int argc, char **argv, StatusDetail *d);

/* Usage text, for the error path. */
const char *args_usage(void);

#endif
