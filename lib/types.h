/* Fixed-width types and small helpers shared by ferry, its guest and the
 * host unit tests.  Freestanding: only compiler-provided headers. */
#ifndef FERRY_TYPES_H
#define FERRY_TYPES_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

/* Address spaces.  Guest-physical and host-physical addresses are kept in
 * distinct names so a conversion is always a visible call. */
typedef u64 gpa_t; /* guest-physical */
typedef u64 hpa_t; /* host-physical (ferry's identity map: hva == hpa) */
typedef u64 gva_t; /* guest-virtual */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((u64)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((u64)(a)-1)) == 0)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define BIT(n) ((u64)1 << (n))
/* A bit of a 32-bit register: u32, so that ~BIT32(n) is a 32-bit mask. */
#define BIT32(n) ((u32)1 << (n))
#define PAGE_SIZE ((u64)4096)
#define PAGE_SHIFT 12

#define KiB ((u64)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

#define __packed __attribute__((packed))
#define __aligned(n) __attribute__((aligned(n)))
#define __noreturn __attribute__((noreturn))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __unused __attribute__((unused))

/* Error codes: functions return 0 or a negative value from this list. */
enum {
	E_OK = 0,
	E_INVAL = 1,    /* invalid argument or malformed input */
	E_RANGE = 2,    /* address, LBA or length out of range */
	E_NOMEM = 3,    /* out of memory */
	E_IO = 4,       /* device reported an error */
	E_TIMEDOUT = 5, /* device did not answer in time */
	E_NOTSUP = 6,   /* valid but not supported */
	E_NOENT = 7,    /* no such file, device or entry */
	E_EXIST = 8,    /* already exists */
	E_NOSPC = 9,    /* no space left */
	E_NOTDIR = 10,  /* path component is not a directory */
	E_ISDIR = 11,   /* is a directory */
	E_NOTEMPTY = 12,/* directory not empty */
	E_ACCES = 13,   /* access denied (e.g. DMA into memory the guest does not own) */
	E_ROFS = 14,    /* read-only device */
	E_CORRUPT = 15, /* on-disk structure is inconsistent */
	E_NAMETOOLONG = 16,
	E_AUTH = 17,    /* authentication failed (a tag or MAC does not verify) */
};

/* Short lower-case name of an error code ("inval", "range", ...). */
const char *err_name(int err);

#endif
