/* FAT: 8.3 and long (VFAT) names -- checks, conversions between UTF-8,
 * UTF-16 and 8.3 form, the basis of generated short names, checksums. */
#include "fat_internal.h"
#include "lib/string.h"

const u8 fat_lfn_char_off[LFN_CHARS] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };

/* fatgen103 "Long Name Checksum": rotate right, add the next byte. */
u8 fat_lfn_checksum(const u8 sn[11])
{
	u8 sum = 0;
	for (int i = 0; i < 11; i++)
		sum = (u8)(((sum & 1) << 7) + (sum >> 1) + sn[i]);
	return sum;
}

/* Characters allowed in an 8.3 name besides A-Z and 0-9 (fatgen103
 * "DIR_Name"); bytes above 0x7F are codepage-dependent and not produced. */
static bool short_char_ok(char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("$%'-_@~`!(){}^#&", c) != NULL;
}

/* Characters a long name may not contain. */
static bool long_char_ok(u32 ch)
{
	return ch >= 0x20 && ch != 0x7f && !(ch < 0x80 && strchr("\"*/:<>?\\|", (int)ch));
}

/* "NAME.EXT" for display, honouring the NT lower-case flags. */
void fat_short_to_str(const u8 *sn, u8 nt_res, char *out)
{
	size_t n = 0;
	int blen = 8, elen = 3;
	while (blen > 0 && sn[blen - 1] == ' ')
		blen--;
	while (elen > 0 && sn[8 + elen - 1] == ' ')
		elen--;
	for (int i = 0; i < blen + elen; i++) {
		int j = i < blen ? i : 8 + i - blen;
		u8 c = sn[j];
		if (i == blen)
			out[n++] = '.';
		if (j == 0 && c == DIR_KANJI_E5)
			c = 0xe5;
		if (c < 0x20 || c >= 0x7f)
			c = '?';
		if ((j < 8 && (nt_res & 0x08)) || (j >= 8 && (nt_res & 0x10)))
			c = (u8)to_lower((char)c);
		out[n++] = (char)c;
	}
	out[n] = '\0';
}

/* UTF-16 (from a long name) to UTF-8; unpaired surrogates become '?'. */
void fat_utf16_to_utf8(const u16 *u, u32 n, char *out, size_t size)
{
	size_t o = 0;
	for (u32 i = 0; i < n; i++) {
		u32 ch = u[i];
		if (ch >= 0xd800 && ch < 0xdc00 && i + 1 < n && u[i + 1] >= 0xdc00 && u[i + 1] < 0xe000) {
			ch = 0x10000 + ((ch - 0xd800) << 10) + (u[i + 1] - 0xdc00);
			i++;
		} else if (ch >= 0xd800 && ch < 0xe000) {
			ch = '?';
		}
		if (ch < 0x20 || ch == 0x7f)
			ch = '?';
		u8 b[4];
		size_t k;
		if (ch < 0x80) {
			b[0] = (u8)ch;
			k = 1;
		} else if (ch < 0x800) {
			b[0] = (u8)(0xc0 | ch >> 6);
			b[1] = (u8)(0x80 | (ch & 0x3f));
			k = 2;
		} else if (ch < 0x10000) {
			b[0] = (u8)(0xe0 | ch >> 12);
			b[1] = (u8)(0x80 | ((ch >> 6) & 0x3f));
			b[2] = (u8)(0x80 | (ch & 0x3f));
			k = 3;
		} else {
			b[0] = (u8)(0xf0 | ch >> 18);
			b[1] = (u8)(0x80 | ((ch >> 12) & 0x3f));
			b[2] = (u8)(0x80 | ((ch >> 6) & 0x3f));
			b[3] = (u8)(0x80 | (ch & 0x3f));
			k = 4;
		}
		if (o + k >= size)
			break;
		memcpy(out + o, b, k);
		o += k;
	}
	out[o] = '\0';
}

/* UTF-8 name to UTF-16 for a long-name entry.  Returns the number of
 * units, -E_INVAL for bad UTF-8 or a forbidden character, or
 * -E_NAMETOOLONG past 255 units. */
int fat_utf8_to_utf16(const char *s, size_t len, u16 *u, u32 max)
{
	u32 n = 0;
	for (size_t i = 0; i < len;) {
		u8 c = (u8)s[i];
		u32 ch, k;
		if (c < 0x80) {
			ch = c;
			k = 1;
		} else if ((c & 0xe0) == 0xc0) {
			ch = c & 0x1f;
			k = 2;
		} else if ((c & 0xf0) == 0xe0) {
			ch = c & 0x0f;
			k = 3;
		} else if ((c & 0xf8) == 0xf0) {
			ch = c & 0x07;
			k = 4;
		} else {
			return -E_INVAL;
		}
		if (k > len - i)
			return -E_INVAL;
		for (u32 j = 1; j < k; j++) {
			if (((u8)s[i + j] & 0xc0) != 0x80)
				return -E_INVAL;
			ch = ch << 6 | ((u8)s[i + j] & 0x3f);
		}
		/* Overlong forms and surrogates are not valid UTF-8. */
		if ((k == 2 && ch < 0x80) || (k == 3 && ch < 0x800) || (k == 4 && ch < 0x10000) ||
		    ch > 0x10ffff || (ch >= 0xd800 && ch < 0xe000))
			return -E_INVAL;
		if (!long_char_ok(ch))
			return -E_INVAL;
		i += k;
		if (ch >= 0x10000) {
			if (n + 2 > max)
				return -E_NAMETOOLONG;
			ch -= 0x10000;
			u[n++] = (u16)(0xd800 + (ch >> 10));
			u[n++] = (u16)(0xdc00 + (ch & 0x3ff));
		} else {
			if (n + 1 > max)
				return -E_NAMETOOLONG;
			u[n++] = (u16)ch;
		}
	}
	return (int)n;
}

/* If name is exactly an 8.3 name (each part all upper or all lower case),
 * fills sn and the NT case flags and returns true. */
bool fat_name_to_short(const char *name, size_t len, u8 sn[11], u8 *nt_res)
{
	const char *dot = NULL;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (dot)
				return false;
			dot = name + i;
		}
	}
	size_t blen = dot ? (size_t)(dot - name) : len;
	size_t elen = dot ? len - blen - 1 : 0;
	if (blen < 1 || blen > 8 || (dot && (elen < 1 || elen > 3)))
		return false;
	memset(sn, ' ', 11);
	*nt_res = 0;
	for (int part = 0; part < 2; part++) {
		const char *p = part ? (dot ? dot + 1 : name + len) : name; /* no dot: an empty extension */
		size_t n = part ? elen : blen;
		bool lower = false, upper = false;
		for (size_t i = 0; i < n; i++) {
			char c = p[i];
			lower |= c >= 'a' && c <= 'z';
			upper |= c >= 'A' && c <= 'Z';
			c = to_upper(c);
			if (!short_char_ok(c))
				return false;
			sn[(part ? 8 : 0) + i] = (u8)c;
		}
		if (lower && upper)
			return false;
		if (lower)
			*nt_res |= part ? 0x10 : 0x08;
	}
	return true;
}

/* The basis name of fatgen103 "Basis-Name Generation Algorithm": upper
 * case, spaces and leading periods dropped, other unusable characters as
 * '_', base up to the first period (8 chars), extension after the last. */
void fat_basis_name(const u16 *u, u32 n, u8 sn[11])
{
	u32 start = 0, last_dot = n;
	memset(sn, ' ', 11);
	while (start < n && (u[start] == '.' || u[start] == ' '))
		start++;
	for (u32 i = start; i < n; i++)
		if (u[i] == '.')
			last_dot = i;
	u32 b = 0;
	for (u32 i = start; i < n && u[i] != '.' && b < 8; i++) {
		if (u[i] == ' ')
			continue;
		char c = u[i] < 0x80 ? to_upper((char)u[i]) : '_';
		sn[b++] = short_char_ok(c) ? (u8)c : '_';
	}
	if (b == 0)
		sn[b++] = '_';
	u32 e = 0;
	for (u32 i = last_dot + 1; i < n && e < 3; i++) {
		if (u[i] == ' ' || u[i] == '.')
			continue;
		char c = u[i] < 0x80 ? to_upper((char)u[i]) : '_';
		sn[8 + e++] = short_char_ok(c) ? (u8)c : '_';
	}
}

/* Case-insensitive (ASCII) comparison of a counted name with a string. */
bool fat_name_eq(const char *a, size_t alen, const char *b)
{
	for (size_t i = 0; i < alen; i++, b++)
		if (!*b || to_upper(a[i]) != to_upper(*b))
			return false;
	return *b == '\0';
}
