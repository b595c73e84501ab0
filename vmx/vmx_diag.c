/* When VM entry fails: the VM-instruction error in words, and the checks of
 * SDM Vol. 3C, chapter 26 that the current VMCS breaks, each named with
 * the fields involved.  Also the guest state for the core's exit reports.
 * This runs only on a failure, so it favours saying much over speed. */
#include "vmx.h"
#include "platform/console.h"
#include "x86/cpu.h"
#include "x86/msr.h"

/* VM-instruction error numbers (SDM Vol. 3C, 30.4, table 30-1). */
const char *vmx_insn_error_name(u32 err)
{
	static const char *const names[] = {
		[1] = "VMCALL executed in VMX root operation",
		[2] = "VMCLEAR with invalid physical address",
		[3] = "VMCLEAR with VMXON pointer",
		[4] = "VMLAUNCH with non-clear VMCS",
		[5] = "VMRESUME with non-launched VMCS",
		[6] = "VMRESUME after VMXOFF",
		[7] = "VM entry with invalid control field(s)",
		[8] = "VM entry with invalid host-state field(s)",
		[9] = "VMPTRLD with invalid physical address",
		[10] = "VMPTRLD with VMXON pointer",
		[11] = "VMPTRLD with incorrect VMCS revision identifier",
		[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
		[13] = "VMWRITE to read-only VMCS component",
		[15] = "VMXON executed in VMX root operation",
		[16] = "VM entry with invalid executive-VMCS pointer",
		[17] = "VM entry with non-launched executive VMCS",
		[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
		[19] = "VMCALL with non-clear VMCS",
		[20] = "VMCALL with invalid VM-exit control fields",
		[22] = "VMCALL with incorrect MSEG revision identifier",
		[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
		[24] = "VMCALL with invalid SMM-monitor features",
		[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
		[26] = "VM entry with events blocked by MOV SS",
		[28] = "invalid operand to INVEPT/INVVPID",
	};
	if (err == 0)
		return "no current VMCS (VMfailInvalid)";
	return err < ARRAY_SIZE(names) && names[err] ? names[err] : "unknown VM-instruction error";
}

static unsigned failed_checks;

#define CHECK(cond, ...)                                              \
	do {                                                          \
		if (!(cond)) {                                        \
			failed_checks++;                              \
			log_err("VMX:   failed check: " __VA_ARGS__); \
		}                                                     \
	} while (0)

static bool canonical(u64 a)
{
	return (u64)((s64)(a << 16) >> 16) == a;
}

static void check_ctl(const char *name, u64 val, const struct vmx_ctl_cap *c)
{
	CHECK((val & c->must1) == c->must1, "%s controls %lx lack required bits %x (26.2.1.1)", name, val,
	      c->must1 & ~(u32)val);
	CHECK((val & ~(u64)c->may1) == 0, "%s controls %lx set unsupported bits %lx (26.2.1.1)", name, val,
	      val & ~(u64)c->may1);
}

/* 26.2.1: the VM-execution, exit and entry control fields. */
static void check_controls(void)
{
	u64 pin = vmcs_read(VMCS_PIN_CONTROLS), proc = vmcs_read(VMCS_PROC_CONTROLS);
	u64 proc2 = proc & PROC_SECONDARY_CONTROLS ? vmcs_read(VMCS_PROC_CONTROLS2) : 0;
	u64 exit = vmcs_read(VMCS_EXIT_CONTROLS), entry = vmcs_read(VMCS_ENTRY_CONTROLS);
	u64 pa_limit = 1ULL << cpu_phys_addr_bits();
	check_ctl("pin-based", pin, &vmx.pin);
	check_ctl("processor-based", proc, &vmx.proc);
	if (proc & PROC_SECONDARY_CONTROLS)
		check_ctl("secondary processor-based", proc2, &vmx.proc2);
	check_ctl("VM-exit", exit, &vmx.exit);
	check_ctl("VM-entry", entry, &vmx.entry);
	CHECK(vmcs_read(VMCS_CR3_TARGET_COUNT) <= 4, "CR3-target count %lu > 4", vmcs_read(VMCS_CR3_TARGET_COUNT));
	if (proc & PROC_USE_IO_BITMAPS) {
		u64 a = vmcs_read(VMCS_IO_BITMAP_A), b = vmcs_read(VMCS_IO_BITMAP_B);
		CHECK(!(a & 0xFFF) && a < pa_limit, "I/O bitmap A address %lx not page-aligned in range", a);
		CHECK(!(b & 0xFFF) && b < pa_limit, "I/O bitmap B address %lx not page-aligned in range", b);
	}
	if (proc & PROC_USE_MSR_BITMAPS) {
		u64 m = vmcs_read(VMCS_MSR_BITMAP);
		CHECK(!(m & 0xFFF) && m < pa_limit, "MSR bitmap address %lx not page-aligned in range", m);
	}
	if (proc2 & PROC2_EPT) {
		u64 eptp = vmcs_read(VMCS_EPT_POINTER);
		u64 mt = eptp & 7, walk = (eptp >> 3) & 7;
		CHECK((mt == 0 && (vmx.ept_vpid & EPT_CAP_UC)) || (mt == 6 && (vmx.ept_vpid & EPT_CAP_WB)),
		      "EPTP %lx: memory type %lu not supported (26.2.1.1)", eptp, mt);
		CHECK(walk == 3, "EPTP %lx: page-walk length %lu, must be 3 (four levels)", eptp, walk + 1);
		CHECK(!(eptp & BIT(6)) || (vmx.ept_vpid & EPT_CAP_AD), "EPTP %lx: A/D flags without support", eptp);
		CHECK(!(eptp & 0xF80) && eptp < pa_limit, "EPTP %lx: reserved bits set", eptp);
	}
	CHECK(!(proc2 & PROC2_UNRESTRICTED_GUEST) || (proc2 & PROC2_EPT), "unrestricted guest without EPT");
	CHECK(!(proc2 & PROC2_VPID) || vmcs_read(VMCS_VPID) != 0, "VPID enabled with VPID 0");
	u64 info = vmcs_read(VMCS_ENTRY_INTR_INFO);
	if (info & INTR_INFO_VALID) {
		u64 type = INTR_INFO_TYPE(info), vec = INTR_INFO_VECTOR(info);
		CHECK(type != 1 && type != 7, "VM-entry interruption type %lu reserved (26.2.1.3)", type);
		CHECK(type != INTR_TYPE_NMI || vec == 2, "NMI injected with vector %lu", vec);
		CHECK(type != INTR_TYPE_HW_EXCEPTION || vec < 32, "hardware exception vector %lu > 31", vec);
		bool errvec = vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21;
		CHECK(!(info & INTR_INFO_ERROR_VALID) || (type == INTR_TYPE_HW_EXCEPTION && errvec),
		      "error code delivered for vector %lu type %lu, which has none", vec, type);
		CHECK(!(info & 0x7FFFF000), "VM-entry interruption information %lx: reserved bits 30:12 set", info);
	}
}

/* 26.2.2 and 26.2.3: the host-state area. */
static void check_host_state(void)
{
	u64 cr0 = vmcs_read(VMCS_HOST_CR0), cr4 = vmcs_read(VMCS_HOST_CR4);
	u64 exit = vmcs_read(VMCS_EXIT_CONTROLS);
	CHECK((cr0 & vmx.cr0_fixed0) == vmx.cr0_fixed0 && !(cr0 & ~vmx.cr0_fixed1), "host CR0 %lx vs fixed bits", cr0);
	CHECK((cr4 & vmx.cr4_fixed0) == vmx.cr4_fixed0 && !(cr4 & ~vmx.cr4_fixed1), "host CR4 %lx vs fixed bits", cr4);
	CHECK(vmcs_read(VMCS_HOST_CR3) < (1ULL << cpu_phys_addr_bits()), "host CR3 %lx beyond the physical width",
	      vmcs_read(VMCS_HOST_CR3));
	CHECK(exit & EXIT_HOST_ADDR_SPACE_SIZE, "host address-space size clear: ferry is 64-bit");
	static const enum vmcs_field sels[] = { VMCS_HOST_ES_SEL, VMCS_HOST_CS_SEL, VMCS_HOST_SS_SEL, VMCS_HOST_DS_SEL,
						VMCS_HOST_FS_SEL, VMCS_HOST_GS_SEL, VMCS_HOST_TR_SEL };
	for (unsigned i = 0; i < ARRAY_SIZE(sels); i++)
		CHECK(!(vmcs_read(sels[i]) & 7), "host selector %x = %lx has RPL or TI set", sels[i], vmcs_read(sels[i]));
	CHECK(vmcs_read(VMCS_HOST_CS_SEL) != 0, "host CS selector is 0");
	CHECK(vmcs_read(VMCS_HOST_TR_SEL) != 0, "host TR selector is 0");
	static const enum vmcs_field bases[] = { VMCS_HOST_FS_BASE, VMCS_HOST_GS_BASE, VMCS_HOST_TR_BASE,
						 VMCS_HOST_GDTR_BASE, VMCS_HOST_IDTR_BASE, VMCS_HOST_SYSENTER_ESP,
						 VMCS_HOST_SYSENTER_EIP, VMCS_HOST_RIP };
	for (unsigned i = 0; i < ARRAY_SIZE(bases); i++)
		CHECK(canonical(vmcs_read(bases[i])), "host field %x = %lx is not canonical", bases[i],
		      vmcs_read(bases[i]));
	if (exit & EXIT_LOAD_IA32_PAT)
		CHECK(pat_valid(vmcs_read(VMCS_HOST_IA32_PAT)), "host PAT %lx invalid", vmcs_read(VMCS_HOST_IA32_PAT));
	if (exit & EXIT_LOAD_IA32_EFER) {
		u64 efer = vmcs_read(VMCS_HOST_IA32_EFER);
		CHECK((efer & EFER_LMA) && (efer & EFER_LME), "host EFER %lx: LMA and LME must be set for a 64-bit host",
		      efer);
	}
}

static const char *const seg_names[SEG_COUNT] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR" };

/* Limit and G agree (26.3.1.2): G=0 unless limit bits 31:20 are set... */
static bool limit_g_ok(u32 limit, u64 ar)
{
	if ((limit & 0xFFF) != 0xFFF && (ar & AR_G))
		return false;
	if ((limit & 0xFFF00000) && !(ar & AR_G))
		return false;
	return true;
}

/* What the checks of the guest-state area have in common. */
struct guest_view {
	u64 cr0, rflags, entry;
	bool ug;    /* unrestricted guest */
	bool ia32e; /* "IA-32e mode guest" */
};

/* 26.3.1.1 control registers, debug registers, MSRs */
static void check_guest_regs(const struct guest_view *g)
{
	u64 cr0 = g->cr0, cr3 = vmcs_read(VMCS_GUEST_CR3), cr4 = vmcs_read(VMCS_GUEST_CR4), entry = g->entry;
	bool ia32e = g->ia32e;
	u64 fixed0 = vmx.cr0_fixed0 & ~(g->ug ? (u64)(CR0_PE | CR0_PG) : 0);
	u64 efer = vmcs_read(VMCS_GUEST_IA32_EFER);

	CHECK((cr0 & fixed0) == fixed0, "guest CR0 %lx lacks fixed-1 bits %lx", cr0, fixed0 & ~cr0);
	CHECK(!(cr0 & ~vmx.cr0_fixed1), "guest CR0 %lx sets fixed-0 bits", cr0);
	CHECK(!(cr0 & CR0_PG) || (cr0 & CR0_PE), "guest CR0 %lx: PG without PE", cr0);
	CHECK((cr4 & vmx.cr4_fixed0) == vmx.cr4_fixed0, "guest CR4 %lx lacks fixed-1 bits %lx", cr4,
	      vmx.cr4_fixed0 & ~cr4);
	CHECK(!(cr4 & ~vmx.cr4_fixed1), "guest CR4 %lx sets fixed-0 bits %lx", cr4, cr4 & ~vmx.cr4_fixed1);
	if (ia32e)
		CHECK((cr0 & CR0_PG) && (cr4 & CR4_PAE), "IA-32e mode guest needs CR0.PG and CR4.PAE (cr0 %lx cr4 %lx)",
		      cr0, cr4);
	CHECK(cr3 < (1ULL << cpu_phys_addr_bits()), "guest CR3 %lx beyond the physical width", cr3);
	if (entry & ENTRY_LOAD_DEBUG_CONTROLS)
		CHECK(!(vmcs_read(VMCS_GUEST_DR7) >> 32), "guest DR7 %lx: bits 63:32 set", vmcs_read(VMCS_GUEST_DR7));
	CHECK(canonical(vmcs_read(VMCS_GUEST_SYSENTER_ESP)) && canonical(vmcs_read(VMCS_GUEST_SYSENTER_EIP)),
	      "guest SYSENTER_ESP/EIP not canonical");
	if (entry & ENTRY_LOAD_IA32_PAT)
		CHECK(pat_valid(vmcs_read(VMCS_GUEST_IA32_PAT)), "guest PAT %lx invalid", vmcs_read(VMCS_GUEST_IA32_PAT));
	if (entry & ENTRY_LOAD_IA32_EFER) {
		CHECK(!(efer & ~(u64)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)), "guest EFER %lx: reserved bits", efer);
		CHECK(!(efer & EFER_LMA) == !ia32e, "guest EFER.LMA (%lx) differs from \"IA-32e mode guest\"", efer);
		CHECK(!(cr0 & CR0_PG) || !(efer & EFER_LMA) == !(efer & EFER_LME),
		      "guest EFER %lx: LMA and LME differ with paging on", efer);
	}
}

/* 26.3.1.2 segment registers */
static void check_guest_segments(const struct guest_view *g)
{
	u64 cr0 = g->cr0, rflags = g->rflags;
	bool ug = g->ug, ia32e = g->ia32e;
	u64 sel[SEG_COUNT], ar[SEG_COUNT], base[SEG_COUNT];
	u32 limit[SEG_COUNT];
	for (int s = 0; s < SEG_COUNT; s++) {
		sel[s] = vmcs_read(VMCS_SEG_SEL(s));
		ar[s] = vmcs_read(VMCS_SEG_AR(s));
		base[s] = vmcs_read(VMCS_SEG_BASE(s));
		limit[s] = (u32)vmcs_read(VMCS_SEG_LIMIT(s));
	}
	u64 cs = ar[SEG_CS], ss = ar[SEG_SS], type_cs = AR_TYPE(cs);
	CHECK(!(sel[SEG_TR] & 4), "guest TR selector %lx has TI set", sel[SEG_TR]);
	CHECK((ar[SEG_LDTR] & AR_UNUSABLE) || !(sel[SEG_LDTR] & 4), "guest LDTR selector %lx has TI set",
	      sel[SEG_LDTR]);
	if (!ug && !(rflags & BIT(17)))
		CHECK((sel[SEG_SS] & 3) == (sel[SEG_CS] & 3), "guest SS.RPL (%lx) differs from CS.RPL (%lx)", sel[SEG_SS],
		      sel[SEG_CS]);
	CHECK(canonical(base[SEG_TR]) && canonical(base[SEG_FS]) && canonical(base[SEG_GS]) &&
	      canonical(base[SEG_LDTR]), "guest TR/FS/GS/LDTR base not canonical");
	CHECK(!(base[SEG_CS] >> 32), "guest CS base %lx: bits 63:32 set", base[SEG_CS]);
	for (int s = SEG_ES; s <= SEG_GS; s++) {
		if (s == SEG_CS || s == SEG_FS || s == SEG_GS || (ar[s] & AR_UNUSABLE))
			continue;
		CHECK(!(base[s] >> 32), "guest %s base %lx: bits 63:32 set", seg_names[s], base[s]);
	}
	CHECK(type_cs == 9 || type_cs == 11 || type_cs == 13 || type_cs == 15 || (ug && type_cs == 3),
	      "guest CS type %lx: must be an accessed code segment", type_cs);
	CHECK(cs & AR_S, "guest CS access rights %lx: S (code/data) clear", cs);
	CHECK(cs & AR_P, "guest CS access rights %lx: not present", cs);
	if (type_cs == 9 || type_cs == 11)
		CHECK(AR_GET_DPL(cs) == AR_GET_DPL(ss), "guest CS.DPL %lu differs from SS.DPL %lu (non-conforming)",
		      AR_GET_DPL(cs), AR_GET_DPL(ss));
	if (ia32e && (cs & AR_L))
		CHECK(!(cs & AR_DB), "guest CS access rights %lx: L and D/B both set", cs);
	for (int s = 0; s < SEG_COUNT; s++) {
		if (ar[s] & AR_UNUSABLE)
			continue;
		CHECK(!(ar[s] & 0xFFFE0F00), "guest %s access rights %lx: reserved bits set", seg_names[s], ar[s]);
		CHECK(limit_g_ok(limit[s], ar[s]), "guest %s limit %x disagrees with G in access rights %lx",
		      seg_names[s], limit[s], ar[s]);
	}
	if (!(ss & AR_UNUSABLE)) {
		CHECK(ug || AR_TYPE(ss) == 3 || AR_TYPE(ss) == 7, "guest SS type %lx: must be read/write data",
		      AR_TYPE(ss));
		CHECK(ug || AR_GET_DPL(ss) == (sel[SEG_SS] & 3), "guest SS.DPL %lu differs from SS.RPL", AR_GET_DPL(ss));
		CHECK(ss & AR_P, "guest SS not present");
	}
	if (type_cs == 3 || !(cr0 & CR0_PE))
		CHECK(AR_GET_DPL(ss) == 0, "guest SS.DPL must be 0 in real mode or with a data CS");
	static const int datasegs[] = { SEG_ES, SEG_DS, SEG_FS, SEG_GS };
	for (unsigned i = 0; i < ARRAY_SIZE(datasegs); i++) {
		int s = datasegs[i];
		if (ar[s] & AR_UNUSABLE)
			continue;
		CHECK(AR_TYPE(ar[s]) & 1, "guest %s type %lx: accessed bit clear", seg_names[s], AR_TYPE(ar[s]));
		CHECK(!(AR_TYPE(ar[s]) & 8) || (AR_TYPE(ar[s]) & 2), "guest %s: execute-only code segment", seg_names[s]);
		CHECK(ar[s] & AR_S, "guest %s: S clear", seg_names[s]);
		CHECK(ar[s] & AR_P, "guest %s: not present", seg_names[s]);
		if (!ug && AR_TYPE(ar[s]) <= 11)
			CHECK(AR_GET_DPL(ar[s]) >= (sel[s] & 3), "guest %s.DPL below its RPL", seg_names[s]);
	}
	u64 tr = ar[SEG_TR];
	CHECK(!(tr & AR_UNUSABLE), "guest TR is unusable");
	CHECK(AR_TYPE(tr) == SEG_TYPE_TSS64_BUSY || (!ia32e && AR_TYPE(tr) == SEG_TYPE_TSS16_BUSY),
	      "guest TR type %lx: must be a busy TSS (11 in IA-32e mode)", AR_TYPE(tr));
	CHECK(!(tr & AR_S) && (tr & AR_P), "guest TR access rights %lx: S set or not present", tr);
	if (!(ar[SEG_LDTR] & AR_UNUSABLE))
		CHECK(AR_TYPE(ar[SEG_LDTR]) == SEG_TYPE_LDT && !(ar[SEG_LDTR] & AR_S) && (ar[SEG_LDTR] & AR_P),
		      "guest LDTR access rights %lx: must be a present LDT", ar[SEG_LDTR]);
}

/* 26.3.1.3 descriptor-table registers, 26.3.1.4 RIP and RFLAGS */
static void check_guest_rip_rflags(const struct guest_view *g)
{
	u64 cr0 = g->cr0, rflags = g->rflags, cs = vmcs_read(VMCS_SEG_AR(SEG_CS));
	bool ia32e = g->ia32e;

	CHECK(canonical(vmcs_read(VMCS_GUEST_GDTR_BASE)) && canonical(vmcs_read(VMCS_GUEST_IDTR_BASE)),
	      "guest GDTR/IDTR base not canonical");
	CHECK(!(vmcs_read(VMCS_GUEST_GDTR_LIMIT) >> 16) && !(vmcs_read(VMCS_GUEST_IDTR_LIMIT) >> 16),
	      "guest GDTR/IDTR limit above 0xFFFF");

	u64 rip = vmcs_read(VMCS_GUEST_RIP);
	if (ia32e && (cs & AR_L))
		CHECK(canonical(rip), "guest RIP %lx not canonical", rip);
	else
		CHECK(!(rip >> 32), "guest RIP %lx: bits 63:32 set outside 64-bit mode", rip);
	CHECK(!(rflags & 0xFFFFFFFFFFC08028ULL) && (rflags & 2), "guest RFLAGS %lx: reserved bits wrong", rflags);
	CHECK(!(rflags & BIT(17)) || (!ia32e && (cr0 & CR0_PE)), "guest RFLAGS.VM set in IA-32e or real mode");
	u64 inject = vmcs_read(VMCS_ENTRY_INTR_INFO);
	if ((inject & INTR_INFO_VALID) && INTR_INFO_TYPE(inject) == INTR_TYPE_EXT_INTR)
		CHECK(rflags & RFLAGS_IF, "external interrupt injected with RFLAGS.IF clear");
}

/* 26.3.1.5 non-register state */
static void check_guest_nonreg(const struct guest_view *g)
{
	u64 rflags = g->rflags, inject = vmcs_read(VMCS_ENTRY_INTR_INFO);
	u64 act = vmcs_read(VMCS_GUEST_ACTIVITY_STATE), intr = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
	CHECK(act <= 3, "guest activity state %lu invalid", act);
	CHECK(!(intr & ~0x1FULL), "guest interruptibility %lx: reserved bits", intr);
	CHECK((intr & 3) != 3, "guest interruptibility %lx: blocked by both STI and MOV SS", intr);
	CHECK(!(intr & INTR_BLOCK_STI) || (rflags & RFLAGS_IF), "guest blocked by STI with RFLAGS.IF clear");
	if (inject & INTR_INFO_VALID) {
		u64 t = INTR_INFO_TYPE(inject);
		if (t == INTR_TYPE_EXT_INTR || t == INTR_TYPE_NMI)
			CHECK(!(intr & 3), "interrupt or NMI injected into an STI/MOV SS shadow");
	}
	CHECK(!(vmcs_read(VMCS_GUEST_PENDING_DBG) & ~0x1500FULL), "guest pending debug exceptions: reserved bits");
	CHECK(vmcs_read(VMCS_LINK_POINTER) == ~0ULL, "VMCS link pointer %lx is not all ones (26.3.1.5)",
	      vmcs_read(VMCS_LINK_POINTER));
}

/* 26.3.1: the guest-state area, in the SDM's order. */
static void check_guest_state(void)
{
	u64 proc = vmcs_read(VMCS_PROC_CONTROLS);
	u64 proc2 = proc & PROC_SECONDARY_CONTROLS ? vmcs_read(VMCS_PROC_CONTROLS2) : 0;
	struct guest_view g = {
		.cr0 = vmcs_read(VMCS_GUEST_CR0),
		.rflags = vmcs_read(VMCS_GUEST_RFLAGS),
		.entry = vmcs_read(VMCS_ENTRY_CONTROLS),
		.ug = proc2 & PROC2_UNRESTRICTED_GUEST,
	};
	g.ia32e = g.entry & ENTRY_IA32E_MODE_GUEST;
	check_guest_regs(&g);
	check_guest_segments(&g);
	check_guest_rip_rflags(&g);
	check_guest_nonreg(&g);
}

void vmx_report_entry_failure(u32 insn_error, bool guest_state)
{
	failed_checks = 0;
	if (guest_state) {
		u32 reason = (u32)vmcs_read(VMCS_EXIT_REASON);
		u64 qual = vmcs_read(VMCS_EXIT_QUALIFICATION);
		log_err("VMX: exit reason %u (%s), qualification %lx", VMX_EXIT_REASON_BASIC(reason),
			VMX_EXIT_REASON_BASIC(reason) == VMX_EXIT_INVALID_GUEST_STATE ? "invalid guest state"
			: VMX_EXIT_REASON_BASIC(reason) == VMX_EXIT_MSR_LOADING ? "MSR loading"
			: "machine-check event", qual);
		if (qual == ENTRY_FAIL_QUAL_LINK)
			log_err("VMX:   the VMCS link pointer is invalid");
		check_guest_state();
	} else {
		log_err("VMX: VM-instruction error %u: %s", insn_error, vmx_insn_error_name(insn_error));
		if (insn_error == 7)
			check_controls();
		else if (insn_error == 8)
			check_host_state();
	}
	if (!failed_checks && (guest_state || insn_error == 7 || insn_error == 8))
		log_err("VMX:   no check ferry knows fails; the fields follow");
}

void vmx_dump(struct vcpu *vcpu)
{
	const struct vmx_vcpu *xv = vcpu->arch;
	log_err("  vmcs: exit reason %x qualification %lx guest-physical %lx intr-info %lx idt-vectoring %lx",
		(u32)vmcs_read(VMCS_EXIT_REASON), vmcs_read(VMCS_EXIT_QUALIFICATION),
		vmcs_read(VMCS_GUEST_PHYSICAL_ADDR), vmcs_read(VMCS_EXIT_INTR_INFO),
		vmcs_read(VMCS_IDT_VECTORING_INFO));
	log_err("  vmcs: cr0 %lx (shadow %lx) cr3 %lx cr4 %lx (shadow %lx) efer %lx pat %lx",
		vmcs_read(VMCS_GUEST_CR0), vmcs_read(VMCS_CR0_READ_SHADOW), vmcs_read(VMCS_GUEST_CR3),
		vmcs_read(VMCS_GUEST_CR4), vmcs_read(VMCS_CR4_READ_SHADOW), vmcs_read(VMCS_GUEST_IA32_EFER),
		vmcs_read(VMCS_GUEST_IA32_PAT));
	for (int s = 0; s < SEG_COUNT; s++)
		log_err("  vmcs: %-4s sel %04lx ar %05lx limit %08lx base %lx", seg_names[s], vmcs_read(VMCS_SEG_SEL(s)),
			vmcs_read(VMCS_SEG_AR(s)), vmcs_read(VMCS_SEG_LIMIT(s)), vmcs_read(VMCS_SEG_BASE(s)));
	log_err("  vmcs: gdtr %lx/%lx idtr %lx/%lx rip %lx rsp %lx rflags %lx interruptibility %lx activity %lu",
		vmcs_read(VMCS_GUEST_GDTR_BASE), vmcs_read(VMCS_GUEST_GDTR_LIMIT), vmcs_read(VMCS_GUEST_IDTR_BASE),
		vmcs_read(VMCS_GUEST_IDTR_LIMIT), vmcs_read(VMCS_GUEST_RIP), vmcs_read(VMCS_GUEST_RSP),
		vmcs_read(VMCS_GUEST_RFLAGS), vmcs_read(VMCS_GUEST_INTERRUPTIBILITY),
		vmcs_read(VMCS_GUEST_ACTIVITY_STATE));
	log_err("  vmcs: controls pin %lx proc %lx proc2 %lx exit %lx entry %lx entry-intr %lx; launched %s",
		vmcs_read(VMCS_PIN_CONTROLS), vmcs_read(VMCS_PROC_CONTROLS), vmcs_read(VMCS_PROC_CONTROLS2),
		vmcs_read(VMCS_EXIT_CONTROLS), vmcs_read(VMCS_ENTRY_CONTROLS), vmcs_read(VMCS_ENTRY_INTR_INFO),
		xv->launched ? "yes" : "no");
}
