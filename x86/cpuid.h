/* CPUID leaves and feature bits ferry reads, or shows or hides from its
 * guest: one name per leaf and per bit (SDM Vol. 2A, "CPUID"; APM Vol. 3,
 * appendix E).  Usable from assembly (boot/entry.S) as well as C; cpuid()
 * and cpu_phys_addr_bits() are in x86/cpu.h.
 *
 * Names are CPUID_<leaf>_<register>_<bit>, the extended leaf 0x80000001
 * being EXT1.  EPT has no CPUID bits: its capabilities are an MSR's
 * (MSR_IA32_VMX_EPT_VPID_CAP, x86/msr.h). */
#ifndef FERRY_X86_CPUID_H
#define FERRY_X86_CPUID_H

#ifndef __ASSEMBLY__
#include "lib/types.h"
#elif !defined(BIT)
#define BIT(n) (1 << (n))
#endif

/* ---- leaves ---------------------------------------------------------------- */
#define CPUID_LEAF_VENDOR 0x0           /* EAX: highest basic leaf; EBX EDX ECX: vendor */
#define CPUID_LEAF_FEATURES 0x1         /* family, model; feature bits */
#define CPUID_LEAF_MWAIT 0x5            /* MONITOR/MWAIT sizes and C-state hints */
#define CPUID_LEAF_EXT7 0x7             /* subleaf 0: structured extended features */
#define CPUID_LEAF_XSAVE 0xD            /* subleaf 0: EDX:EAX = the XCR0 bits supported */
/* No CPU returns information for leaves 0x40000000-0x4FFFFFFF (SDM Vol.
 * 2A, CPUID): hypervisors answer the first 256 of them.  ferry's own, from
 * 0x40000000, are in lib/guest_abi.h. */
#define CPUID_LEAF_HV_FIRST 0x40000000
#define CPUID_LEAF_HV_LAST 0x400000FF
#define CPUID_LEAF_EXT_MAX 0x80000000   /* EAX: highest extended leaf */
#define CPUID_LEAF_EXT_FEATURES 0x80000001
#define CPUID_LEAF_BRAND 0x80000002     /* and the next two: the 48-byte brand string */
#define CPUID_LEAF_BRAND_COUNT 3
#define CPUID_LEAF_ADDR_SIZES 0x80000008
#define CPUID_LEAF_SVM 0x8000000A       /* APM Vol. 3, E.4.9 (AMD only) */

/* ---- leaf 1 ---------------------------------------------------------------- */
/* EAX: the display family and model as ferry logs them (the extended
 * fields added in whatever the base family). */
#define CPUID_1_EAX_FAMILY(a) ((((a) >> 8) & 0xF) + (((a) >> 20) & 0xFF))
#define CPUID_1_EAX_MODEL(a) ((((a) >> 4) & 0xF) | (((a) >> 12) & 0xF0))
#define CPUID_1_ECX_MONITOR BIT(3)      /* MONITOR/MWAIT */
#define CPUID_1_ECX_VMX BIT(5)          /* Intel VT-x */
#define CPUID_1_ECX_SMX BIT(6)          /* GETSEC (Intel TXT) */
#define CPUID_1_ECX_X2APIC BIT(21)
#define CPUID_1_ECX_XSAVE BIT(26)       /* XSAVE/XRSTOR, XSETBV, XCR0 */
#define CPUID_1_ECX_OSXSAVE BIT(27)     /* mirrors CR4.OSXSAVE */
#define CPUID_1_ECX_HYPERVISOR BIT(31)  /* reserved for hypervisors: "running under one" */
#define CPUID_1_EDX_PAE BIT(6)
#define CPUID_1_EDX_APIC BIT(9)         /* an on-chip local APIC */

/* ---- leaf 7, subleaf 0 ---------------------------------------------------------- */
#define CPUID_7_ECX_WAITPKG BIT(5)      /* UMONITOR/UMWAIT/TPAUSE */

/* ---- leaf 0x80000001 ---------------------------------------------------------- */
#define CPUID_EXT1_ECX_SVM BIT(2)       /* AMD-V */
#define CPUID_EXT1_ECX_MONITORX BIT(29) /* MONITORX/MWAITX (AMD) */
#define CPUID_EXT1_EDX_NX BIT(20)
#define CPUID_EXT1_EDX_PAGE1G BIT(26)   /* 1 GiB pages */
#define CPUID_EXT1_EDX_LM BIT(29)       /* long mode */

/* ---- leaf 0x80000008 ---------------------------------------------------------- */
#define CPUID_ADDR_EAX_PHYS_BITS(a) ((a) & 0xFF) /* MAXPHYADDR */
/* Without the leaf: 36 bits where PAE exists (SDM Vol. 3A, 4.1.4). */
#define CPU_PHYS_ADDR_BITS_DEFAULT 36

/* ---- leaf 0x8000000A: SVM (APM Vol. 3, E.4.9; Vol. 2, 15.4) ------------------- */
#define CPUID_SVM_EAX_REVISION(a) ((a) & 0xFF)
/* EBX: the number of ASIDs.  EDX: */
#define CPUID_SVM_EDX_NP BIT(0)              /* nested paging */
#define CPUID_SVM_EDX_NRIPS BIT(3)           /* next_rip saved on #VMEXIT */
#define CPUID_SVM_EDX_FLUSH_BY_ASID BIT(6)
#define CPUID_SVM_EDX_DECODE_ASSISTS BIT(7)  /* instruction bytes on #NPF */
#define CPUID_SVM_EDX_PAUSE_FILTER BIT(10)   /* pause_filter_count */

#endif
