/* args.c — command-line parsing without libc number parsing. */
#include "args.h"

#include <string.h>

void args_defaults(AppOptions *o)
{
    o->disc = NULL;
    o->prompt = NULL;
    o->tokens = 64;
    o->seed = 1;
    o->temperature = 0.0f;
    o->top_k = 0;
    o->top_p = 1.0f;
    o->mode = PROMPT_AUTO;
    o->print_ids = 0;
    o->ignore_eos = 0;
    o->verify = 1;
    o->overlap = 1;
    o->throttle = NULL;
    o->fault = NULL;
}

const char *args_usage(void)
{
    return "usage: ps2llm DISC [--prompt TEXT] [--tokens N] [--seed S] [--temp T]"
           " [--topk K] [--topp P] [--chat|--raw] [--ids] [--ignore-eos]"
           " [--verify|--no-verify] [--overlap|--no-overlap] [--throttle MBPS,SEEK_MS] [--fault SPEC]\n";
}

static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 1;
}

static int parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (!parse_u64(s, &v) || v > 0xFFFFFFFFu)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

/* Non-negative decimal: digits [. digits], at most 1e6. */
static int parse_float(const char *s, float *out)
{
    float v = 0.0f, scale = 1.0f;
    int digits = 0, frac = 0;
    for (; *s; s++) {
        if (*s == '.' && !frac) {
            frac = 1;
            continue;
        }
        if (*s < '0' || *s > '9' || v > 1e6f)
            return 0;
        digits++;
        if (frac) {
            scale *= 0.1f;
            v += (float)(*s - '0') * scale;
        } else {
            v = v * 10.0f + (float)(*s - '0');
        }
    }
    *out = v;
    return digits > 0;
}

status_t args_parse(AppOptions *o, int argc, char **argv, StatusDetail *d)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1, takes_value = 1;
        if (strcmp(a, "--chat") == 0) {
            o->mode = PROMPT_CHAT;
            takes_value = 0;
        } else if (strcmp(a, "--raw") == 0) {
            o->mode = PROMPT_RAW;
            takes_value = 0;
        } else if (strcmp(a, "--ids") == 0) {
            o->print_ids = 1;
            takes_value = 0;
        } else if (strcmp(a, "--ignore-eos") == 0) {
            o->ignore_eos = 1;
            takes_value = 0;
        } else if (strcmp(a, "--verify") == 0 || strcmp(a, "--no-verify") == 0) {
            o->verify = a[2] == 'v';
            takes_value = 0;
        } else if (strcmp(a, "--overlap") == 0 || strcmp(a, "--no-overlap") == 0) {
            o->overlap = a[2] == 'o';
            takes_value = 0;
        } else if (a[0] != '-' || a[1] == '\0') {
            if (o->disc)
                return status_fail_plain(d, ST_BAD_ARGS, a);
            o->disc = a;
            takes_value = 0;
        } else if (!v) {
            return status_fail_plain(d, ST_BAD_ARGS, a);
        } else if (strcmp(a, "--throttle") == 0) {
            o->throttle = v;
        } else if (strcmp(a, "--fault") == 0) {
            o->fault = v;
        } else if (strcmp(a, "--prompt") == 0) {
            o->prompt = v;
        } else if (strcmp(a, "--tokens") == 0) {
            ok = parse_u32(v, &o->tokens);
        } else if (strcmp(a, "--seed") == 0) {
            ok = parse_u64(v, &o->seed);
        } else if (strcmp(a, "--temp") == 0) {
            ok = parse_float(v, &o->temperature);
        } else if (strcmp(a, "--topk") == 0) {
            ok = parse_u32(v, &o->top_k);
        } else if (strcmp(a, "--topp") == 0) {
            ok = parse_float(v, &o->top_p) && o->top_p > 0.0f;
        } else {
            return status_fail_plain(d, ST_BAD_ARGS, a);
        }
        if (!ok)
            return status_fail_plain(d, ST_BAD_ARGS, a);
        if (takes_value)
            i++;
    }
    return ST_OK;
}
