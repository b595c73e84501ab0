/* The arch-neutral view of a virtual CPU and the interface every back end
 * (svm/, vmx/) implements.  The core never touches a VMCB or a
 * VMCS: it sees registers, exits normalised into struct vm_exit, and a
 * handful of calls in struct hv_arch. */
#ifndef FERRY_VCPU_H
#define FERRY_VCPU_H

#include "lib/types.h"
#include "x86/x86_decode.h"

struct vm;

/* Guest register state the core reads and writes.  The back end loads it
 * before entry and stores it after exit (only what changed is written back
 * by a careful back end; correctness first). */
struct vcpu_regs {
	u64 gpr[GPR_COUNT]; /* indexed by enum x86_gpr, RSP and RAX included */
	u64 rip, rflags;
	u64 cr0, cr2, cr3, cr4, efer;
	enum x86_cpu_mode mode; /* from CS.L / CS.D (read-only for the core) */
	u8 cpl;                 /* read-only for the core */
};

enum exit_reason {
	EXIT_CPUID,
	EXIT_RDMSR,
	EXIT_WRMSR,
	EXIT_IO,
	EXIT_HLT,
	EXIT_NPF,        /* nested page fault / EPT violation */
	EXIT_HYPERCALL,  /* VMMCALL / VMCALL */
	EXIT_SHUTDOWN,   /* triple fault */
	EXIT_INTR,       /* physical interrupt while the guest ran */
	EXIT_UD_INSN,    /* an instruction the guest's CPUID does not offer (VMX, SVM, MONITOR/MWAIT): #UD */
	EXIT_INVD,       /* INVD: skipped (the caches hold ferry's writes too) */
	EXIT_EXCEPTION,  /* a guest exception intercepted only to be given back (exc) */
	EXIT_POLL,       /* poll_exits: a PAUSE (insn_len 2), or VMX's preemption timer (0) */
	EXIT_ENTRY_FAIL, /* the CPU refused to enter the guest */
	EXIT_OTHER,      /* anything else: reported with its raw code */
	EXIT_REASON_COUNT
};

struct vm_exit {
	enum exit_reason reason;
	u64 raw_code;           /* the back end's own exit code, for reports */
	u64 info1, info2;       /* the back end's raw qualification, for reports */
	u8 insn_len;            /* length of the exiting instruction; 0: unknown */
	u8 insn_nbytes;         /* instruction bytes the hardware supplied */
	u8 insn_bytes[X86_MAX_INSN_LEN];
	union {
		struct {
			u16 port;
			u8 size;    /* 1, 2 or 4 */
			bool in;
			bool string;
			bool rep;
		} io;
		struct {
			gpa_t gpa;
			bool write;
			bool fetch;
		} npf;
		struct {
			u8 vector;
			bool has_error;
			u32 error;
			bool after;  /* raised after its instruction (VMX's ICEBP): rip += insn_len first */
		} exc;
	};
};

struct vcpu_stats {
	u64 exits;
	u64 by_reason[EXIT_REASON_COUNT];
	u64 apic_writes; /* EXIT_NPFs that were writes to the local APIC (vm/apic_guard.c) */
	u64 guest_tsc;   /* TSC ticks in the back end's run (guest + world switch) */
	u64 handler_tsc; /* TSC ticks in ferry's exit handlers (serving the network among them) */
};

struct vcpu {
	struct vm *vm;
	struct vcpu_regs regs;
	struct vcpu_stats stats;
	void *arch; /* back end state (VMCB, VMCS, ...) */
};

/* Where and how the guest starts (long mode, flat segments; see
 * vm/guest_load.c for the boot structures ferry builds). */
struct vcpu_boot_state {
	u64 rip, rsp, rdi, rsi;
	u64 cr0, cr3, cr4, efer;
	u64 gdt_base;
	u16 gdt_limit;
	u16 code_sel, data_sel;
};

/* Permission bits for nested mappings, the same for NPT and EPT: each back
 * end's leaf encoder turns them into its own entry bits. */
#define NESTED_R BIT(0)
#define NESTED_W BIT(1)
#define NESTED_X BIT(2)
#define NESTED_RWX (NESTED_R | NESTED_W | NESTED_X)
#define NESTED_UC BIT(3) /* device memory: uncached */

/* How a back end encodes nested page-table entries (NPT and EPT share the
 * 4-level radix shape and differ only in the bits; vm/nested.c walks
 * the tree, the back end says what a table pointer and a leaf look like).
 * The walker holds no entry bit of its own: the page-size bit, and any bit
 * whose place differs between a large and a 4 KiB leaf, are the format's. */
struct nested_format {
	u64 (*table)(hpa_t next);                            /* non-leaf entry */
	u64 (*leaf)(hpa_t hpa, unsigned perm, bool large);   /* 4 KiB or 2 MiB leaf; 0 without R/W/X */
	/* The 4 KiB leaf for hpa with everything else of the 2 MiB leaf
	 * `large` (permissions, memory type): a split fills a table with
	 * 512 of them. */
	u64 (*split)(u64 large, hpa_t hpa);
	bool (*present)(u64 e);
	bool (*is_large)(u64 e);                             /* a leaf above level 1 */
	u64 addr_mask;                                       /* the address bits of any entry */
};

/* poll_exits' interval on VMX (microseconds of guest time). */
#define VCPU_POLL_US 500

struct hv_arch {
	const char *name; /* e.g. "AMD SVM with NPT" */
	/* Can this CPU run ferry?  0, or a negative code with one line in why. */
	int (*probe)(char *why, size_t n);
	/* Logs the virtualization features found (boot banner). */
	void (*log_features)(void);
	int (*cpu_init)(void);
	const struct nested_format *nested;
	int (*vm_init)(struct vm *vm);       /* nested root, I/O and MSR bitmaps */
	int (*vcpu_init)(struct vcpu *vcpu, const struct vcpu_boot_state *bs);
	/* Enters the guest with vcpu->regs and returns at the next exit with the
	 * registers updated and *exit filled. */
	void (*run)(struct vcpu *vcpu, struct vm_exit *exit);
	/* Queues an exception for the next entry. */
	void (*inject_exception)(struct vcpu *vcpu, u8 vector, bool has_error, u32 error);
	/* The single-step trap of an instruction ferry completed for a guest
	 * with RFLAGS.TF set, which the CPU does not raise for an instruction
	 * that exited: DR6.BS set as the CPU would, and #DB queued. */
	void (*step_trap)(struct vcpu *vcpu);
	/* Intercept (true) or pass through (false) guest port I/O. */
	void (*io_intercept)(struct vm *vm, u16 port, u16 count, bool intercept);
	/* Whether guest reads and writes of one MSR exit (true) or reach the
	 * hardware; MSRs outside the back end's permission map always exit. */
	void (*msr_intercept)(struct vm *vm, u32 msr, bool read, bool write);
	/* Guest MSRs kept in the back end's guest state (EFER, PAT, ...):
	 * returns true if handled. */
	bool (*msr_read)(struct vcpu *vcpu, u32 msr, u64 *val);
	bool (*msr_write)(struct vcpu *vcpu, u32 msr, u64 val);
	/* Physical interrupts while the guest runs: exit (EXIT_INTR) and let
	 * ferry take them (true), or leave them to the guest (false, default). */
	void (*intr_exiting)(struct vcpu *vcpu, bool on);
	/* While on, a guest that makes no exits of its own still exits soon
	 * (EXIT_POLL), without ferry taking its interrupts: VMX
	 * by the preemption timer, about every VCPU_POLL_US of guest time;
	 * SVM, which has no such timer, on the PAUSE of a spin loop.  The
	 * client role turns it on while remote requests are in flight.
	 * Optional (NULL: no such exits). */
	void (*poll_exits)(struct vcpu *vcpu, bool on);
	/* After nested mappings changed. */
	void (*flush_nested_tlb)(struct vcpu *vcpu);
	/* Prints the back end's view of the guest state (for reports). */
	void (*dump)(struct vcpu *vcpu);
};

extern const struct hv_arch svm_arch;
extern const struct hv_arch vmx_arch;

const char *exit_reason_name(enum exit_reason r);

#endif
