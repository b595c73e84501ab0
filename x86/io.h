/* Port I/O and MMIO accessors.  MMIO goes through volatile pointers so the
 * compiler emits exactly one access of the given width. */
#ifndef FERRY_X86_IO_H
#define FERRY_X86_IO_H

#include "lib/types.h"

#ifdef FERRY_HOST_TEST
/* Host unit tests have no ports: a test that links code doing port I/O
 * supplies these (tests/unit/fake_bus.c, a fake bus). */
void outb(u16 port, u8 v);
void outw(u16 port, u16 v);
void outl(u16 port, u32 v);
u8 inb(u16 port);
u16 inw(u16 port);
u32 inl(u16 port);
#else
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
#endif

#ifdef FERRY_HOST_TEST
/* A host test may model a device's registers (tests/unit/fake_vioblk.c):
 * when it links this function, every MMIO access goes to it first, and it
 * returns true for the ones it handled.  Without it MMIO is plain memory. */
bool fake_mmio_access(volatile void *addr, unsigned size, bool write, u32 *val) __attribute__((weak));
#define MMIO_ACCESSORS(bits)                                                                  \
	static inline u##bits mmio_rd##bits(volatile void *base, u32 off)                     \
	{                                                                                     \
		volatile u8 *a = (volatile u8 *)base + off;                                   \
		u32 v;                                                                        \
		if (fake_mmio_access && fake_mmio_access(a, bits / 8, false, &v))             \
			return (u##bits)v;                                                    \
		return *(volatile u##bits *)a;                                                \
	}                                                                                     \
	static inline void mmio_wr##bits(volatile void *base, u32 off, u##bits v)             \
	{                                                                                     \
		volatile u8 *a = (volatile u8 *)base + off;                                   \
		u32 w = v;                                                                    \
		if (!fake_mmio_access || !fake_mmio_access(a, bits / 8, true, &w))            \
			*(volatile u##bits *)a = v;                                           \
	}
MMIO_ACCESSORS(8)
MMIO_ACCESSORS(16)
MMIO_ACCESSORS(32)
#undef MMIO_ACCESSORS
#else
static inline u32 mmio_rd32(volatile void *base, u32 off) { return *(volatile u32 *)((volatile u8 *)base + off); }
static inline void mmio_wr32(volatile void *base, u32 off, u32 v) { *(volatile u32 *)((volatile u8 *)base + off) = v; }
static inline u16 mmio_rd16(volatile void *base, u32 off) { return *(volatile u16 *)((volatile u8 *)base + off); }
static inline void mmio_wr16(volatile void *base, u32 off, u16 v) { *(volatile u16 *)((volatile u8 *)base + off) = v; }
static inline u8 mmio_rd8(volatile void *base, u32 off) { return *(volatile u8 *)((volatile u8 *)base + off); }
static inline void mmio_wr8(volatile void *base, u32 off, u8 v) { *(volatile u8 *)((volatile u8 *)base + off) = v; }
#endif

/* Orders memory accesses against a device reading descriptors by DMA. */
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void wmb(void) { __asm__ volatile("sfence" ::: "memory"); }
static inline void rmb(void) { __asm__ volatile("lfence" ::: "memory"); }
/* Full barrier: orders a store before a later load (e.g. publishing a ring
 * index, then reading whether the device wants a notification). */
static inline void mb(void) { __asm__ volatile("mfence" ::: "memory"); }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

#endif
