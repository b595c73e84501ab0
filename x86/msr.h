/* Model-specific registers ferry reads, writes, passes through or hides:
 * one name per MSR number and per bit, for ferry, its back ends and its
 * boot code (SDM Vol. 4, "Model-Specific Registers"; APM Vol. 2, appendix
 * A).  Usable from assembly (boot/entry.S) as well as C; rdmsr() and
 * wrmsr() are in x86/cpu.h. */
#ifndef FERRY_X86_MSR_H
#define FERRY_X86_MSR_H

#ifndef __ASSEMBLY__
#include "lib/types.h"
#elif !defined(BIT)
#define BIT(n) (1 << (n))
#endif

/* ---- architectural MSRs, numbers below 0x2000 (SDM Vol. 4, table 2-2) --- */
#define MSR_IA32_TSC 0x010           /* IA32_TIME_STAMP_COUNTER */
#define MSR_IA32_PLATFORM_ID 0x017   /* information only (read-only) */

#define MSR_IA32_APIC_BASE 0x01B     /* SDM Vol. 3A, 10.4.4 */
#define APIC_BASE_BSP BIT(8)         /* this is the bootstrap processor */
#define APIC_BASE_X2APIC BIT(10)     /* EXTD: x2APIC mode */
#define APIC_BASE_ENABLE BIT(11)     /* APIC global enable */
#define APIC_BASE_ADDR 0xFFFFFF000ULL /* the xAPIC page, bits 35:12 */

#define MSR_IA32_FEATURE_CONTROL 0x03A /* SDM Vol. 3C, 23.7 */
#define FEATURE_CONTROL_LOCK BIT(0)    /* locked until reset; writes #GP */
#define FEATURE_CONTROL_VMX_IN_SMX BIT(1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX BIT(2)

#define MSR_IA32_BIOS_SIGN_ID 0x08B  /* microcode revision (read-only) */
#define MSR_IA32_MTRRCAP 0x0FE       /* SDM Vol. 3A, 11.11.1 */

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176

#define MSR_IA32_MISC_ENABLE 0x1A0
#define MSR_IA32_DEBUGCTL 0x1D9

/* Speculation controls (SDM Vol. 4, 2.1). */
#define MSR_IA32_SPEC_CTRL 0x048
#define MSR_IA32_PRED_CMD 0x049
#define MSR_IA32_FLUSH_CMD 0x10B

/* Machine check (SDM Vol. 3B, 15.3): MCG_* and the banks, four MSRs each
 * (CTL, STATUS, ADDR, MISC) from MC0_CTL, up to 32 banks; CTL2 (CMCI). */
#define MSR_IA32_MCG_CAP 0x179
#define MSR_IA32_MCG_STATUS 0x17A
#define MSR_IA32_MCG_CTL 0x17B
#define MSR_IA32_MC0_CTL2 0x280
#define MSR_IA32_MC31_CTL2 0x29F
#define MSR_IA32_MC0_CTL 0x400
#define MSR_IA32_MC_LAST 0x47F

/* Performance monitoring (SDM Vol. 3B, 20; Vol. 4, 2.1). */
#define MSR_IA32_PMC0 0x0C1
#define MSR_IA32_PMC7 0x0C8
#define MSR_IA32_PERFEVTSEL0 0x186
#define MSR_IA32_PERFEVTSEL7 0x18D
#define MSR_IA32_FIXED_CTR0 0x309
#define MSR_IA32_FIXED_CTR2 0x30B
#define MSR_IA32_FIXED_CTR_CTRL 0x38D
#define MSR_IA32_PERF_GLOBAL_OVF_CTRL 0x390

#define MSR_IA32_TSC_ADJUST 0x03B
#define MSR_IA32_TSC_DEADLINE 0x6E0  /* the local APIC timer's deadline mode */
#define MSR_IA32_XSS 0xDA0
#define MSR_X2APIC_FIRST 0x800       /* x2APIC registers (SDM Vol. 3A, 10.12.1.2) */
#define MSR_X2APIC_LAST 0x8FF

/* The MTRRs (SDM Vol. 3A, 11.11): variable ranges from PHYSBASE0, the
 * fixed ranges, up to MTRR_DEF_TYPE.  IA32_PAT lies in between. */
#define MSR_IA32_MTRR_PHYSBASE0 0x200
#define MSR_IA32_MTRR_DEF_TYPE 0x2FF
#define MSR_IA32_PAT 0x277           /* SDM Vol. 3A, 11.12 */
/* The PAT after reset: WB, WT, UC-, UC in entries 0-3 and again in 4-7. */
#define PAT_POWER_ON 0x0007040600070406ULL

/* The VMX capability MSRs (SDM Vol. 3C, appendix A).  Their fields are
 * the VMX back end's (vmx/vmcs.h).  An absent one raises #GP: each is read
 * only where another says it exists. */
#define MSR_IA32_VMX_BASIC 0x480           /* A.1 */
#define MSR_IA32_VMX_PINBASED_CTLS 0x481   /* A.3.1 */
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482  /* A.3.2 */
#define MSR_IA32_VMX_EXIT_CTLS 0x483       /* A.4 */
#define MSR_IA32_VMX_ENTRY_CTLS 0x484      /* A.5 */
#define MSR_IA32_VMX_MISC 0x485            /* A.6 */
#define MSR_IA32_VMX_CR0_FIXED0 0x486      /* A.7 */
#define MSR_IA32_VMX_CR0_FIXED1 0x487
#define MSR_IA32_VMX_CR4_FIXED0 0x488      /* A.8 */
#define MSR_IA32_VMX_CR4_FIXED1 0x489
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48B /* A.3.3: only if PROCBASED_CTLS allows bit 31 */
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48C    /* A.10: only if CTLS2 allows EPT or VPID */
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48D  /* A.3.1: only if VMX_BASIC bit 55 */
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48E
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48F
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490
#define MSR_IA32_VMX_VMFUNC 0x491

/* ---- the x86-64 MSRs from 0xC0000000 (APM Vol. 2, A.2; SDM Vol. 4) ------ */
#define MSR_RANGE_HIGH 0xC0000000    /* first of them */

#define MSR_EFER 0xC0000080          /* APM Vol. 2, 3.1.7; SDM IA32_EFER */
#define EFER_SCE BIT(0)              /* SYSCALL/SYSRET */
#define EFER_LME BIT(8)              /* long mode enable */
#define EFER_LMA BIT(10)             /* long mode active (the CPU's) */
#define EFER_NXE BIT(11)             /* no-execute page bit */
#define EFER_SVME BIT(12)            /* AMD: SVM enable */

#define MSR_STAR 0xC0000081
#define MSR_LSTAR 0xC0000082
#define MSR_CSTAR 0xC0000083
#define MSR_SFMASK 0xC0000084
#define MSR_FS_BASE 0xC0000100
#define MSR_GS_BASE 0xC0000101
#define MSR_KERNEL_GS_BASE 0xC0000102
#define MSR_TSC_AUX 0xC0000103       /* RDTSCP/RDPID: ferry uses neither */

/* ---- AMD's MSRs from 0xC0010000 (APM Vol. 2, A.3) ------------------------ */
#define MSR_RANGE_AMD 0xC0010000     /* first of them */

/* AMD performance counters: legacy PERF_CTL0-3/PERF_CTR0-3, and the
 * core set PERF_CTL0/PERF_CTR0 ... PERF_CTR5 (APM Vol. 2, 13.2). */
#define MSR_K7_PERF_FIRST 0xC0010000
#define MSR_K7_PERF_LAST 0xC0010007
#define MSR_F15H_PERF_FIRST 0xC0010200
#define MSR_F15H_PERF_LAST 0xC001020B
#define MSR_VM_CR 0xC0010114         /* APM Vol. 2, 15.30.1 */
#define VM_CR_LOCK BIT(3)            /* SVMDIS is read-only */
#define VM_CR_SVMDIS BIT(4)          /* EFER.SVME cannot be set */
#define MSR_VM_HSAVE_PA 0xC0010117   /* host save area for VMRUN (15.30.4) */

#ifndef __ASSEMBLY__
/* A PAT entry is valid when it names UC, WC, WT, WP, WB or UC- (SDM Vol. 3A,
 * 11.12.2): types 2, 3 and above 7 are reserved.  Writing a PAT with one
 * raises #GP, and a VM entry with one fails. */
static inline bool pat_valid(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 t = (u8)(pat >> (8 * i));
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}
#endif

#endif
