/* A virtual machine: its memory, its emulated devices and its one vCPU. */
#ifndef FERRY_VM_H
#define FERRY_VM_H

#include "gmem.h"
#include "vcpu.h"

#define VM_MAX_MMIO 8

/* An emulated device region.  Accesses that fault in the nested page tables
 * inside [start, start+len) are decoded and handed to read / write with the
 * offset into the region and the access size (1, 2, 4 or 8). */
struct mmio_region {
	const char *name;
	gpa_t start;
	u64 len;
	u64 (*read)(void *ctx, u64 off, unsigned size);
	void (*write)(void *ctx, u64 off, unsigned size, u64 val);
	void *ctx;
};

struct vm {
	const struct hv_arch *arch;
	struct gmem ram;
	hpa_t nested_root;  /* root of the NPT / EPT */
	void *arch_data;    /* I/O and MSR bitmaps */
	struct mmio_region mmio[VM_MAX_MMIO];
	unsigned nmmio;
	struct vcpu vcpu;
	gpa_t lbd_gpa;      /* the logical device's register page, 0 if none */
	/* Called after ferry took physical interrupts (EXIT_INTR): the
	 * server role serves the network here while its guest runs. */
	void (*on_interrupt)(struct vm *vm);
	int exit_status;    /* what the guest asked to power off with */
	bool stopped;
	const char *stop_reason;
};

/* Maps [gpa, gpa+size) to [hpa, ...) in the nested page tables with perm
 * (NESTED_R/W/X/UC).  Uses 2 MiB pages where alignment allows.  Remapping
 * a range replaces what was there. */
int nested_map(struct vm *vm, gpa_t gpa, hpa_t hpa, u64 size, unsigned perm);
/* The nested entry for gpa (0 if none), for diagnostics. */
u64 nested_lookup(struct vm *vm, gpa_t gpa);

int mmio_register(struct vm *vm, const struct mmio_region *r);
struct mmio_region *mmio_find(struct vm *vm, gpa_t gpa);

/* Stops the guest; the run loop ends after the current exit. */
void vm_stop(struct vm *vm, const char *why);

#endif
