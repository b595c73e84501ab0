/* Host tests for the exit dispatcher (vm/exit.c, exit_handle) against the
 * fake back end: which exits stop the guest and with which stop code, when
 * RIP steps over the exiting instruction, and the CPUID, MSR and hypercall
 * answers.  The MMIO and port I/O handlers it calls are the real ones
 * (tests/unit/test_mmio.c and test_guest_io.c test them in depth); the port
 * bus is fake_bus.c with no PCI functions. */
#include "check.h"
#include "fake_arch.h"
#include "fake_bus.h"
#include "fake_hv.h"
#include "lib/guest_abi.h"
#include "platform/time.h"
#include "platform/trap.h"
#include "vm/exit.h"
#include "x86/cpu.h"

#define START_RIP 0x100000ULL
#define TSC_KHZ 2500000

static struct vm vm;
static struct vcpu *const vcpu = &vm.vcpu;
static struct vcpu_regs *const r = &vm.vcpu.regs;
static unsigned irq_polls, on_interrupt_calls;

u64 time_tsc_khz(void) { return TSC_KHZ; }
static u64 cr8_at_poll;
void irq_poll(void)
{
	irq_polls++;
	cr8_at_poll = read_cr8();
}

static void on_interrupt(struct vm *v)
{
	if (v == &vm)
		on_interrupt_calls++;
}

static void setup(void)
{
	fake_vm_init(&vm);
	fake_hv_reset();
	fake_bus_reset();
	r->rip = START_RIP;
	r->rflags = 0x2;
	irq_polls = on_interrupt_calls = 0;
}

static void run_exit(enum exit_reason reason, u8 insn_len)
{
	struct vm_exit e = { .reason = reason, .insn_len = insn_len };
	exit_handle(vcpu, &e);
}

/* An exit that stops the guest with a report: the code, the back end's
 * dump, an error in the log, RIP where it was. */
#define CHECK_STOPPED_WITH_REPORT(code)                \
	do {                                           \
		CHECK_EQ(vm.stop, (code));             \
		CHECK(vm_stopped(&vm));                \
		CHECK_EQ(fake_calls.dumps, 1);         \
		CHECK(fake_log_by_level[LOG_ERR] >= 2); \
		CHECK_EQ(r->rip, START_RIP);           \
	} while (0)

TEST(stop_texts)
{
	/* One text per code, none shared; main/main.c logs them and the
	 * emulator tests look for "the guest powered off". */
	for (int a = VM_RUNNING; a < VM_STOP_CODE_COUNT; a++) {
		CHECK(strcmp(vm_stop_text(a), "?") != 0);
		CHECK(strlen(vm_stop_text(a)) > 0);
		for (int b = a + 1; b < VM_STOP_CODE_COUNT; b++)
			CHECK(strcmp(vm_stop_text(a), vm_stop_text(b)) != 0);
	}
	CHECK_STR(vm_stop_text(VM_STOP_POWER_OFF), "the guest powered off");
	CHECK_STR(vm_stop_text(VM_STOP_RESET), "the guest asked for a reset");
	CHECK_STR(vm_stop_text(VM_STOP_HALTED), "the guest halted");
	CHECK_STR(vm_stop_text(VM_STOP_TRIPLE_FAULT), "the guest triple-faulted");
	CHECK_STR(vm_stop_text(VM_STOP_ENTRY_FAILED), "the guest could not be entered");
	CHECK_STR(vm_stop_text(VM_STOP_FATAL_MEMORY), "a fatal guest memory access");
	CHECK_STR(vm_stop_text(VM_STOP_UNHANDLED_EXIT), "an unhandled exit");
	CHECK_STR(vm_stop_text(VM_STOP_CODE_COUNT), "?");
	CHECK_STR(vm_stop_text((enum vm_stop_code)-1), "?");
}

TEST(fresh_vm_runs)
{
	setup();
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(vm.stop, VM_RUNNING);
}

TEST(hlt_interrupts_off_stops)
{
	setup();
	run_exit(EXIT_HLT, 1);
	CHECK_EQ(vm.stop, VM_STOP_HALTED);
	CHECK_EQ(r->rip, START_RIP);
	CHECK_EQ(vcpu->stats.exits, 1);
	CHECK_EQ(vcpu->stats.by_reason[EXIT_HLT], 1);
}

TEST(hlt_interrupts_on_resumes)
{
	setup();
	r->rflags = 0x2 | RFLAGS_IF;
	run_exit(EXIT_HLT, 1);
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(r->rip, START_RIP + 1);
}

static unsigned halts;
static void count_halt(struct vm *v)
{
	(void)v;
	halts++;
}

TEST(hlt_with_on_halt_polls_first)
{
	/* HLT with interrupts on runs on_halt (requests in flight are polled
	 * there) and resumes after the HLT; with interrupts off it stops
	 * without. */
	setup();
	halts = 0;
	vm.on_halt = count_halt;
	r->rflags = 0x2 | RFLAGS_IF;
	run_exit(EXIT_HLT, 1);
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(halts, 1);
	CHECK_EQ(r->rip, START_RIP + 1);
	r->rflags = 0x2;
	run_exit(EXIT_HLT, 1);
	CHECK_EQ(vm.stop, VM_STOP_HALTED);
	CHECK_EQ(halts, 1);
	vm.on_halt = NULL;
}

TEST(pause_exit_resumes_after_the_pause)
{
	setup();
	run_exit(EXIT_POLL, 2);
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(r->rip, START_RIP + 2);
	CHECK_EQ(vcpu->stats.by_reason[EXIT_POLL], 1);
	CHECK(!strcmp(exit_reason_name(EXIT_POLL), "poll"));
}

/* INVD is skipped: no exception, the guest goes on after it. */
TEST(invd_is_skipped)
{
	setup();
	run_exit(EXIT_INVD, 2);
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(fake_calls.injects, 0);
	CHECK_EQ(r->rip, START_RIP + 2);
	CHECK(!strcmp(exit_reason_name(EXIT_INVD), "invd"));
}

/* An instruction the guest's CPUID hides (MONITOR, MWAIT, VMRUN, ...)
 * gets #UD where it stands. */
TEST(hidden_insn_gets_ud)
{
	setup();
	run_exit(EXIT_UD_INSN, 3);
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(fake_calls.injects, 1);
	CHECK_EQ(fake_calls.vector, VEC_UD);
	CHECK_EQ(r->rip, START_RIP);
}

/* An intercepted #AC goes back to the guest as it came, where it was. */
TEST(alignment_check_given_back)
{
	setup();
	struct vm_exit e = { .reason = EXIT_EXCEPTION, .exc = { .vector = VEC_AC, .has_error = true, .error = 0 } };
	exit_handle(vcpu, &e);
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(fake_calls.injects, 1);
	CHECK_EQ(fake_calls.vector, VEC_AC);
	CHECK(fake_calls.has_error);
	CHECK_EQ(fake_calls.error, 0);
	CHECK_EQ(r->rip, START_RIP);
	CHECK(!strcmp(exit_reason_name(EXIT_EXCEPTION), "exception"));
}

TEST(hypercall_power_off)
{
	setup();
	r->gpr[GPR_RAX] = FERRY_HC_POWEROFF;
	r->gpr[GPR_RBX] = 3;
	run_exit(EXIT_HYPERCALL, 3);
	CHECK_EQ(vm.stop, VM_STOP_POWER_OFF);
	CHECK_EQ(vm.exit_status, 3);
	CHECK_EQ(r->gpr[GPR_RAX], 0);
	CHECK_EQ(r->rip, START_RIP + 3);
	CHECK_EQ(fake_calls.dumps, 0); /* an orderly stop: no report */
}

TEST(hypercall_unknown)
{
	setup();
	r->gpr[GPR_RAX] = 0x99;
	run_exit(EXIT_HYPERCALL, 3);
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(r->gpr[GPR_RAX], ~0ULL);
	CHECK_EQ(r->rip, START_RIP + 3);
}

TEST(io_power_off)
{
	setup();
	struct vm_exit e = { .reason = EXIT_IO, .insn_len = 2 };
	e.io.port = 0xF4;
	e.io.size = 1;
	r->gpr[GPR_RAX] = 0;
	exit_handle(vcpu, &e);
	CHECK_EQ(vm.stop, VM_STOP_POWER_OFF);
	CHECK_EQ(vm.exit_status, 0);
	CHECK_EQ(r->rip, START_RIP + 2);
	CHECK_EQ(vcpu->stats.by_reason[EXIT_IO], 1);
}

TEST(io_reset)
{
	setup();
	struct vm_exit e = { .reason = EXIT_IO, .insn_len = 1 };
	e.io.port = 0xCF9;
	e.io.size = 1;
	r->gpr[GPR_RAX] = 0x0E;
	exit_handle(vcpu, &e);
	CHECK_EQ(vm.stop, VM_STOP_RESET);
	CHECK_EQ(r->rip, START_RIP + 1);
}

/* An exception instead of emulation: RIP stays on the instruction. */
TEST(io_string_faults_in_place)
{
	setup();
	struct vm_exit e = { .reason = EXIT_IO, .insn_len = 2 };
	e.io.port = 0x3F8;
	e.io.size = 1;
	e.io.string = true;
	exit_handle(vcpu, &e);
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(fake_calls.injects, 1);
	CHECK_EQ(fake_calls.vector, VEC_GP);
	CHECK_EQ(r->rip, START_RIP);
}

TEST(npf_fetch_stops)
{
	setup();
	struct vm_exit e = { .reason = EXIT_NPF };
	e.npf.gpa = 0xE0000000;
	e.npf.fetch = true;
	exit_handle(vcpu, &e);
	CHECK_STOPPED_WITH_REPORT(VM_STOP_FATAL_MEMORY);
	CHECK_EQ(fake_calls.injects, 0);
}

/* An emulated access resumes, RIP stepped by the decoded instruction (the
 * exit's insn_len plays no part in NPF). */
TEST(npf_emulated_resumes)
{
	setup();
	struct vm_exit e = { .reason = EXIT_NPF, .insn_len = 0 };
	e.npf.gpa = 0xE0000000; /* no device: the empty bus */
	static const u8 insn[] = { 0x8B, 0x03 }; /* mov eax, [rbx] */
	e.insn_nbytes = sizeof(insn);
	memcpy(e.insn_bytes, insn, sizeof(insn));
	exit_handle(vcpu, &e);
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(r->gpr[GPR_RAX], 0xFFFFFFFF);
	CHECK_EQ(r->rip, START_RIP + 2);
	CHECK_EQ(vcpu->stats.by_reason[EXIT_NPF], 1);
}

/* An access that cannot be emulated gets #UD, and the guest goes on. */
TEST(npf_undecodable_injects)
{
	setup();
	struct vm_exit e = { .reason = EXIT_NPF };
	e.npf.gpa = 0xE0000000;
	exit_handle(vcpu, &e); /* no bytes, no guest RAM to fetch them from */
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(fake_calls.injects, 1);
	CHECK_EQ(fake_calls.vector, VEC_UD);
	CHECK_EQ(r->rip, START_RIP);
}

TEST(shutdown_is_triple_fault)
{
	setup();
	run_exit(EXIT_SHUTDOWN, 0);
	CHECK_STOPPED_WITH_REPORT(VM_STOP_TRIPLE_FAULT);
}

TEST(entry_failure)
{
	setup();
	run_exit(EXIT_ENTRY_FAIL, 0);
	CHECK_STOPPED_WITH_REPORT(VM_STOP_ENTRY_FAILED);
}

TEST(unhandled_exit)
{
	setup();
	struct vm_exit e = { .reason = EXIT_OTHER, .raw_code = 0x7B };
	exit_handle(vcpu, &e);
	CHECK_STOPPED_WITH_REPORT(VM_STOP_UNHANDLED_EXIT);
	CHECK(strstr(fake_log_last, "guest rip=100000") != NULL);
}

TEST(interrupt_exit)
{
	setup();
	run_exit(EXIT_INTR, 0);
	CHECK_EQ(irq_polls, 1);
	CHECK_EQ(on_interrupt_calls, 0); /* no handler set */
	vm.on_interrupt = on_interrupt;
	run_exit(EXIT_INTR, 0);
	CHECK_EQ(irq_polls, 2);
	CHECK_EQ(on_interrupt_calls, 1);
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(r->rip, START_RIP);
	CHECK_EQ(vcpu->stats.by_reason[EXIT_INTR], 2);
}

/* A task priority the guest raised (VMX lets MOV CR8 through) is put
 * back to 0 before ferry takes its interrupts, with a warning. */
TEST(interrupt_exit_takes_the_task_priority_back)
{
	setup();
	write_cr8(0xF);
	run_exit(EXIT_INTR, 0);
	CHECK_EQ(irq_polls, 1);
	CHECK_EQ(cr8_at_poll, 0);
	CHECK_EQ(read_cr8(), 0);
	CHECK(strstr(fake_log_last, "task priority f set") != NULL);
}

static void cpuid_exit(u32 leaf)
{
	r->gpr[GPR_RAX] = leaf;
	r->gpr[GPR_RCX] = 0;
	run_exit(EXIT_CPUID, 2);
}

/* A guest stepping (TF) through an instruction ferry completed gets its
 * trap after it; through one that faulted, or with TF clear, none. */
TEST(single_step_over_an_emulated_instruction_traps)
{
	setup();
	r->rflags |= RFLAGS_TF;
	cpuid_exit(0);
	CHECK_EQ(fake_calls.step_traps, 1);
	CHECK_EQ(r->rip, START_RIP + 2);
	r->gpr[GPR_RCX] = 0xDEADBEEF; /* an MSR ferry refuses: #GP, RIP stays */
	run_exit(EXIT_RDMSR, 2);
	CHECK_EQ(fake_calls.step_traps, 1);
	CHECK_EQ(fake_calls.vector, VEC_GP);
	r->rflags &= ~(u64)RFLAGS_TF;
	cpuid_exit(0);
	CHECK_EQ(fake_calls.step_traps, 1);
}

TEST(cpuid_ferry_leaves)
{
	setup();
	cpuid_exit(FERRY_CPUID_BASE);
	CHECK_EQ(r->gpr[GPR_RAX], FERRY_CPUID_MAX);
	CHECK_EQ(r->gpr[GPR_RBX], FERRY_SIG_EBX);
	CHECK_EQ(r->gpr[GPR_RCX], FERRY_SIG_ECX);
	CHECK_EQ(r->gpr[GPR_RDX], FERRY_SIG_EDX);
	CHECK_EQ(r->rip, START_RIP + 2);

	cpuid_exit(FERRY_CPUID_LBD); /* no logical device: zeros */
	CHECK_EQ(r->gpr[GPR_RAX] | r->gpr[GPR_RBX] | r->gpr[GPR_RCX] | r->gpr[GPR_RDX], 0);
	vm.lbd_gpa = 0x1234FEB00000ULL;
	cpuid_exit(FERRY_CPUID_LBD);
	CHECK_EQ(r->gpr[GPR_RAX], 0xFEB00000);
	CHECK_EQ(r->gpr[GPR_RBX], 0x1234);

	cpuid_exit(FERRY_CPUID_TSC);
	CHECK_EQ(r->gpr[GPR_RAX], TSC_KHZ);

	cpuid_exit(FERRY_CPUID_STATS); /* this exit counted: 5 */
	CHECK_EQ(r->gpr[GPR_RAX], 5);
	CHECK_EQ(r->gpr[GPR_RBX], 0);
	CHECK_EQ(r->rip, START_RIP + 10);

	vm.vcpu.stats.by_reason[EXIT_HLT] = 7;
	vm.vcpu.stats.by_reason[EXIT_POLL] = 8;
	vm.vcpu.stats.apic_writes = 9;
	vm.vcpu.stats.by_reason[EXIT_INTR] = 0x100000010ULL; /* the low 32 bits */
	cpuid_exit(FERRY_CPUID_STATS2);
	CHECK_EQ(r->gpr[GPR_RAX], 7);
	CHECK_EQ(r->gpr[GPR_RBX], 8);
	CHECK_EQ(r->gpr[GPR_RCX], 9);
	CHECK_EQ(r->gpr[GPR_RDX], 0x10);

	cpuid_exit(0x400000FF); /* ferry's range, no such leaf */
	CHECK_EQ(r->gpr[GPR_RAX] | r->gpr[GPR_RBX] | r->gpr[GPR_RCX] | r->gpr[GPR_RDX], 0);
}

/* The host's CPUID with MONITOR/MWAIT and its leaf 5, which the host
 * running the tests may lack, so that hiding them is seen. */
static struct cpuid_regs cpuid_with_mwait(u32 leaf, u32 subleaf)
{
	struct cpuid_regs c = cpuid_insn(leaf, subleaf);
	if (leaf == CPUID_LEAF_FEATURES)
		c.ecx |= CPUID_1_ECX_MONITOR;
	if (leaf == CPUID_LEAF_MWAIT)
		c = (struct cpuid_regs){ 64, 64, 3, 0x1120 };
	if (leaf == CPUID_LEAF_EXT_FEATURES)
		c.ecx |= CPUID_EXT1_ECX_MONITORX;
	if (leaf == CPUID_LEAF_FEATURES)
		c.ecx |= CPUID_1_ECX_SMX;
	if (leaf == CPUID_LEAF_EXT7)
		c.ecx |= CPUID_7_ECX_WAITPKG | BIT(2); /* and UMIP, which stays */
	return c;
}

/* The host's leaves, edited: the hypervisor bit on, VMX and SVM off,
 * OSXSAVE the guest's own, no MONITOR/MWAIT nor MONITORX/MWAITX, no SMX,
 * no WAITPKG. */
TEST(cpuid_host_leaves_edited)
{
	setup();
	host_test_cpuid = cpuid_with_mwait;
	r->cr4 = 0;
	cpuid_exit(1);
	CHECK(r->gpr[GPR_RCX] & BIT(31));
	CHECK(!(r->gpr[GPR_RCX] & BIT(5)));
	CHECK(!(r->gpr[GPR_RCX] & BIT(27)));
	CHECK(!(r->gpr[GPR_RCX] & BIT(3))); /* no MONITOR/MWAIT */
	CHECK(!(r->gpr[GPR_RCX] & BIT(6))); /* no SMX */
	r->gpr[GPR_RAX] = CPUID_LEAF_EXT7;
	r->gpr[GPR_RCX] = 0;
	run_exit(EXIT_CPUID, 2);
	CHECK(!(r->gpr[GPR_RCX] & BIT(5))); /* no WAITPKG */
	CHECK(r->gpr[GPR_RCX] & BIT(2));
	cpuid_exit(CPUID_LEAF_MWAIT);
	CHECK_EQ(r->gpr[GPR_RAX] | r->gpr[GPR_RBX] | r->gpr[GPR_RCX] | r->gpr[GPR_RDX], 0);
	r->cr4 = BIT(18);
	cpuid_exit(1);
	CHECK(r->gpr[GPR_RCX] & BIT(27));
	cpuid_exit(0x80000001);
	CHECK(!(r->gpr[GPR_RCX] & BIT(2)));
	CHECK(!(r->gpr[GPR_RCX] & BIT(29))); /* no MONITORX/MWAITX */
	cpuid_exit(0x8000000A);
	CHECK_EQ(r->gpr[GPR_RAX] | r->gpr[GPR_RBX] | r->gpr[GPR_RCX] | r->gpr[GPR_RDX], 0);
	host_test_cpuid = NULL;
}

static void msr_exit(bool write, u32 msr, u64 v)
{
	r->gpr[GPR_RCX] = msr;
	r->gpr[GPR_RAX] = (u32)v;
	r->gpr[GPR_RDX] = v >> 32;
	run_exit(write ? EXIT_WRMSR : EXIT_RDMSR, 2);
}

TEST(msr_back_end_state)
{
	setup();
	msr_exit(true, FAKE_ARCH_MSR, 0x0007040600070406ULL);
	CHECK_EQ(fake_calls.msr, 0x0007040600070406ULL);
	CHECK_EQ(r->rip, START_RIP + 2);
	msr_exit(false, FAKE_ARCH_MSR, 0);
	CHECK_EQ(r->gpr[GPR_RAX], 0x00070406);
	CHECK_EQ(r->gpr[GPR_RDX], 0x00070406);
	CHECK_EQ(r->rip, START_RIP + 4);
	CHECK_EQ(fake_calls.injects, 0);
}

/* Anything else: #GP, RIP stays. */
TEST(msr_refused_gp)
{
	setup();
	msr_exit(true, 0xC0000081, 1); /* STAR: not the fake's */
	CHECK_EQ(fake_calls.injects, 1);
	CHECK_EQ(fake_calls.vector, VEC_GP);
	CHECK(fake_calls.has_error);
	CHECK_EQ(r->rip, START_RIP);
	msr_exit(false, 0x10, 0); /* the TSC: not read through */
	CHECK_EQ(fake_calls.injects, 2);
	CHECK_EQ(r->rip, START_RIP);
	CHECK(!vm_stopped(&vm));
}

int main(void)
{
	RUN(stop_texts);
	RUN(fresh_vm_runs);
	RUN(hlt_interrupts_off_stops);
	RUN(hlt_interrupts_on_resumes);
	RUN(hlt_with_on_halt_polls_first);
	RUN(pause_exit_resumes_after_the_pause);
	RUN(invd_is_skipped);
	RUN(hidden_insn_gets_ud);
	RUN(alignment_check_given_back);
	RUN(single_step_over_an_emulated_instruction_traps);
	RUN(hypercall_power_off);
	RUN(hypercall_unknown);
	RUN(io_power_off);
	RUN(io_reset);
	RUN(io_string_faults_in_place);
	RUN(npf_fetch_stops);
	RUN(npf_emulated_resumes);
	RUN(npf_undecodable_injects);
	RUN(shutdown_is_triple_fault);
	RUN(entry_failure);
	RUN(unhandled_exit);
	RUN(interrupt_exit);
	RUN(interrupt_exit_takes_the_task_priority_back);
	RUN(cpuid_ferry_leaves);
	RUN(cpuid_host_leaves_edited);
	RUN(msr_back_end_state);
	RUN(msr_refused_gp);
	return CHECK_SUMMARY();
}
