/* Intel VMX: the VMCS field encodings, control bits, exit reasons and the
 * fields of the capability MSRs (SDM Vol. 3C, chapter 24 and appendices
 * A-C), and the one-line VMREAD/VMWRITE accessors.  The VMCS itself is
 * opaque memory: fields are reached only through VMREAD/VMWRITE by
 * encoding. */
#ifndef FERRY_VMX_VMCS_H
#define FERRY_VMX_VMCS_H

#include "lib/types.h"

/* ---- fields of the capability MSRs (SDM Vol. 3C, appendix A) -----------
 * The MSR numbers are in x86/msr.h. */
/* IA32_VMX_BASIC (A.1) */
#define VMX_BASIC_REVISION(b) ((u32)(b) & 0x7FFFFFFF)
#define VMX_BASIC_REGION_SIZE(b) (((b) >> 32) & 0x1FFF)
#define VMX_BASIC_ADDR32 BIT(48)   /* VMXON/VMCS addresses limited to 32 bits */
#define VMX_BASIC_MEMTYPE(b) (((b) >> 50) & 0xF)
#define VMX_BASIC_INOUT BIT(54)    /* INS/OUTS instruction information */
#define VMX_BASIC_TRUE_CTLS BIT(55)

/* IA32_VMX_MISC (A.6) */
#define VMX_MISC_PREEMPTION_SHIFT(m) ((m) & 0x1F) /* timer ticks = TSC >> shift */

/* IA32_VMX_EPT_VPID_CAP (A.10) */
#define EPT_CAP_EXEC_ONLY BIT(0)
#define EPT_CAP_WALK4 BIT(6)
#define EPT_CAP_UC BIT(8)
#define EPT_CAP_WB BIT(14)
#define EPT_CAP_2M BIT(16)
#define EPT_CAP_1G BIT(17)
#define EPT_CAP_INVEPT BIT(20)
#define EPT_CAP_AD BIT(21)
#define EPT_CAP_INVEPT_SINGLE BIT(25)
#define EPT_CAP_INVEPT_ALL BIT(26)
#define EPT_CAP_INVVPID BIT(32)

/* ---- VM-execution, exit and entry controls (SDM Vol. 3C, 24.6-24.8) ----- */
/* Pin-based (table 24-5) */
#define PIN_EXT_INTR_EXITING BIT(0)
#define PIN_NMI_EXITING BIT(3)
#define PIN_VIRTUAL_NMIS BIT(5)
#define PIN_PREEMPTION_TIMER BIT(6)

/* Primary processor-based (table 24-6) */
#define PROC_INTR_WINDOW_EXITING BIT(2)
#define PROC_TSC_OFFSETTING BIT(3)
#define PROC_HLT_EXITING BIT(7)
#define PROC_INVLPG_EXITING BIT(9)
#define PROC_MWAIT_EXITING BIT(10)
#define PROC_RDPMC_EXITING BIT(11)
#define PROC_RDTSC_EXITING BIT(12)
#define PROC_CR3_LOAD_EXITING BIT(15)
#define PROC_CR3_STORE_EXITING BIT(16)
#define PROC_CR8_LOAD_EXITING BIT(19)
#define PROC_CR8_STORE_EXITING BIT(20)
#define PROC_TPR_SHADOW BIT(21)
#define PROC_NMI_WINDOW_EXITING BIT(22)
#define PROC_MOV_DR_EXITING BIT(23)
#define PROC_UNCOND_IO_EXITING BIT(24)
#define PROC_USE_IO_BITMAPS BIT(25)
#define PROC_MONITOR_TRAP_FLAG BIT(27)
#define PROC_USE_MSR_BITMAPS BIT(28)
#define PROC_MONITOR_EXITING BIT(29)
#define PROC_PAUSE_EXITING BIT(30)
#define PROC_SECONDARY_CONTROLS BIT(31)

/* Secondary processor-based (table 24-7) */
#define PROC2_VIRT_APIC_ACCESSES BIT(0)
#define PROC2_EPT BIT(1)
#define PROC2_DESC_TABLE_EXITING BIT(2)
#define PROC2_RDTSCP BIT(3)
#define PROC2_VIRT_X2APIC BIT(4)
#define PROC2_VPID BIT(5)
#define PROC2_WBINVD_EXITING BIT(6)
#define PROC2_UNRESTRICTED_GUEST BIT(7)
#define PROC2_INVPCID BIT(12)
#define PROC2_VMFUNC BIT(13)
#define PROC2_XSAVES BIT(20)

/* VM-exit controls (table 24-11) */
#define EXIT_SAVE_DEBUG_CONTROLS BIT(2)
#define EXIT_HOST_ADDR_SPACE_SIZE BIT(9)
#define EXIT_LOAD_PERF_GLOBAL_CTRL BIT(12)
#define EXIT_ACK_INTR_ON_EXIT BIT(15)
#define EXIT_SAVE_IA32_PAT BIT(18)
#define EXIT_LOAD_IA32_PAT BIT(19)
#define EXIT_SAVE_IA32_EFER BIT(20)
#define EXIT_LOAD_IA32_EFER BIT(21)
#define EXIT_SAVE_PREEMPTION_TIMER BIT(22)

/* VM-entry controls (table 24-13) */
#define ENTRY_LOAD_DEBUG_CONTROLS BIT(2)
#define ENTRY_IA32E_MODE_GUEST BIT(9)
#define ENTRY_TO_SMM BIT(10)
#define ENTRY_DEACTIVATE_DUAL_MONITOR BIT(11)
#define ENTRY_LOAD_PERF_GLOBAL_CTRL BIT(13)
#define ENTRY_LOAD_IA32_PAT BIT(14)
#define ENTRY_LOAD_IA32_EFER BIT(15)

/* ---- VMCS field encodings (SDM Vol. 3C, appendix B) --------------------- */
enum vmcs_field {
	/* B.1.1 16-bit control */
	VMCS_VPID = 0x0000,
	/* B.1.2 16-bit guest state */
	VMCS_GUEST_ES_SEL = 0x0800,
	VMCS_GUEST_CS_SEL = 0x0802,
	VMCS_GUEST_SS_SEL = 0x0804,
	VMCS_GUEST_DS_SEL = 0x0806,
	VMCS_GUEST_FS_SEL = 0x0808,
	VMCS_GUEST_GS_SEL = 0x080A,
	VMCS_GUEST_LDTR_SEL = 0x080C,
	VMCS_GUEST_TR_SEL = 0x080E,
	/* B.1.3 16-bit host state */
	VMCS_HOST_ES_SEL = 0x0C00,
	VMCS_HOST_CS_SEL = 0x0C02,
	VMCS_HOST_SS_SEL = 0x0C04,
	VMCS_HOST_DS_SEL = 0x0C06,
	VMCS_HOST_FS_SEL = 0x0C08,
	VMCS_HOST_GS_SEL = 0x0C0A,
	VMCS_HOST_TR_SEL = 0x0C0C,
	/* B.2.1 64-bit control */
	VMCS_IO_BITMAP_A = 0x2000,
	VMCS_IO_BITMAP_B = 0x2002,
	VMCS_MSR_BITMAP = 0x2004,
	VMCS_EXIT_MSR_STORE_ADDR = 0x2006,
	VMCS_EXIT_MSR_LOAD_ADDR = 0x2008,
	VMCS_ENTRY_MSR_LOAD_ADDR = 0x200A,
	VMCS_TSC_OFFSET = 0x2010,
	VMCS_EPT_POINTER = 0x201A,
	VMCS_XSS_EXIT_BITMAP = 0x202C,
	/* B.2.2 64-bit read-only data */
	VMCS_GUEST_PHYSICAL_ADDR = 0x2400,
	/* B.2.3 64-bit guest state */
	VMCS_LINK_POINTER = 0x2800,
	VMCS_GUEST_IA32_DEBUGCTL = 0x2802,
	VMCS_GUEST_IA32_PAT = 0x2804,
	VMCS_GUEST_IA32_EFER = 0x2806,
	/* B.2.4 64-bit host state */
	VMCS_HOST_IA32_PAT = 0x2C00,
	VMCS_HOST_IA32_EFER = 0x2C02,
	/* B.3.1 32-bit control */
	VMCS_PIN_CONTROLS = 0x4000,
	VMCS_PROC_CONTROLS = 0x4002,
	VMCS_EXCEPTION_BITMAP = 0x4004,
	VMCS_PF_ERROR_MASK = 0x4006,
	VMCS_PF_ERROR_MATCH = 0x4008,
	VMCS_CR3_TARGET_COUNT = 0x400A,
	VMCS_EXIT_CONTROLS = 0x400C,
	VMCS_EXIT_MSR_STORE_COUNT = 0x400E,
	VMCS_EXIT_MSR_LOAD_COUNT = 0x4010,
	VMCS_ENTRY_CONTROLS = 0x4012,
	VMCS_ENTRY_MSR_LOAD_COUNT = 0x4014,
	VMCS_ENTRY_INTR_INFO = 0x4016,
	VMCS_ENTRY_EXCEPTION_ERROR = 0x4018,
	VMCS_ENTRY_INSN_LEN = 0x401A,
	VMCS_PROC_CONTROLS2 = 0x401E,
	/* B.3.2 32-bit read-only data */
	VMCS_INSN_ERROR = 0x4400,
	VMCS_EXIT_REASON = 0x4402,
	VMCS_EXIT_INTR_INFO = 0x4404,
	VMCS_EXIT_INTR_ERROR = 0x4406,
	VMCS_IDT_VECTORING_INFO = 0x4408,
	VMCS_IDT_VECTORING_ERROR = 0x440A,
	VMCS_EXIT_INSN_LEN = 0x440C,
	VMCS_EXIT_INSN_INFO = 0x440E,
	/* B.3.3 32-bit guest state */
	VMCS_GUEST_ES_LIMIT = 0x4800,
	VMCS_GUEST_CS_LIMIT = 0x4802,
	VMCS_GUEST_SS_LIMIT = 0x4804,
	VMCS_GUEST_DS_LIMIT = 0x4806,
	VMCS_GUEST_FS_LIMIT = 0x4808,
	VMCS_GUEST_GS_LIMIT = 0x480A,
	VMCS_GUEST_LDTR_LIMIT = 0x480C,
	VMCS_GUEST_TR_LIMIT = 0x480E,
	VMCS_GUEST_GDTR_LIMIT = 0x4810,
	VMCS_GUEST_IDTR_LIMIT = 0x4812,
	VMCS_GUEST_ES_AR = 0x4814,
	VMCS_GUEST_CS_AR = 0x4816,
	VMCS_GUEST_SS_AR = 0x4818,
	VMCS_GUEST_DS_AR = 0x481A,
	VMCS_GUEST_FS_AR = 0x481C,
	VMCS_GUEST_GS_AR = 0x481E,
	VMCS_GUEST_LDTR_AR = 0x4820,
	VMCS_GUEST_TR_AR = 0x4822,
	VMCS_GUEST_INTERRUPTIBILITY = 0x4824,
	VMCS_GUEST_ACTIVITY_STATE = 0x4826,
	VMCS_GUEST_SYSENTER_CS = 0x482A,
	VMCS_PREEMPTION_TIMER_VALUE = 0x482E,
	/* B.3.4 32-bit host state */
	VMCS_HOST_SYSENTER_CS = 0x4C00,
	/* B.4.1 natural-width control */
	VMCS_CR0_GUEST_HOST_MASK = 0x6000,
	VMCS_CR4_GUEST_HOST_MASK = 0x6002,
	VMCS_CR0_READ_SHADOW = 0x6004,
	VMCS_CR4_READ_SHADOW = 0x6006,
	/* B.4.2 natural-width read-only data */
	VMCS_EXIT_QUALIFICATION = 0x6400,
	VMCS_GUEST_LINEAR_ADDR = 0x640A,
	/* B.4.3 natural-width guest state */
	VMCS_GUEST_CR0 = 0x6800,
	VMCS_GUEST_CR3 = 0x6802,
	VMCS_GUEST_CR4 = 0x6804,
	VMCS_GUEST_ES_BASE = 0x6806,
	VMCS_GUEST_CS_BASE = 0x6808,
	VMCS_GUEST_SS_BASE = 0x680A,
	VMCS_GUEST_DS_BASE = 0x680C,
	VMCS_GUEST_FS_BASE = 0x680E,
	VMCS_GUEST_GS_BASE = 0x6810,
	VMCS_GUEST_LDTR_BASE = 0x6812,
	VMCS_GUEST_TR_BASE = 0x6814,
	VMCS_GUEST_GDTR_BASE = 0x6816,
	VMCS_GUEST_IDTR_BASE = 0x6818,
	VMCS_GUEST_DR7 = 0x681A,
	VMCS_GUEST_RSP = 0x681C,
	VMCS_GUEST_RIP = 0x681E,
	VMCS_GUEST_RFLAGS = 0x6820,
	VMCS_GUEST_PENDING_DBG = 0x6822,
	VMCS_GUEST_SYSENTER_ESP = 0x6824,
	VMCS_GUEST_SYSENTER_EIP = 0x6826,
	/* B.4.4 natural-width host state */
	VMCS_HOST_CR0 = 0x6C00,
	VMCS_HOST_CR3 = 0x6C02,
	VMCS_HOST_CR4 = 0x6C04,
	VMCS_HOST_FS_BASE = 0x6C06,
	VMCS_HOST_GS_BASE = 0x6C08,
	VMCS_HOST_TR_BASE = 0x6C0A,
	VMCS_HOST_GDTR_BASE = 0x6C0C,
	VMCS_HOST_IDTR_BASE = 0x6C0E,
	VMCS_HOST_SYSENTER_ESP = 0x6C10,
	VMCS_HOST_SYSENTER_EIP = 0x6C12,
	VMCS_HOST_RSP = 0x6C14,
	VMCS_HOST_RIP = 0x6C16,
};

/* The guest segment registers in VMCS order: selector, limit, access
 * rights and base encodings step by 2 from ES (appendix B). */
enum vmx_seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT };
#define VMCS_SEG_SEL(s) ((enum vmcs_field)(VMCS_GUEST_ES_SEL + 2 * (s)))
#define VMCS_SEG_LIMIT(s) ((enum vmcs_field)(VMCS_GUEST_ES_LIMIT + 2 * (s)))
#define VMCS_SEG_AR(s) ((enum vmcs_field)(VMCS_GUEST_ES_AR + 2 * (s)))
#define VMCS_SEG_BASE(s) ((enum vmcs_field)(VMCS_GUEST_ES_BASE + 2 * (s)))

/* Segment access rights as the VMCS holds them (24.4.1, table 24-2); not
 * SVM's packed attrib: L, D/B and G sit at bits 13-15, "unusable" at 16. */
#define AR_TYPE(t) ((u64)(t) & 0xF)
#define AR_S BIT(4)            /* code or data (not system) */
#define AR_DPL(d) ((u32)(d) << 5)
#define AR_P BIT(7)
#define AR_L BIT(13)           /* 64-bit code segment */
#define AR_DB BIT(14)
#define AR_G BIT(15)
#define AR_UNUSABLE BIT(16)
#define AR_GET_DPL(ar) (((ar) >> 5) & 3)
#define SEG_TYPE_DATA_RW_ACCESSED 0x3
#define SEG_TYPE_CODE_XR_ACCESSED 0xB
#define SEG_TYPE_LDT 0x2
#define SEG_TYPE_TSS16_BUSY 0x3
#define SEG_TYPE_TSS64_BUSY 0xB

/* Guest interruptibility state (24.4.2, table 24-3) */
#define INTR_BLOCK_STI BIT(0)
#define INTR_BLOCK_MOV_SS BIT(1)
#define INTR_BLOCK_SMI BIT(2)
#define INTR_BLOCK_NMI BIT(3)

/* Activity state (24.4.2) */
#define ACTIVITY_ACTIVE 0

/* Interruption information: VM-entry (24.8.3, table 24-14), VM-exit
 * (24.9.2, table 24-15) and IDT-vectoring (24.9.3, table 24-16) share it. */
#define INTR_INFO_VECTOR(i) ((i) & 0xFF)
#define INTR_INFO_TYPE(i) (((i) >> 8) & 7)
#define INTR_TYPE_EXT_INTR 0
#define INTR_TYPE_NMI 2
#define INTR_TYPE_HW_EXCEPTION 3
#define INTR_TYPE_SW_INTR 4
#define INTR_TYPE_PRIV_SW_EXCEPTION 5
#define INTR_TYPE_SW_EXCEPTION 6
#define INTR_INFO_ERROR_VALID BIT(11)
#define INTR_INFO_NMI_UNBLOCKED BIT(12) /* exit info only: NMI unblocking due to IRET */
#define INTR_INFO_VALID BIT(31)
#define INTR_INFO_ENTRY_MASK (0xFFFu | INTR_INFO_VALID) /* bits 30:12 are reserved on entry */

/* ---- basic exit reasons (SDM Vol. 3C, appendix C) ----------------------- */
enum vmx_exit_reason {
	VMX_EXIT_EXCEPTION_NMI = 0,
	VMX_EXIT_EXTERNAL_INTR = 1,
	VMX_EXIT_TRIPLE_FAULT = 2,
	VMX_EXIT_INIT = 3,
	VMX_EXIT_SIPI = 4,
	VMX_EXIT_IO_SMI = 5,
	VMX_EXIT_OTHER_SMI = 6,
	VMX_EXIT_INTR_WINDOW = 7,
	VMX_EXIT_NMI_WINDOW = 8,
	VMX_EXIT_TASK_SWITCH = 9,
	VMX_EXIT_CPUID = 10,
	VMX_EXIT_GETSEC = 11,
	VMX_EXIT_HLT = 12,
	VMX_EXIT_INVD = 13,
	VMX_EXIT_INVLPG = 14,
	VMX_EXIT_RDPMC = 15,
	VMX_EXIT_RDTSC = 16,
	VMX_EXIT_RSM = 17,
	VMX_EXIT_VMCALL = 18,
	VMX_EXIT_VMCLEAR = 19,
	VMX_EXIT_VMLAUNCH = 20,
	VMX_EXIT_VMPTRLD = 21,
	VMX_EXIT_VMPTRST = 22,
	VMX_EXIT_VMREAD = 23,
	VMX_EXIT_VMRESUME = 24,
	VMX_EXIT_VMWRITE = 25,
	VMX_EXIT_VMXOFF = 26,
	VMX_EXIT_VMXON = 27,
	VMX_EXIT_CR_ACCESS = 28,
	VMX_EXIT_DR_ACCESS = 29,
	VMX_EXIT_IO = 30,
	VMX_EXIT_RDMSR = 31,
	VMX_EXIT_WRMSR = 32,
	VMX_EXIT_INVALID_GUEST_STATE = 33,
	VMX_EXIT_MSR_LOADING = 34,
	VMX_EXIT_MWAIT = 36,
	VMX_EXIT_MTF = 37,
	VMX_EXIT_MONITOR = 39,
	VMX_EXIT_PAUSE = 40,
	VMX_EXIT_MACHINE_CHECK = 41,
	VMX_EXIT_TPR_BELOW_THRESHOLD = 43,
	VMX_EXIT_APIC_ACCESS = 44,
	VMX_EXIT_GDTR_IDTR = 46,
	VMX_EXIT_LDTR_TR = 47,
	VMX_EXIT_EPT_VIOLATION = 48,
	VMX_EXIT_EPT_MISCONFIG = 49,
	VMX_EXIT_INVEPT = 50,
	VMX_EXIT_RDTSCP = 51,
	VMX_EXIT_PREEMPTION_TIMER = 52,
	VMX_EXIT_INVVPID = 53,
	VMX_EXIT_WBINVD = 54,
	VMX_EXIT_XSETBV = 55,
	VMX_EXIT_RDRAND = 57,
	VMX_EXIT_INVPCID = 58,
	VMX_EXIT_VMFUNC = 59,
};
#define VMX_EXIT_REASON_BASIC(r) ((r) & 0xFFFF)
#define VMX_EXIT_REASON_ENTRY_FAIL BIT(31)

/* Exit qualification for I/O instructions (27.2.1, table 27-5) */
#define IO_QUAL_SIZE(q) (((q) & 7) + 1)  /* 0: 1 byte, 1: 2 bytes, 3: 4 bytes */
#define IO_QUAL_IN BIT(3)
#define IO_QUAL_STRING BIT(4)
#define IO_QUAL_REP BIT(5)
#define IO_QUAL_IMM BIT(6)
#define IO_QUAL_PORT(q) ((u16)((q) >> 16))

/* Exit qualification for EPT violations (27.2.1, table 27-7) */
#define EPT_QUAL_READ BIT(0)
#define EPT_QUAL_WRITE BIT(1)
#define EPT_QUAL_FETCH BIT(2)
#define EPT_QUAL_READABLE BIT(3)
#define EPT_QUAL_WRITABLE BIT(4)
#define EPT_QUAL_EXECUTABLE BIT(5)
#define EPT_QUAL_LINEAR_VALID BIT(7)
#define EPT_QUAL_FINAL_ADDR BIT(8)
#define EPT_QUAL_NMI_UNBLOCKED BIT(12)

/* Exit qualification for entry failures due to guest state (26.8) */
#define ENTRY_FAIL_QUAL_PDPTE 2
#define ENTRY_FAIL_QUAL_NMI 3
#define ENTRY_FAIL_QUAL_LINK 4

/* INVEPT types (30.3, INVEPT) */
#define INVEPT_SINGLE_CONTEXT 1
#define INVEPT_ALL_CONTEXT 2

/* ---- VMX instructions ---------------------------------------------------- */
/* VMREAD of a field the CPU does not have yields 0 (the caller only reads
 * fields that exist with the controls in use). */
static inline u64 vmcs_read(enum vmcs_field f)
{
	u64 v = 0;
	__asm__ volatile("vmread %1, %0" : "=rm"(v) : "r"((u64)f) : "cc");
	return v;
}

/* Returns false on VMfailInvalid / VMfailValid (CF or ZF set). */
static inline bool vmcs_write(enum vmcs_field f, u64 v)
{
	bool fail;
	__asm__ volatile("vmwrite %2, %1; setna %0" : "=q"(fail) : "r"((u64)f), "rm"(v) : "cc");
	return !fail;
}

#endif
