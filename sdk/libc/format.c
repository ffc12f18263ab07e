/* format.c — vsnprintf/snprintf without floating point (see stdio.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char *buf;
    size_t size, len;
} _out;

static void _put(_out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void _pad(_out *o, char c, int n)
{
    while (n-- > 0)
        _put(o, c);
}

static void _num(_out *o, uint64_t v, int neg, unsigned base, int upper, int width, int zero,
                 int left)
{
    char tmp[24];
    int n = 0;
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        /* base is 10 or 16: avoid 64-bit division helpers for base 16 */
        unsigned d;
        if (base == 16) {
            d = (unsigned)(v & 15u);
            v >>= 4;
        } else {
            uint64_t q = v / 10u;
            d = (unsigned)(v - q * 10u);
            v = q;
        }
        tmp[n++] = digits[d];
    } while (v);
    int len = n + (neg ? 1 : 0);
    if (!left && !zero)
        _pad(o, ' ', width - len);
    if (neg)
        _put(o, '-');
    if (!left && zero)
        _pad(o, '0', width - len);
    while (n)
        _put(o, tmp[--n]);
    if (left)
        _pad(o, ' ', width - len);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    _out o = {buf, size, 0};
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            _put(&o, *fmt);
            continue;
        }
        fmt++;
        int left = 0, zero = 0, width = 0, prec = -1, lng = 0;
        for (;; fmt++) {
            if (*fmt == '-')
                left = 1;
            else if (*fmt == '0')
                zero = 1;
            else
                break;
        }
        if (*fmt == '*') {
            width = va_arg(ap, int);
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            while (*fmt >= '0' && *fmt <= '9')
                prec = prec * 10 + (*fmt++ - '0');
        }
        while (*fmt == 'l' || *fmt == 'z') {
            lng += (*fmt == 'z') ? (sizeof(size_t) == 8 ? 2 : 1) : 1;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = lng >= 2 ? va_arg(ap, long long) : lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
            uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            _num(&o, m, v < 0, 10, 0, width, zero, left);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = lng >= 2 ? va_arg(ap, unsigned long long)
                         : lng == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
            _num(&o, v, 0, *fmt == 'u' ? 10 : 16, *fmt == 'X', width, zero, left);
            break;
        }
        case 'p':
            _put(&o, '0');
            _put(&o, 'x');
            _num(&o, (uintptr_t)va_arg(ap, void *), 0, 16, 0, 0, 0, 0);
            break;
        case 'c':
            if (!left)
                _pad(&o, ' ', width - 1);
            _put(&o, (char)va_arg(ap, int));
            if (left)
                _pad(&o, ' ', width - 1);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int n = 0;
            while (s[n] && (prec < 0 || n < prec))
                n++;
            if (!left)
                _pad(&o, ' ', width - n);
            for (int i = 0; i < n; i++)
                _put(&o, s[i]);
            if (left)
                _pad(&o, ' ', width - n);
            break;
        }
        case '%':
            _put(&o, '%');
            break;
        case '\0':
            fmt--;
            break;
        default:
            _put(&o, '%');
            _put(&o, *fmt);
            break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
