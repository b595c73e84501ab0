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

static void fake_step_trap(struct vcpu *vcpu)
{
	(void)vcpu;
	fake_calls.step_traps++;
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

/* Two bits per MSR for 0-0x1FFF, 0xC0000000-, 0xC0010000-, as the back
 * ends' maps; 0 = not yet named (reads as both intercepted). */
static u8 fake_msr_map[3][0x2000];

static int msr_slot(u32 msr, unsigned *r)
{
	static const u32 base[] = { 0, 0xC0000000u, 0xC0010000u };
	for (unsigned i = 0; i < 3; i++)
		if (msr >= base[i] && msr - base[i] < 0x2000) {
			*r = i;
			return (int)(msr - base[i]);
		}
	return -1;
}

static void fake_msr_intercept(struct vm *vm, u32 msr, bool read, bool write)
{
	(void)vm;
	unsigned r;
	int i = msr_slot(msr, &r);
	if (i >= 0)
		fake_msr_map[r][i] = (u8)(0x4 | (read ? 1 : 0) | (write ? 2 : 0));
}

int fake_msr_intercepted(u32 msr)
{
	unsigned r;
	int i = msr_slot(msr, &r);
	if (i < 0)
		return -1;
	return fake_msr_map[r][i] ? fake_msr_map[r][i] & 3 : 3;
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
	.step_trap = fake_step_trap,
	.io_intercept = fake_io_intercept,
	.msr_intercept = fake_msr_intercept,
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
	memset(fake_msr_map, 0, sizeof(fake_msr_map));
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

