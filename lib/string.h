/* Freestanding string and memory helpers (lib/string.c).  The host unit
 * tests use the C library's versions instead. */
#ifndef FERRY_STRING_H
#define FERRY_STRING_H

#include "types.h"

#ifdef FERRY_HOST_TEST
#include <string.h>
#else
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
#endif

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);
/* Parses an unsigned integer (decimal, or hex with 0x).  Returns 0 and
 * stores the value, or -E_INVAL on junk / -E_RANGE on overflow. */
int str_to_u64(const char *s, size_t len, u64 *out);
int str_casecmp(const char *a, const char *b);
/* Is item[0 .. len) one of the comma-separated items of list (no blanks)? */
bool str_list_has(const char *list, const char *item, size_t len);
char to_upper(char c);
char to_lower(char c);

/* Zeroes n bytes at p even where the compiler could prove the memory dead
 * (key material on the stack before a return): the empty asm with a memory
 * clobber makes the stores observable. */
static inline void mem_wipe(void *p, size_t n)
{
	memset(p, 0, n);
	__asm__ volatile("" : : "r"(p) : "memory");
}

#endif
