/* sdk_host_driver.c — host driver for tests/test_sdk.py.
 *
 * Built with the host gcc from the SDK's portable sources: packet encoders
 * (sif_packets.c, cdvd_packets.c), the GS console renderer (gs_console.c), the
 * clock fold (ee_clock.c) and the libc (string.c, format.c, libgcc.c,
 * compiled with sdk_ prefixes so they do not clash with the host's).
 * Commands come one per line on stdin; answers go one per line to stdout.
 * `gs IN OUT` works on files instead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdvd.h"
#include "ee_clock.h"
#include "gs_console.h"
#include "sif.h"

void *sdk_memcpy(void *, const void *, size_t);
void *sdk_memmove(void *, const void *, size_t);
void *sdk_memset(void *, int, size_t);
int sdk_memcmp(const void *, const void *, size_t);
size_t sdk_strlen(const char *);
int sdk_strcmp(const char *, const char *);
int sdk_strncmp(const char *, const char *, size_t);
char *sdk_strchr(const char *, int);
char *sdk_strrchr(const char *, int);
int sdk_snprintf(char *, size_t, const char *, ...);
uint64_t sdk___udivdi3(uint64_t, uint64_t), sdk___umoddi3(uint64_t, uint64_t);
int64_t sdk___divdi3(int64_t, int64_t), sdk___moddi3(int64_t, int64_t);
int sdk___clzsi2(uint32_t);
float sdk___floatundisf(uint64_t), sdk___floatdisf(int64_t);
uint64_t sdk___fixunssfdi(float);
int64_t sdk___fixsfdi(float);

static size_t unhex(const char *h, unsigned char *out)
{
    size_t n = 0;
    if (strcmp(h, "-") == 0)
        return 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (unsigned char)v;
    }
    return n;
}

static void puthex(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

static void putwords(const uint32_t *w, int n)
{
    for (int i = 0; i < n; i++)
        printf("%08x%s", w[i], i + 1 < n ? " " : "\n");
}

static gs_console con;
static uint32_t fb[GS_SCREEN_W * GS_SCREEN_H];

/* gs IN OUT [CHUNK]: write IN to a fresh console (CHUNK bytes per
 * gs_console_write call, all at once by default), render it, and dump the
 * cells, the cursor and the frame to OUT. */
static int run_gs(const char *in, const char *out, size_t chunk)
{
    static char text[1 << 16];
    FILE *f = fopen(in, "rb");
    if (!f)
        return 2;
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    gs_console_reset(&con, GS_RGB(255, 255, 255), GS_RGB(0, 0, 64));
    if (chunk == 0)
        chunk = n ? n : 1;
    for (size_t i = 0; i < n; i += chunk)
        gs_console_write(&con, text + i, n - i < chunk ? n - i : chunk);
    gs_console_render(&con, fb, GS_SCREEN_W);
    f = fopen(out, "wb");
    fwrite(con.cells, 1, sizeof con.cells, f);
    int32_t pos[2] = {con.row, con.col};
    fwrite(pos, sizeof pos, 1, f);
    fwrite(fb, sizeof fb, 1, f);
    fclose(f);
    return 0;
}

static void run_line(char *line)
{
    static unsigned char a[4096], b[4096];
    char cmd[32], h1[8300], h2[8300];
    unsigned long long u[16];
    uint32_t w[16];
    uint64_t q[12];
    if (sscanf(line, "%31s", cmd) != 1)
        return;
    const char *rest = line + strlen(cmd);
    if (!strcmp(cmd, "memcpy") || !strcmp(cmd, "memmove")) {
        sscanf(rest, "%s %llu %llu %llu", h1, &u[0], &u[1], &u[2]);
        size_t n = unhex(h1, a);
        if (!strcmp(cmd, "memcpy"))
            sdk_memcpy(a + u[0], a + u[1], u[2]);
        else
            sdk_memmove(a + u[0], a + u[1], u[2]);
        puthex(a, n);
    } else if (!strcmp(cmd, "memset")) {
        sscanf(rest, "%s %llu %llu %llu", h1, &u[0], &u[1], &u[2]);
        size_t n = unhex(h1, a);
        sdk_memset(a + u[0], (int)u[1], u[2]);
        puthex(a, n);
    } else if (!strcmp(cmd, "memcmp")) {
        sscanf(rest, "%s %s", h1, h2);
        size_t n = unhex(h1, a);
        unhex(h2, b);
        int r = sdk_memcmp(a, b, n);
        printf("%d\n", (r > 0) - (r < 0));
    } else if (!strcmp(cmd, "strlen") || !strcmp(cmd, "strchr") || !strcmp(cmd, "strrchr")) {
        u[0] = 0;
        sscanf(rest, "%s %llu", h1, &u[0]);
        size_t n = unhex(h1, a);
        a[n] = 0;
        if (!strcmp(cmd, "strlen")) {
            printf("%zu\n", sdk_strlen((char *)a));
        } else {
            char *p = !strcmp(cmd, "strchr") ? sdk_strchr((char *)a, (int)u[0])
                                             : sdk_strrchr((char *)a, (int)u[0]);
            printf("%ld\n", p ? (long)(p - (char *)a) : -1L);
        }
    } else if (!strcmp(cmd, "strcmp") || !strcmp(cmd, "strncmp")) {
        u[0] = 0;
        sscanf(rest, "%s %s %llu", h1, h2, &u[0]);
        a[unhex(h1, a)] = 0;
        b[unhex(h2, b)] = 0;
        int r = !strcmp(cmd, "strcmp") ? sdk_strcmp((char *)a, (char *)b)
                                       : sdk_strncmp((char *)a, (char *)b, u[0]);
        printf("%d\n", (r > 0) - (r < 0));
    } else if (!strcmp(cmd, "udiv")) {
        sscanf(rest, "%llu %llu", &u[0], &u[1]);
        printf("%llu %llu\n", (unsigned long long)sdk___udivdi3(u[0], u[1]),
               (unsigned long long)sdk___umoddi3(u[0], u[1]));
    } else if (!strcmp(cmd, "sdiv")) {
        long long x, y;
        sscanf(rest, "%lld %lld", &x, &y);
        printf("%lld %lld\n", (long long)sdk___divdi3(x, y), (long long)sdk___moddi3(x, y));
    } else if (!strcmp(cmd, "clz")) {
        sscanf(rest, "%llu", &u[0]);
        printf("%d\n", sdk___clzsi2((uint32_t)u[0]));
    } else if (!strcmp(cmd, "u64tof")) {
        sscanf(rest, "%llu", &u[0]);
        float f = sdk___floatundisf(u[0]);
        uint32_t bits;
        memcpy(&bits, &f, 4);
        printf("%08x %llu\n", bits, (unsigned long long)sdk___fixunssfdi(f));
    } else if (!strcmp(cmd, "fmt")) {
        /* fmt TYPE FORMAT VALUE: TYPE i/u/ll/ull/s/c */
        char type[8], fmt[64], val[256], out[512];
        sscanf(rest, "%7s %63s %255s", type, fmt, val);
        int n;
        if (!strcmp(type, "i") || !strcmp(type, "c"))
            n = sdk_snprintf(out, sizeof out, fmt, (int)strtoll(val, 0, 10));
        else if (!strcmp(type, "u"))
            n = sdk_snprintf(out, sizeof out, fmt, (unsigned)strtoull(val, 0, 10));
        else if (!strcmp(type, "ll"))
            n = sdk_snprintf(out, sizeof out, fmt, (long long)strtoll(val, 0, 10));
        else if (!strcmp(type, "ull"))
            n = sdk_snprintf(out, sizeof out, fmt, (unsigned long long)strtoull(val, 0, 10));
        else
            n = sdk_snprintf(out, sizeof out, fmt, val);
        printf("%d [%s]\n", n, out);
    } else if (!strcmp(cmd, "trunc")) { /* snprintf into a small buffer */
        char out[8];
        memset(out, 'Z', sizeof out);
        int n = sdk_snprintf(out, (size_t)atoi(rest), "%s", "abcdefghij");
        printf("%d ", n);
        puthex((unsigned char *)out, sizeof out);
    } else if (!strcmp(cmd, "sif_bind")) {
        sscanf(rest, "%llx %llx %llx %llx %llx", &u[0], &u[1], &u[2], &u[3], &u[4]);
        uint32_t sz = sif_encode_rpc_bind(w, u[0], u[1], u[2], u[3], u[4]);
        printf("%u ", sz);
        putwords(w, 16);
    } else if (!strcmp(cmd, "sif_call")) {
        for (int i = 0; i < 11; i++)
            u[i] = 0;
        sscanf(rest, "%llx %llx %llx %llx %llx %llx %llx %llx %llx %llx", &u[0], &u[1], &u[2],
               &u[3], &u[4], &u[5], &u[6], &u[7], &u[8], &u[9]);
        uint32_t sz = sif_encode_rpc_call(w, u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
                                          u[8], u[9]);
        printf("%u ", sz);
        putwords(w, 16);
    } else if (!strcmp(cmd, "sif_init") || !strcmp(cmd, "sif_change_saddr")) {
        sscanf(rest, "%llx", &u[0]);
        uint32_t sz = !strcmp(cmd, "sif_init") ? sif_encode_init(w, u[0])
                                               : sif_encode_change_saddr(w, u[0]);
        printf("%u ", sz);
        putwords(w, 5);
    } else if (!strcmp(cmd, "sif_init_rpc")) {
        uint32_t sz = sif_encode_init_rpc(w);
        printf("%u ", sz);
        putwords(w, 4);
    } else if (!strcmp(cmd, "sif_end")) {
        char *end = (char *)rest;
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)strtoull(end, &end, 16);
        sif_rpc_end e;
        sif_decode_rpc_end(w, &e);
        printf("%08x %08x %08x %08x %08x %08x %08x\n", e.cid, e.client, e.answered_cid,
               e.server, e.buf, e.cbuf, e.rpc_id);
    } else if (!strcmp(cmd, "cdvd_read")) {
        sscanf(rest, "%llx %llx %llx %llx %llx %llx %llx %llx", &u[0], &u[1], &u[2], &u[3],
               &u[4], &u[5], &u[6], &u[7]);
        uint32_t sz = cdvd_encode_read(w, u[0], u[1], u[2],
                                       cdvd_encode_rmode(u[3], u[4], u[5]), u[6], u[7]);
        printf("%u ", sz);
        putwords(w, 6);
    } else if (!strcmp(cmd, "cdvd_init")) {
        sscanf(rest, "%llx", &u[0]);
        uint32_t sz = cdvd_encode_init(w, u[0]);
        printf("%u ", sz);
        putwords(w, 1);
    } else if (!strcmp(cmd, "cdvd_errname")) {
        long long code;
        sscanf(rest, "%lld", &code);
        printf("%s\n", cdvd_error_name((int)code));
    } else if (!strcmp(cmd, "gs_hdr")) {
        sscanf(rest, "%llu %llu %llu %llu %llu %llu", &u[0], &u[1], &u[2], &u[3], &u[4], &u[5]);
        int nq = gs_encode_upload_header(q, u[0], u[1], u[2], u[3], u[4], u[5]);
        printf("%d", nq);
        for (int i = 0; i < 12; i++)
            printf(" %016llx", (unsigned long long)q[i]);
        printf("\n");
    } else if (!strcmp(cmd, "gs_pmode") || !strcmp(cmd, "gs_dispfb") ||
               !strcmp(cmd, "gs_display")) { /* privileged register encoders */
        memset(u, 0, sizeof u);
        sscanf(rest, "%llu %llu %llu %llu %llu %llu", &u[0], &u[1], &u[2], &u[3], &u[4], &u[5]);
        uint64_t v = !strcmp(cmd, "gs_pmode")    ? gs_pmode(u[0], u[1], u[2], u[3], u[4], u[5])
                     : !strcmp(cmd, "gs_dispfb") ? gs_dispfb(u[0], u[1], u[2], u[3], u[4])
                                                 : gs_display(u[0], u[1], u[2], u[3], u[4], u[5]);
        printf("%016llx\n", (unsigned long long)v);
    } else if (!strcmp(cmd, "clock_fold")) {
        sscanf(rest, "%llu %llu %llu", &u[0], &u[1], &u[2]);
        uint32_t last = (uint32_t)u[1];
        uint64_t t = ee_clock_fold(u[0], &last, (uint32_t)u[2]);
        printf("%llu %u\n", (unsigned long long)t, last);
    } else {
        printf("?\n");
    }
}

int main(int argc, char **argv)
{
    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "gs"))
        return run_gs(argv[2], argv[3], argc == 5 ? (size_t)strtoul(argv[4], NULL, 10) : 0);
    static char line[20000];
    while (fgets(line, sizeof line, stdin)) {
        run_line(line);
        fflush(stdout);
    }
    return 0;
}
