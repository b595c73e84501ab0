/* Emulated device memory.  A device model registers a region; a nested page
 * fault inside it is emulated here: fetch the instruction (or take the
 * bytes the CPU supplied), decode it, perform the access on the model,
 * write back a load's result and step over the instruction.  Device models
 * never see NPT or EPT. */
#include "mmio.h"
#include "platform/console.h"
#include "guest_mem.h"
#include "lib/string.h"
#include "x86/cpu.h"

int mmio_register(struct vm *vm, const struct mmio_region *r)
{
	if (vm->nmmio == VM_MAX_MMIO)
		return -E_NOSPC;
	if (r->len == 0 || r->start + r->len < r->start)
		return -E_INVAL;
	for (unsigned i = 0; i < vm->nmmio; i++)
		if (r->start < vm->mmio[i].start + vm->mmio[i].len && vm->mmio[i].start < r->start + r->len)
			return -E_EXIST;
	vm->mmio[vm->nmmio++] = *r;
	return 0;
}

int mmio_unregister(struct vm *vm, gpa_t start)
{
	for (unsigned i = 0; i < vm->nmmio; i++) {
		if (vm->mmio[i].start != start)
			continue;
		for (unsigned k = i; k + 1 < vm->nmmio; k++)
			vm->mmio[k] = vm->mmio[k + 1];
		vm->nmmio--;
		return 0;
	}
	return -E_NOENT;
}

struct mmio_region *mmio_find(struct vm *vm, gpa_t gpa)
{
	for (unsigned i = 0; i < vm->nmmio; i++)
		if (gpa >= vm->mmio[i].start && gpa - vm->mmio[i].start < vm->mmio[i].len)
			return &vm->mmio[i];
	return NULL;
}

static void report_bytes(const char *what, struct vcpu *vcpu, const u8 *b, size_t n)
{
	char hex[3 * X86_MAX_INSN_LEN + 1] = "";
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n && i < X86_MAX_INSN_LEN; i++) {
		hex[3 * i] = digits[b[i] >> 4];
		hex[3 * i + 1] = digits[b[i] & 15];
		hex[3 * i + 2] = ' ';
		hex[3 * i + 3] = 0;
	}
	log_guest_warn("%s at rip %lx (bytes: %s)", what, vcpu->regs.rip, hex);
}

/* A guest poking at memory that is not its own gets the empty bus; the
 * first few such accesses are logged, then one in 4096, so a hostile guest
 * cannot flood ferry's console. */
static bool stray_should_log(void)
{
	static u64 count;
	count++;
	if (count == 16)
		log_warn("further accesses outside guest memory logged 1 in 4096");
	return count < 16 || (count % 4096) == 0;
}

enum mmio_result mmio_emulate(struct vcpu *vcpu, const struct vm_exit *exit)
{
	struct vm *vm = vcpu->vm;
	gpa_t gpa = exit->npf.gpa;
	struct mmio_region *r = mmio_find(vm, gpa);
	u8 bytes[X86_MAX_INSN_LEN];
	size_t n;
	struct insn insn;

	if (exit->npf.fetch) {
		log_err("guest executed from %lx, which is not its memory (rip %lx)", gpa, vcpu->regs.rip);
		return MMIO_STOP;
	}
	if (exit->insn_nbytes) {
		n = exit->insn_nbytes;
		memcpy(bytes, exit->insn_bytes, n);
	} else {
		n = guest_read_virt(vcpu, vcpu->regs.rip, bytes, sizeof(bytes));
	}
	int rc = x86_decode(bytes, n, vcpu->regs.mode, &insn);
	if (rc != DECODE_OK) {
		if (n == 0)
			log_guest_warn("cannot fetch the instruction at rip %lx that accessed %lx", vcpu->regs.rip, gpa);
		else
			report_bytes(x86_decode_strerror(rc), vcpu, bytes, n);
		log_guest_warn("access to %lx (%s) not emulated: injecting #UD", gpa, r ? r->name : "no device");
		vm->arch->inject_exception(vcpu, VEC_UD, false, 0);
		return MMIO_INJECTED;
	}

	/* Outside any device (unmapped hole, ferry's own memory, a hidden
	 * device's BAR) the guest sees what an empty bus gives: reads of all
	 * ones, writes dropped. */
	if (insn.kind == INSN_STORE || insn.kind == INSN_STORE_IMM) {
		u64 v = x86_store_value(&insn, vcpu->regs.gpr);
		if (r)
			r->write(r->ctx, gpa - r->start, insn.mem_size, v);
		else if (stray_should_log())
			log_warn("guest wrote %u bytes to %lx, which is not its memory: dropped (rip %lx)",
				 insn.mem_size, gpa, vcpu->regs.rip);
	} else {
		u64 v = ~0ULL;
		if (r)
			v = r->read(r->ctx, gpa - r->start, insn.mem_size);
		else if (stray_should_log())
			log_warn("guest read %u bytes at %lx, which is not its memory: all ones (rip %lx)",
				 insn.mem_size, gpa, vcpu->regs.rip);
		if (insn.mem_size < 8)
			v &= (1ULL << (insn.mem_size * 8)) - 1;
		x86_apply_load(&insn, vcpu->regs.gpr, v);
	}
	vcpu->regs.rip += insn.len;
	return MMIO_DONE;
}
