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

/* One conversion's flags, width, precision and length modifiers. */
struct spec {
	bool left;
	char pad;
	int width, prec, lng;
};

/* Reads what follows the '%' up to the conversion character, where it
 * leaves *fmt; a '*' width or precision is taken from ap. */
static void parse_spec(const char **fmt, va_list *ap, struct spec *sp)
{
	const char *f = *fmt;
	*sp = (struct spec){ .left = false, .pad = ' ', .width = 0, .prec = -1, .lng = 0 };
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->pad = '0';
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	if (*f == '.') {
		f++;
		sp->prec = 0;
		if (*f == '*') {
			sp->prec = va_arg(*ap, int);
			f++;
		}
		while (*f >= '0' && *f <= '9')
			sp->prec = sp->prec * 10 + (*f++ - '0');
	}
	while (*f == 'l' || *f == 'z') {
		sp->lng += *f == 'z' ? 2 : 1;
		f++;
	}
	*fmt = f;
}

/* v in base (up to 16), after a '-' when neg, padded as sp says. */
static void put_number(struct out *o, u64 v, unsigned base, bool upper, bool neg, const struct spec *sp)
{
	char tmp[24];
	/* Digits are produced backwards into the end of tmp. */
	char *p = tmp + sizeof(tmp);
	do {
		unsigned d = (unsigned)(v % base); /* below base */
		*--p = (char)(d < 10 ? '0' + d : (upper ? 'A' : 'a') + d - 10);
		v /= base;
	} while (v);
	if (neg)
		*--p = '-';
	put_padded(o, p, (size_t)(tmp + sizeof(tmp) - p), sp->width, sp->left, sp->pad);
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list args)
{
	struct out o = { buf, size, 0 };
	va_list ap; /* a copy, so that parse_spec can take arguments too */
	va_copy(ap, args);

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		struct spec sp;
		parse_spec(&fmt, &ap, &sp);

		u64 v;
		unsigned base = 10;
		bool neg = false, upper = false;
		switch (*fmt) {
		case 'c': {
			char c = (char)va_arg(ap, int);
			put_padded(&o, &c, 1, sp.width, sp.left, ' ');
			continue;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			size_t len = sp.prec >= 0 ? strnlen(s, (size_t)sp.prec) : strlen(s);
			put_padded(&o, s, len, sp.width, sp.left, ' ');
			continue;
		}
		case '%':
			put(&o, '%');
			continue;
		case 'd':
		case 'i': {
			s64 sv = sp.lng ? va_arg(ap, s64) : va_arg(ap, int);
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
			v = sp.lng ? va_arg(ap, u64) : va_arg(ap, unsigned);
			break;
		default: /* unknown conversion: print it as is */
			put(&o, '%');
			if (*fmt)
				put(&o, *fmt);
			else
				fmt--;
			continue;
		}
		put_number(&o, v, base, upper, neg, &sp);
	}
	va_end(ap);
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
