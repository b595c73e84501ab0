/* A small vsnprintf for ferry and its guest (no floating point). */
#include "fmt.h"
#include "string.h"

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width, bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;
	/* Zero padding goes after a sign. */
	if (!left && pad == '0' && n && *s == '-') {
		put(o, '-');
		s++, n--;
	}
	if (!left)
		while (fill-- > 0)
			put(o, pad);
	while (n--)
		put(o, *s++);
	if (left)
		while (fill-- > 0)
			put(o, ' ');
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		bool left = false;
		char pad = ' ';
		int width = 0, prec = -1, lng = 0;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			while (*fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + (*fmt++ - '0');
		}
		while (*fmt == 'l' || *fmt == 'z') {
			lng += *fmt == 'z' ? 2 : 1;
			fmt++;
		}

		char tmp[24];
		size_t n = 0;
		u64 v;
		unsigned base = 10;
		bool neg = false, upper = false;

		switch (*fmt) {
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			put_padded(&o, tmp, 1, width, left, ' ');
			continue;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			size_t len = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
			put_padded(&o, s, len, width, left, ' ');
			continue;
		}
		case '%':
			put(&o, '%');
			continue;
		case 'd':
		case 'i': {
			s64 sv = lng ? va_arg(ap, s64) : va_arg(ap, int);
			neg = sv < 0;
			v = neg ? -(u64)sv : (u64)sv;
			break;
		}
		case 'p':
			v = (u64)(uintptr_t)va_arg(ap, void *);
			base = 16;
			put(&o, '0');
			put(&o, 'x');
			break;
		case 'X':
			upper = true;
			/* fall through */
		case 'x':
			base = 16;
			/* fall through */
		case 'u':
			v = lng ? va_arg(ap, u64) : va_arg(ap, unsigned);
			break;
		default: /* unknown conversion: print it as is */
			put(&o, '%');
			if (*fmt)
				put(&o, *fmt);
			else
				fmt--;
			continue;
		}
		/* Digits are produced backwards into the end of tmp. */
		char *p = tmp + sizeof(tmp);
		do {
			unsigned d = v % base;
			*--p = (char)(d < 10 ? '0' + d : (upper ? 'A' : 'a') + d - 10);
			v /= base;
		} while (v);
		if (neg)
			*--p = '-';
		n = (size_t)(tmp + sizeof(tmp) - p);
		put_padded(&o, p, n, width, left, pad);
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
