/* prompts.c — PROMPTS.TXT: read once, split into lines and words in place. */
#include "prompts.h"

#include "iso9660.h"

#define MAX_OPTION_WORDS 32

static status_t read_file(char **text, uint32_t *size, Arena *arena, StatusDetail *d)
{
    uint32_t lba, sectors;
    void *buf;
    status_t st = iso_find_file(PROMPTS_FILE, &lba, size);
    if (st != HAL_OK)
        return st == HAL_ERR_NOT_FOUND ? ST_OK : status_fail_plain(d, st, PROMPTS_FILE);
    if (*size > PROMPTS_MAX_BYTES)
        return status_fail(d, ST_PROMPTS_TOO_BIG, PROMPTS_FILE, *size, PROMPTS_MAX_BYTES);
    sectors = (*size + HAL_SECTOR_SIZE - 1) / HAL_SECTOR_SIZE;
    st = arena_alloc(arena, (size_t)sectors * HAL_SECTOR_SIZE + 1, PROMPTS_FILE, d, &buf);
    if (st != ST_OK)
        return st;
    st = hal_read(lba, sectors, buf);
    if (st != HAL_OK)
        return status_fail_plain(d, st, PROMPTS_FILE);
    *text = buf;
    (*text)[*size] = '\0';
    return ST_OK;
}

/* "--tokens 64 --temp 0" → args_parse, words split in place. */
static status_t apply_options(char *line, AppOptions *o, StatusDetail *d)
{
    char *words[MAX_OPTION_WORDS];
    const char *disc = o->disc;
    int n = 1;
    status_t st;
    words[0] = PROMPTS_FILE;               /* where argv[0] would be */
    while (*line) {
        while (*line == ' ' || *line == '\t')
            *line++ = '\0';
        if (!*line)
            break;
        if (n == MAX_OPTION_WORDS)
            return status_fail_plain(d, ST_BAD_ARGS, PROMPTS_FILE);
        words[n++] = line;
        while (*line && *line != ' ' && *line != '\t')
            line++;
    }
    st = args_parse(o, n, words, d);
    if (st == ST_OK && o->disc != disc)    /* a stray word, taken for a disc path */
        st = status_fail_plain(d, ST_BAD_ARGS, o->disc);
    return st;
}

status_t prompts_load(Prompts *p, AppOptions *o, Arena *arena, StatusDetail *d)
{
    char *text = NULL;
    uint32_t size = 0, start = 0, end;
    status_t st = read_file(&text, &size, arena, d);
    p->count = 0;
    while (st == ST_OK && start < size) {
        char *line = text + start;
        for (end = start; end < size && text[end] != '\n'; end++)
            ;
        text[end] = '\0';
        if (end > start && text[end - 1] == '\r')
            text[end - 1] = '\0';
        start = end + 1;
        if (line[0] == '-' && line[1] == '-')
            st = apply_options(line, o, d);
        else if (line[0] && p->count == PROMPTS_MAX)
            st = status_fail(d, ST_PROMPTS_TOO_BIG, PROMPTS_FILE, p->count + 1, PROMPTS_MAX);
        else if (line[0])
            p->prompt[p->count++] = line;
    }
    return st;
}
