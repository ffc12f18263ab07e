/* fmt.c — buffered formatted output through hal_write. */
#include "fmt.h"

#include <stdarg.h>

#include "hal.h"

static char out_buf[256];
static size_t out_len;

void fmt_flush(void)
{
    if (out_len) {
        hal_write(out_buf, out_len);
        out_len = 0;
    }
}

static void put(char c)
{
    if (out_len == sizeof out_buf)
        fmt_flush();
    out_buf[out_len++] = c;
    if (c == '\n')
        fmt_flush();
}

void fmt_bytes(const char *bytes, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++)
        put(bytes[i]);
}

void fmt_str(const char *s)
{
    while (*s)
        put(*s++);
}

static void put_digits(uint64_t v, unsigned base)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        put(tmp[--n]);
}

void fmt_uint(uint64_t v)
{
    put_digits(v, 10);
}

void fmt_int(int64_t v)
{
    if (v < 0) {
        put('-');
        fmt_uint((uint64_t)0 - (uint64_t)v);
    } else {
        fmt_uint((uint64_t)v);
    }
}

void fmt_float(float v, int decimals)
{
    uint32_t scale = 1, whole, frac;
    float rounded;
    int i;
    if (decimals > 6)
        decimals = 6;
    for (i = 0; i < decimals; i++)
        scale *= 10;
    if (v < 0.0f) {
        put('-');
        v = -v;
    }
    if (!(v < 1e9f)) {      /* also catches NaN where there is one */
        fmt_str("big");
        return;
    }
    rounded = v + 0.5f / (float)scale;
    whole = (uint32_t)rounded;
    frac = (uint32_t)((rounded - (float)whole) * (float)scale);
    if (frac >= scale)
        frac = scale - 1;
    fmt_uint(whole);
    if (decimals > 0) {
        put('.');
        for (i = decimals - 1; i >= 0; i--) {
            uint32_t p = 1;
            int k;
            for (k = 0; k < i; k++)
                p *= 10;
            put((char)('0' + frac / p % 10));
        }
    }
}

void fmt_print(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    for (; *f; f++) {
        int decimals = 3, is_long = 0;
        if (*f != '%') {
            put(*f);
            continue;
        }
        f++;
        if (*f == '.' && f[1] >= '0' && f[1] <= '9') {
            decimals = f[1] - '0';
            f += 2;
        }
        if (*f == 'l') {
            is_long = 1;
            f++;
        }
        switch (*f) {
        case 's': fmt_str(va_arg(ap, const char *)); break;
        case 'c': put((char)va_arg(ap, int)); break;
        case 'd':
            fmt_int(is_long ? (int64_t)va_arg(ap, long) : (int64_t)va_arg(ap, int));
            break;
        case 'u':
            fmt_uint(is_long ? (uint64_t)va_arg(ap, unsigned long) : (uint64_t)va_arg(ap, unsigned));
            break;
        case 'x': put_digits(va_arg(ap, unsigned), 16); break;
        case 'f': fmt_float(*va_arg(ap, const float *), decimals); break;
        case '%': put('%'); break;
        case '\0': f--; break;
        default: put('%'); put(*f); break;
        }
    }
    va_end(ap);
}
