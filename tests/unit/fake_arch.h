/* A fake virtualization back end (struct hv_arch) for host tests of the
 * exit path: it enters no guest, it records what the core asks of it
 * (exceptions, port intercepts, reports) and keeps one MSR in its "guest
 * state".  The tests build struct vm_exit themselves, as a back end's run
 * would, and call the core's handlers. */
#ifndef FERRY_FAKE_ARCH_H
#define FERRY_FAKE_ARCH_H

#include "vm/vm.h"

#define FAKE_MAX_INTERCEPTS 64
/* The one MSR the fake keeps in its guest state (msr_read/msr_write). */
#define FAKE_ARCH_MSR 0x277

struct fake_intercept {
	u16 port, count;
	bool on;
};

struct fake_arch_calls {
	unsigned injects;        /* inject_exception calls */
	u8 vector;               /* the last one's vector, error code */
	bool has_error;
	u32 error;
	unsigned step_traps;     /* step_trap calls */
	unsigned dumps;          /* dump calls (one per stop report) */
	unsigned flushes;        /* flush_nested_tlb calls */
	struct fake_intercept intercept[FAKE_MAX_INTERCEPTS];
	unsigned nintercepts;
	u64 msr;                 /* FAKE_ARCH_MSR's value */
	unsigned msr_reads, msr_writes;
};

extern const struct hv_arch fake_arch;
extern struct fake_arch_calls fake_calls;

/* Empties *vm (no RAM, no MMIO regions, running), binds it to fake_arch
 * and clears fake_calls.  The vCPU is in 64-bit mode, paging off. */
void fake_vm_init(struct vm *vm);
/* Did io_intercept leave port intercepted (the last call covering it
 * wins, as in a back end's bitmap)? */
bool fake_port_intercepted(u16 port);
/* The last msr_intercept call's answer for msr: bit 0 read, bit 1 write
 * (both set for an MSR never named: the back ends start that way); -1
 * for an MSR outside the three permission-map ranges. */
int fake_msr_intercepted(u32 msr);

#endif
