/* app.c — ps2llm's main: open the disc, find MODEL.PSN, load the model, then for
 * each prompt (--prompt, else PROMPTS.TXT on the disc) stream the generated text
 * and report tok/s and peak memory. Every failure is a status code that ends here
 * as one line naming the problem. */
#include "args.h"
#include "fmt.h"
#include "generate.h"
#include "iso9660.h"
#include "profile.h"
#include "prompts.h"
#include "tokenizer.h"

#define MODEL_FILE "MODEL.PSN"

typedef struct {
    Arena arena;
    Psnt psnt;
    tokenizer tok;
    Weights weights;
    RunState state;
    Sampler sampler;
    uint64_t load_bytes;    /* read from the disc by load() */
} App;

static App app;

static void fail(status_t st, const StatusDetail *d)
{
    fmt_print("ps2llm: error: %s", status_message(st));
    if (d->subject[0])
        fmt_print(": %s", d->subject);
    if (d->has_values && st == ST_OUT_OF_MEMORY)
        fmt_print(" (needs %u bytes, %u left)", (unsigned)d->want, (unsigned)d->got);
    else if (d->has_values)
        fmt_print(" (found %u, expected %u)", (unsigned)d->got, (unsigned)d->want);
    fmt_print(" [status %d]\n", st);
    if (st == ST_BAD_ARGS)
        fmt_str(args_usage());
    fmt_flush();
    hal_exit(st == ST_BAD_ARGS ? 2 : 1);
}

static int utf8_valid(const unsigned char *s)
{
    while (*s) {
        uint32_t cp, n, i;
        if (*s < 0x80) {
            s++;
            continue;
        }
        if ((*s & 0xE0) == 0xC0) { n = 1; cp = *s & 0x1Fu; }
        else if ((*s & 0xF0) == 0xE0) { n = 2; cp = *s & 0x0Fu; }
        else if ((*s & 0xF8) == 0xF0) { n = 3; cp = *s & 0x07u; }
        else return 0;
        for (i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i] & 0x3Fu);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)
            || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        s += n + 1;
    }
    return 1;
}

static void emit_text(void *ctx, uint32_t prev, uint32_t token)
{
    uint8_t piece[256];
    ProfStage was = prof_enter(PROF_DETOKENIZE);
    int len = tok_decode_piece((const tokenizer *)ctx, (int)prev, (int)token, piece, sizeof piece);
    if (len > 0) {
        fmt_bytes((const char *)piece, (size_t)len);
        fmt_flush();
    }
    prof_enter(was);
}

/* tok_load's allocator: the arena; NULL when it is exhausted. */
static void *tok_alloc(void *ctx, size_t size)
{
    void *p;
    return arena_alloc((Arena *)ctx, size, "tokenizer", NULL, &p) == ST_OK ? p : NULL;
}

static status_t tok_status(int code, const char *what, StatusDetail *d)
{
    switch (code) {
    case TOK_ERR_NOMEM: return status_fail_plain(d, ST_OUT_OF_MEMORY, what);
    case TOK_ERR_OUT_FULL: return status_fail(d, ST_PROMPT_TOO_LONG, what, 0, MODEL_CONTEXT);
    case TOK_ERR_NO_CHATML: return status_fail_plain(d, ST_TOKENIZER, "--chat: the vocab has no ChatML markers");
    default: return status_fail(d, ST_TOKENIZER, what, (uint32_t)-code, 0);
    }
}

static int has_chatml(const tokenizer *tok)
{
    return tok->im_start_id >= 0 && tok->im_end_id >= 0;
}

/* The prompt as token ids: ChatML around it in chat mode, raw text (with the
 * vocab's BOS) otherwise. Scratch memory is returned to the arena. */
static status_t encode_prompt(const char *prompt, int chat, uint32_t *ids, uint32_t *n,
                              StatusDetail *d)
{
    const uint8_t *text = (const uint8_t *)prompt;
    size_t len = 0, mark = arena_mark(&app.arena), scratch_size;
    void *scratch;
    int32_t *out = (int32_t *)ids;
    int got, i;
    status_t st;
    if (!utf8_valid(text))
        return status_fail_plain(d, ST_BAD_UTF8, "prompt");
    while (text[len])
        len++;
    scratch_size = chat ? tok_chat_scratch_size(&app.tok, len) : tok_scratch_size(&app.tok, len);
    st = arena_alloc(&app.arena, scratch_size, "tokenizer scratch", d, &scratch);
    if (st != ST_OK)
        return st;
    prof_enter(PROF_TOKENIZE);
    if (chat)
        got = tok_encode_chat(&app.tok, text, len, out, MODEL_CONTEXT, scratch, scratch_size);
    else
        got = tok_encode(&app.tok, text, len, -1, -1, out, MODEL_CONTEXT, scratch, scratch_size);
    prof_enter(PROF_OTHER);
    arena_reset(&app.arena, mark);
    if (got < 0)
        return tok_status(got, "prompt", d);
    for (i = 0; i < got; i++)
        ids[i] = (uint32_t)out[i];
    *n = (uint32_t)got;
    return ST_OK;
}

static void print_report(const GenStats *g, uint64_t load_ticks)
{
    float load = (float)load_ticks / (float)hal_ticks_per_second();
    float mb = (float)app.load_bytes / 1048576.0f;
    const Streamer *st = app.weights.stream;
    ProfRun r;
    fmt_print("load: %.2f s, %.1f MB read\n", &load, &mb);
    r.n_prompt = g->n_prompt;
    r.n_generated = g->n_generated;
    r.prompt_forwards = g->n_prompt;
    r.gen_forwards = g->gen_forwards;
    r.prompt_ticks = g->prompt_ticks;
    r.gen_ticks = g->gen_ticks;
    r.bytes_read = g->bytes_read;
    r.streaming = st != NULL;
    r.reads = st ? st->stats.reads : 0;
    r.retries = st ? st->stats.retries : 0;
    r.read_errors = st ? st->stats.read_errors : 0;
    r.crc_errors = st ? st->stats.crc_errors : 0;
    r.verify = st ? st->verify : 0;
    r.overlap = st ? st->overlap : 0;
    r.arena_high_water = app.arena.high_water;
    r.arena_size = app.arena.size;
    r.static_bytes = hal_static_bytes();
    prof_report(&r);
}

/* Load everything the prompts need; fails on the first problem. */
static void load(const AppOptions *cli, uint32_t **prompt, uint32_t **out, StatusDetail *d)
{
    uint32_t lba, size;
    size_t mem_size;
    void *mem;
    status_t st;
    if (cli->throttle && hal_configure("throttle", cli->throttle) != HAL_OK)
        fail(status_fail_plain(d, ST_BAD_ARGS, "--throttle"), d);
    st = hal_init(cli->disc);
    if (st != HAL_OK)
        fail(st == HAL_ERR_ARGS ? ST_BAD_ARGS : st, d);
    mem = hal_memory(&mem_size);
    if (MODEL_ARENA_BYTES && mem_size > MODEL_ARENA_BYTES)
        mem_size = MODEL_ARENA_BYTES;      /* the plan's budget, on every port */
    arena_init(&app.arena, mem, mem_size);
    st = iso_find_file(MODEL_FILE, &lba, &size);
    if (st != HAL_OK)
        fail(status_fail_plain(d, st, MODEL_FILE), d);
    st = psnt_open(&app.psnt, lba, size, &app.arena, d);
    if (st == ST_OK) {
        int tok = tok_load(&app.tok, app.psnt.tokenizer, app.psnt.h.tokenizer_size, tok_alloc, &app.arena);
        if (tok < 0)
            st = tok_status(tok, "tokenizer section", d);
    }
    if (st == ST_OK)
        st = model_load(&app.weights, &app.psnt, &app.arena, d);
    if (st == ST_OK)
        st = run_state_init(&app.state, &app.arena, d);
    if (st == ST_OK)
        st = arena_alloc(&app.arena, MODEL_CONTEXT * 4u, "prompt", d, (void **)prompt);
    if (st == ST_OK)
        st = arena_alloc(&app.arena, MODEL_CONTEXT * 4u, "output", d, (void **)out);
    if (st != ST_OK)
        fail(st, d);
}

/* One prompt: encode, generate with the text streamed out, report. */
static void answer(const AppOptions *o, const char *text, uint32_t *prompt, uint32_t *out,
                   uint64_t load_ticks, StatusDetail *d)
{
    GenStats g;
    GenParams params;
    uint32_t n_prompt = 0, stop[2], n_stop = 0, i;
    int chat = o->mode == PROMPT_CHAT || (o->mode == PROMPT_AUTO && has_chatml(&app.tok));
    status_t st;
    prof_reset();
    st = encode_prompt(text, chat, prompt, &n_prompt, d);
    if (st != ST_OK)
        fail(st, d);
    if (n_prompt == 0)
        fail(status_fail_plain(d, ST_PROMPT_EMPTY, "prompt"), d);
    if (!o->ignore_eos && app.tok.eos_id >= 0)
        stop[n_stop++] = (uint32_t)app.tok.eos_id;
    if (!o->ignore_eos && chat && app.tok.im_end_id >= 0)
        stop[n_stop++] = (uint32_t)app.tok.im_end_id;
    params.stop = stop;
    params.n_stop = n_stop;
    params.max_new = o->tokens;
    params.emit = emit_text;
    params.emit_ctx = &app.tok;
    st = generate(&app.weights, &app.state, &app.sampler, prompt, n_prompt, &params, out, &g, d);
    if (st != ST_OK) {
        fmt_str("\n");
        fail(st, d);
    }
    fmt_str("\n");
    if (o->print_ids) {
        fmt_str("prompt ids:");
        for (i = 0; i < n_prompt; i++)
            fmt_print(" %u", (unsigned)prompt[i]);
        fmt_str("\nids:");
        for (i = 0; i < g.n_generated; i++)
            fmt_print(" %u", (unsigned)out[i]);
        fmt_str("\n");
    }
    print_report(&g, load_ticks);
    fmt_flush();
}

int main(int argc, char **argv)
{
    AppOptions cli, o;
    Prompts prompts;
    StatusDetail d = { "", 0, 0, 0 };
    uint32_t *prompt, *out, i;
    uint64_t start, load_ticks;
    int from_disc;
    status_t st;

    args_defaults(&cli);
    st = args_parse(&cli, argc, argv, &d);
    if (st != ST_OK)
        fail(st, &d);
    start = hal_ticks();
    load(&cli, &prompt, &out, &d);
    load_ticks = hal_ticks() - start;
    app.load_bytes = hal_bytes_read();

    /* The disc's PROMPTS.TXT first, then the command line on top of it. */
    args_defaults(&o);
    st = prompts_load(&prompts, &o, &app.arena, &d);
    if (st == ST_OK)
        st = args_parse(&o, argc, argv, &d);
    from_disc = o.prompt == NULL;
    if (!from_disc) {
        prompts.prompt[0] = o.prompt;
        prompts.count = 1;
    }
    if (st == ST_OK && prompts.count == 0)
        st = status_fail_plain(&d, ST_PROMPT_EMPTY, "no --prompt and no " PROMPTS_FILE);
    if (st == ST_OK)
        st = sampler_init(&app.sampler, MODEL_VOCAB_SIZE, o.temperature, o.top_k, o.top_p,
                          o.seed, &app.arena, &d);
    if (st == ST_OK && o.fault && hal_configure("fault", o.fault) != HAL_OK)
        st = status_fail_plain(&d, ST_BAD_ARGS, "--fault");
    if (st != ST_OK)
        fail(st, &d);
    stream_configure(app.weights.stream, o.verify, o.overlap);
    for (i = 0; i < prompts.count; i++) {
        if (from_disc)
            fmt_print("> %s\n", prompts.prompt[i]);
        answer(&o, prompts.prompt[i], prompt, out, load_ticks, &d);
    }
    hal_exit(0);
}
