/* The fake back end: see fake_arch.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fake_arch.h"

struct fake_arch_calls fake_calls;

static void fake_inject(struct vcpu *vcpu, u8 vector, bool has_error, u32 error)
{
	(void)vcpu;
	fake_calls.injects++;
	fake_calls.vector = vector;
	fake_calls.has_error = has_error;
	fake_calls.error = error;
}

static void fake_io_intercept(struct vm *vm, u16 port, u16 count, bool on)
{
	(void)vm;
	if (fake_calls.nintercepts == FAKE_MAX_INTERCEPTS) {
		printf("  fake_arch: more than %d io_intercept calls\n", FAKE_MAX_INTERCEPTS);
		abort();
	}
	fake_calls.intercept[fake_calls.nintercepts++] = (struct fake_intercept){ port, count, on };
}

static bool fake_msr_read(struct vcpu *vcpu, u32 msr, u64 *val)
{
	(void)vcpu;
	if (msr != FAKE_ARCH_MSR)
		return false;
	fake_calls.msr_reads++;
	*val = fake_calls.msr;
	return true;
}

static bool fake_msr_write(struct vcpu *vcpu, u32 msr, u64 val)
{
	(void)vcpu;
	if (msr != FAKE_ARCH_MSR)
		return false;
	fake_calls.msr_writes++;
	fake_calls.msr = val;
	return true;
}

static void fake_flush(struct vcpu *vcpu)
{
	(void)vcpu;
	fake_calls.flushes++;
}

static void fake_dump(struct vcpu *vcpu)
{
	(void)vcpu;
	fake_calls.dumps++;
}

/* A test that reaches run has a bug: the fake never enters a guest. */
static void fake_run(struct vcpu *vcpu, struct vm_exit *exit)
{
	(void)vcpu;
	(void)exit;
	printf("  fake_arch: run called\n");
	abort();
}

const struct hv_arch fake_arch = {
	.name = "fake back end",
	.run = fake_run,
	.inject_exception = fake_inject,
	.io_intercept = fake_io_intercept,
	.msr_read = fake_msr_read,
	.msr_write = fake_msr_write,
	.flush_nested_tlb = fake_flush,
	.dump = fake_dump,
};

void fake_vm_init(struct vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->arch = &fake_arch;
	vm->vcpu.vm = vm;
	vm->vcpu.regs.mode = X86_MODE_64;
	memset(&fake_calls, 0, sizeof(fake_calls));
}

bool fake_port_intercepted(u16 port)
{
	bool on = false;
	for (unsigned i = 0; i < fake_calls.nintercepts; i++) {
		const struct fake_intercept *c = &fake_calls.intercept[i];
		if (port >= c->port && port - c->port < c->count)
			on = c->on;
	}
	return on;
}
