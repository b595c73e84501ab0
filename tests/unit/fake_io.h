/* Guest port I/O for the tests of vm/guest_io.c and the devices behind it:
 * one IN or OUT as a back end's run reports it, handed to guest_io(). */
#ifndef FERRY_FAKE_IO_H
#define FERRY_FAKE_IO_H

#include "vm/guest_io.h"
#include "x86/cpu.h"

/* Returns what guest_io returned (false: it injected an exception). */
static inline bool fake_io(struct vcpu *vcpu, u16 port, u8 size, bool in)
{
	struct vm_exit e = { .reason = EXIT_IO, .insn_len = 1 };
	e.io.port = port;
	e.io.size = size;
	e.io.in = in;
	return guest_io(vcpu, &e);
}

/* The guest's RAX after IN from port, RAX being rax before (0xBAD when
 * guest_io injected an exception instead). */
static inline u64 fake_in(struct vcpu *vcpu, u16 port, u8 size, u64 rax)
{
	vcpu->regs.gpr[GPR_RAX] = rax;
	if (!fake_io(vcpu, port, size, true))
		return 0xBAD;
	return vcpu->regs.gpr[GPR_RAX];
}

static inline bool fake_out(struct vcpu *vcpu, u16 port, u8 size, u64 rax)
{
	vcpu->regs.gpr[GPR_RAX] = rax;
	return fake_io(vcpu, port, size, false);
}

#endif
