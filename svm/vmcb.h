/* The AMD virtual machine control block (APM Vol. 2, appendix B, "Layout
 * of VMCB").  Offsets are checked at compile time. */
#ifndef FERRY_SVM_VMCB_H
#define FERRY_SVM_VMCB_H

#include "lib/types.h"

struct vmcb_seg {
	u16 sel;
	u16 attrib; /* type[3:0] S[4] DPL[6:5] P[7] AVL[8] L[9] DB[10] G[11] */
	u32 limit;
	u64 base;
} __packed;

struct vmcb_control {
	u16 intercept_cr_read;   /* 0x000 */
	u16 intercept_cr_write;  /* 0x002 */
	u16 intercept_dr_read;   /* 0x004 */
	u16 intercept_dr_write;  /* 0x006 */
	u32 intercept_exceptions;/* 0x008 */
	u32 intercept_misc1;     /* 0x00c: INTR .. SHUTDOWN */
	u32 intercept_misc2;     /* 0x010: VMRUN .. */
	u32 intercept_misc3;     /* 0x014 */
	u8 reserved1[0x03c - 0x018];
	u16 pause_filter_thresh; /* 0x03c */
	u16 pause_filter_count;  /* 0x03e */
	u64 iopm_base_pa;        /* 0x040 */
	u64 msrpm_base_pa;       /* 0x048 */
	u64 tsc_offset;          /* 0x050 */
	u32 guest_asid;          /* 0x058 */
	u8 tlb_control;          /* 0x05c */
	u8 reserved2[3];
	u64 vintr;               /* 0x060 */
	u64 interrupt_shadow;    /* 0x068 */
	u64 exitcode;            /* 0x070 */
	u64 exitinfo1;           /* 0x078 */
	u64 exitinfo2;           /* 0x080 */
	u64 exitintinfo;         /* 0x088 */
	u64 np_enable;           /* 0x090 */
	u64 avic_apic_bar;       /* 0x098 */
	u64 ghcb_pa;             /* 0x0a0 */
	u64 event_inj;           /* 0x0a8 */
	u64 n_cr3;               /* 0x0b0 */
	u64 virt_ext;            /* 0x0b8 */
	u32 clean_bits;          /* 0x0c0 */
	u32 reserved3;           /* 0x0c4 */
	u64 next_rip;            /* 0x0c8 */
	u8 insn_len;             /* 0x0d0 */
	u8 insn_bytes[15];       /* 0x0d1 */
	u8 reserved4[0x400 - 0x0e0];
} __packed;

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs; /* 0x400 .. 0x45f */
	struct vmcb_seg gdtr, ldtr, idtr, tr;   /* 0x460 .. 0x49f */
	u8 reserved1[0x4cb - 0x4a0];
	u8 cpl;                  /* 0x4cb */
	u32 reserved2;
	u64 efer;                /* 0x4d0 */
	u8 reserved3[0x548 - 0x4d8];
	u64 cr4;                 /* 0x548 */
	u64 cr3;                 /* 0x550 */
	u64 cr0;                 /* 0x558 */
	u64 dr7;                 /* 0x560 */
	u64 dr6;                 /* 0x568 */
	u64 rflags;              /* 0x570 */
	u64 rip;                 /* 0x578 */
	u8 reserved4[0x5d8 - 0x580];
	u64 rsp;                 /* 0x5d8 */
	u8 reserved5[0x5f8 - 0x5e0];
	u64 rax;                 /* 0x5f8 */
	u64 star;                /* 0x600 */
	u64 lstar;               /* 0x608 */
	u64 cstar;               /* 0x610 */
	u64 sfmask;              /* 0x618 */
	u64 kernel_gs_base;      /* 0x620 */
	u64 sysenter_cs;         /* 0x628 */
	u64 sysenter_esp;        /* 0x630 */
	u64 sysenter_eip;        /* 0x638 */
	u64 cr2;                 /* 0x640 */
	u8 reserved6[0x668 - 0x648];
	u64 g_pat;               /* 0x668 */
	u64 dbgctl;              /* 0x670 */
	u64 br_from;             /* 0x678 */
	u64 br_to;               /* 0x680 */
	u64 last_excp_from;      /* 0x688 */
	u64 last_excp_to;        /* 0x690 */
} __packed;

struct vmcb {
	struct vmcb_control ctl;
	struct vmcb_save save;
	u8 reserved[4096 - 0x698];
} __packed;

#define VMCB_CHECK(field, off) _Static_assert(__builtin_offsetof(struct vmcb, field) == (off), #field " offset")
VMCB_CHECK(ctl.iopm_base_pa, 0x040);
VMCB_CHECK(ctl.guest_asid, 0x058);
VMCB_CHECK(ctl.exitcode, 0x070);
VMCB_CHECK(ctl.np_enable, 0x090);
VMCB_CHECK(ctl.event_inj, 0x0a8);
VMCB_CHECK(ctl.n_cr3, 0x0b0);
VMCB_CHECK(ctl.next_rip, 0x0c8);
VMCB_CHECK(ctl.insn_bytes, 0x0d1);
VMCB_CHECK(save.es, 0x400);
VMCB_CHECK(save.tr, 0x490);
VMCB_CHECK(save.cpl, 0x4cb);
VMCB_CHECK(save.efer, 0x4d0);
VMCB_CHECK(save.cr4, 0x548);
VMCB_CHECK(save.rflags, 0x570);
VMCB_CHECK(save.rip, 0x578);
VMCB_CHECK(save.rsp, 0x5d8);
VMCB_CHECK(save.rax, 0x5f8);
VMCB_CHECK(save.kernel_gs_base, 0x620);
VMCB_CHECK(save.cr2, 0x640);
VMCB_CHECK(save.g_pat, 0x668);
_Static_assert(sizeof(struct vmcb) == 4096, "VMCB is one page");

/* intercept_misc1 (VMCB offset 0x00c) */
#define SVM_INTERCEPT_INTR BIT(0)
#define SVM_INTERCEPT_NMI BIT(1)
#define SVM_INTERCEPT_INIT BIT(3)
#define SVM_INTERCEPT_CPUID BIT(18)
#define SVM_INTERCEPT_INVD BIT(22)
#define SVM_INTERCEPT_PAUSE BIT(23)
#define SVM_INTERCEPT_HLT BIT(24)
#define SVM_INTERCEPT_INVLPGA BIT(26)
#define SVM_INTERCEPT_IOIO BIT(27)
#define SVM_INTERCEPT_MSR BIT(28)
#define SVM_INTERCEPT_SHUTDOWN BIT(31)
/* intercept_misc2 (VMCB offset 0x010) */
#define SVM_INTERCEPT_VMRUN BIT(0)
#define SVM_INTERCEPT_VMMCALL BIT(1)
#define SVM_INTERCEPT_VMLOAD BIT(2)
#define SVM_INTERCEPT_VMSAVE BIT(3)
#define SVM_INTERCEPT_STGI BIT(4)
#define SVM_INTERCEPT_CLGI BIT(5)
#define SVM_INTERCEPT_SKINIT BIT(6)
#define SVM_INTERCEPT_MONITOR BIT(10)      /* and MONITORX */
#define SVM_INTERCEPT_MWAIT BIT(11)        /* and MWAITX */
#define SVM_INTERCEPT_MWAIT_COND BIT(12)   /* MWAIT with a monitor armed */
#define SVM_INTERCEPT_XSETBV BIT(13)

/* Exit codes (APM Vol. 2, appendix C). */
#define SVM_EXIT_EXCP_BASE 0x040
#define SVM_EXIT_INTR 0x060
#define SVM_EXIT_NMI 0x061
#define SVM_EXIT_INIT 0x063
#define SVM_EXIT_CPUID 0x072
#define SVM_EXIT_INVD 0x076
#define SVM_EXIT_PAUSE 0x077
#define SVM_EXIT_HLT 0x078
#define SVM_EXIT_INVLPGA 0x07a
#define SVM_EXIT_IOIO 0x07b
#define SVM_EXIT_MSR 0x07c
#define SVM_EXIT_SHUTDOWN 0x07f
#define SVM_EXIT_VMRUN 0x080
#define SVM_EXIT_VMMCALL 0x081
#define SVM_EXIT_VMLOAD 0x082
#define SVM_EXIT_VMSAVE 0x083
#define SVM_EXIT_STGI 0x084
#define SVM_EXIT_CLGI 0x085
#define SVM_EXIT_SKINIT 0x086
#define SVM_EXIT_MONITOR 0x08a
#define SVM_EXIT_MWAIT 0x08b
#define SVM_EXIT_MWAIT_COND 0x08c
#define SVM_EXIT_XSETBV 0x08d
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID 0xffffffffffffffffULL

/* IOIO EXITINFO1 (APM Vol. 2, 15.10.2) */
#define SVM_IOIO_IN BIT(0)
#define SVM_IOIO_STR BIT(2)
#define SVM_IOIO_REP BIT(3)
#define SVM_IOIO_SZ8 BIT(4)
#define SVM_IOIO_SZ16 BIT(5)
#define SVM_IOIO_SZ32 BIT(6)

/* NPF EXITINFO1 (APM Vol. 2, 15.25.6) */
#define SVM_NPF_PRESENT BIT(0)
#define SVM_NPF_WRITE BIT(1)
#define SVM_NPF_FETCH BIT(4)

/* EVENTINJ (APM Vol. 2, 15.20) */
#define SVM_EVTINJ_VALID BIT(31)
#define SVM_EVTINJ_ERR_VALID BIT(11)
#define SVM_EVTINJ_TYPE_NMI (2u << 8)
#define SVM_EVTINJ_TYPE_EXCEPTION (3u << 8)

#define SVM_NP_ENABLE BIT(0)
#define SVM_TLB_FLUSH_ALL 1

#endif
