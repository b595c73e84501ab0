/* A line-oriented front end to lib/aead.c, lib/chacha20.c and
 * lib/poly1305.c for tests/unit/aead_cross.py, which checks them against
 * Debian's python3-cryptography (OpenSSL) on random inputs.  One request
 * per line on stdin, one answer per line on stdout, hex fields, "-" for
 * an empty one:
 *   seal KEY NONCE AAD PT        -> CT TAG
 *   open KEY NONCE AAD CT TAG    -> ok PT | auth
 *   poly KEY MSG                 -> TAG
 *   chacha KEY COUNTER NONCE MSG -> OUT      (COUNTER in decimal)
 * Built with the unit tests (ASan + UBSan); not a test binary itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aead.h"
#include "lib/chacha20.h"
#include "lib/poly1305.h"

#define MAX_BYTES 65536

static u8 bufs[5][MAX_BYTES];

/* Parses one hex field of at most max bytes; -1 when malformed. */
static long field(char **s, u8 *out, size_t max)
{
	char *p = *s;
	while (*p == ' ')
		p++;
	char *start = p;
	while (*p && *p != ' ' && *p != '\n')
		p++;
	*s = p;
	size_t len = (size_t)(p - start);
	if (len == 1 && start[0] == '-')
		return 0;
	if (len % 2 || len / 2 > max)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;
		if (sscanf(start + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (u8)v;
	}
	return (long)(len / 2);
}

static void put(const u8 *p, size_t n)
{
	if (!n)
		putchar('-');
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static int one(char *line)
{
	char *s = line;
	u8 key[32], nonce[12], tag[16];
	if (strncmp(line, "seal ", 5) == 0) {
		s += 4;
		long a, n;
		if (field(&s, key, 32) != 32 || field(&s, nonce, 12) != 12 ||
		    (a = field(&s, bufs[0], MAX_BYTES)) < 0 || (n = field(&s, bufs[1], MAX_BYTES)) < 0)
			return -1;
		aead_seal(key, nonce, bufs[0], (size_t)a, bufs[1], (size_t)n, bufs[2], tag);
		put(bufs[2], (size_t)n);
		putchar(' ');
		put(tag, 16);
	} else if (strncmp(line, "open ", 5) == 0) {
		s += 4;
		long a, n;
		if (field(&s, key, 32) != 32 || field(&s, nonce, 12) != 12 ||
		    (a = field(&s, bufs[0], MAX_BYTES)) < 0 || (n = field(&s, bufs[1], MAX_BYTES)) < 0 ||
		    field(&s, tag, 16) != 16)
			return -1;
		memset(bufs[2], 0xa5, (size_t)n);
		if (aead_open(key, nonce, bufs[0], (size_t)a, bufs[1], (size_t)n, bufs[2], tag) == 0) {
			printf("ok ");
			put(bufs[2], (size_t)n);
		} else {
			for (long i = 0; i < n; i++)
				if (bufs[2][i] != 0xa5)
					return -1; /* a refused open wrote plaintext */
			printf("auth");
		}
	} else if (strncmp(line, "poly ", 5) == 0) {
		s += 4;
		long n;
		if (field(&s, key, 32) != 32 || (n = field(&s, bufs[0], MAX_BYTES)) < 0)
			return -1;
		poly1305(key, bufs[0], (size_t)n, tag);
		put(tag, 16);
	} else if (strncmp(line, "chacha ", 7) == 0) {
		s += 6;
		char *end;
		unsigned long counter = strtoul(s, &end, 10);
		s = end;
		long n;
		if (counter > 0xffffffffu || field(&s, key, 32) != 32 || field(&s, nonce, 12) != 12 ||
		    (n = field(&s, bufs[0], MAX_BYTES)) < 0)
			return -1;
		chacha20_xor(key, (u32)counter, nonce, bufs[0], bufs[1], (size_t)n);
		put(bufs[1], (size_t)n);
	} else {
		return -1;
	}
	putchar('\n');
	return 0;
}

int main(void)
{
	static char line[6 * MAX_BYTES];
	while (fgets(line, sizeof(line), stdin)) {
		if (one(line) != 0) {
			printf("error: %.40s\n", line);
			return 1;
		}
	}
	return 0;
}
