/* prompts.h — PROMPTS.TXT, the prompts baked into the disc.
 *
 * UTF-8 text, one prompt per line (CR LF or LF). A line that starts with "--"
 * holds options exactly as on the command line ("--tokens 64 --temp 0"); blank
 * lines are skipped. On the PS2, which has no command line, this file is the only
 * input; elsewhere the command line's options are applied after the file's. */
#ifndef PS2LLM_PROMPTS_H
#define PS2LLM_PROMPTS_H

#include "arena.h"
#include "args.h"

#define PROMPTS_FILE "PROMPTS.TXT"
#define PROMPTS_MAX_BYTES (64u * 1024u)
#define PROMPTS_MAX 64u

typedef struct {
    const char *prompt[PROMPTS_MAX];   /* NUL-terminated lines, in the arena */
    uint32_t count;
} Prompts;

/* Read PROMPTS.TXT from the disc into the arena, apply its option lines to o and
 * collect its prompts. A disc without the file gives no prompts. */
status_t prompts_load(Prompts *p, AppOptions *o, Arena *arena, StatusDetail *d);

#endif
