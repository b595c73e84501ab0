#ifndef FERRY_MMIO_H
#define FERRY_MMIO_H

#include "vm.h"

enum mmio_result {
	MMIO_DONE,     /* emulated, RIP advanced */
	MMIO_INJECTED, /* could not emulate; an exception was queued */
	MMIO_STOP,     /* the guest cannot go on */
};

/* Emulates the access behind a nested page fault. */
enum mmio_result mmio_emulate(struct vcpu *vcpu, const struct vm_exit *exit);

#endif
