/* Host tests for MMIO emulation (vm/mmio.c through mmio_emulate), with the
 * instruction fetched by vm/guest_mem.c from fake guest RAM, or taken from
 * the bytes a CPU with decode assists supplies.
 *
 * Guest RAM is a heap buffer registered in vm->ram.  ferry maps guest RAM
 * one to one (gmem_ptr is the identity), so the buffer's host addresses are
 * its guest-physical addresses, and the guest's page tables built in it
 * hold host addresses.  The vCPU runs in 64-bit mode with 4-level paging:
 *
 *   page 0 PML4, 1 PDPT, 2 PD, 3 PT (VA 0x400000-0x5FFFFF)
 *   VA 0x400000 -> page 4, VA 0x401000 -> page 6 (not page 5: a walk that
 *   ignored the tables would read the wrong bytes), VA 0x402000 unmapped.
 *
 * The fake device region sits at DEV_GPA, outside guest RAM, as a device
 * model's registered region does. */
#include <stdlib.h>
#include "check.h"
#include "fake_arch.h"
#include "fake_hv.h"
#include "vm/mmio.h"
#include "x86/cpu.h"
#include "x86/msr.h"

#define RAM_PAGES 8
#define PTE_P 0x1ULL
#define PTE_W 0x2ULL
#define CODE_VA 0x400000ULL  /* page 4 */
#define CODE2_VA 0x401000ULL /* page 6 */
#define HOLE_VA 0x402000ULL  /* not present in the PT */
#define DEV_GPA 0xFEB00000ULL
#define DEV_LEN 0x1000ULL
#define STRAY_GPA 0xE0000000ULL

static struct vm vm;
static struct vcpu *const vcpu = &vm.vcpu;
static u8 *ram;

static u8 *page(unsigned i) { return ram + i * PAGE_SIZE; }
static u64 gpa_of(unsigned i) { return (u64)(uintptr_t)page(i); }
static u64 *table(unsigned i) { return (u64 *)page(i); }

/* The fake device: remembers each access, answers reads with dev.value. */
static struct {
	unsigned reads, writes;
	u64 off, val, value;
	unsigned size;
	void *ctx;
} dev;

static u64 dev_read(void *ctx, u64 off, unsigned size)
{
	dev.ctx = ctx;
	dev.reads++;
	dev.off = off;
	dev.size = size;
	return dev.value;
}

static void dev_write(void *ctx, u64 off, unsigned size, u64 val)
{
	dev.ctx = ctx;
	dev.writes++;
	dev.off = off;
	dev.size = size;
	dev.val = val;
}

/* A fresh VM: guest RAM with its page tables, paging on, RIP at CODE_VA,
 * one device region, nothing logged. */
static void setup(void)
{
	if (!ram)
		ram = aligned_alloc(PAGE_SIZE, RAM_PAGES * PAGE_SIZE);
	memset(ram, 0, RAM_PAGES * PAGE_SIZE);
	fake_vm_init(&vm);
	fake_hv_reset();
	memset(&dev, 0, sizeof(dev));
	gmem_add(&vm.ram, gpa_of(0), gpa_of(RAM_PAGES));

	table(0)[0] = gpa_of(1) | PTE_P | PTE_W;
	table(1)[0] = gpa_of(2) | PTE_P | PTE_W;
	table(2)[2] = gpa_of(3) | PTE_P | PTE_W; /* 0x400000 >> 21 == 2 */
	table(3)[0] = gpa_of(4) | PTE_P;
	table(3)[1] = gpa_of(6) | PTE_P;

	struct vcpu_regs *r = &vcpu->regs;
	r->cr0 = CR0_PE | CR0_PG;
	r->cr4 = CR4_PAE;
	r->efer = EFER_LME | EFER_LMA;
	r->cr3 = gpa_of(0);
	r->rip = CODE_VA;

	struct mmio_region region = { "fakedev", DEV_GPA, DEV_LEN, dev_read, dev_write, &dev };
	mmio_register(&vm, &region);
}

/* Writes an instruction at guest-virtual va (CODE_VA or CODE2_VA pages). */
static void put_code(u64 va, const u8 *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		u64 v = va + i;
		unsigned pg = v - CODE_VA < PAGE_SIZE ? 4 : 6;
		page(pg)[v & (PAGE_SIZE - 1)] = bytes[i];
	}
}
#define CODE(va, ...) put_code(va, (const u8[]){ __VA_ARGS__ }, sizeof((u8[]){ __VA_ARGS__ }))

static struct vm_exit npf(gpa_t gpa, bool write)
{
	struct vm_exit e = { .reason = EXIT_NPF };
	e.npf.gpa = gpa;
	e.npf.write = write;
	return e;
}

TEST(load_32_fetched_by_walk)
{
	setup();
	CODE(CODE_VA, 0x8B, 0x03); /* mov eax, [rbx] */
	vcpu->regs.gpr[GPR_RAX] = ~0ULL;
	dev.value = 0x12345678;
	struct vm_exit e = npf(DEV_GPA + 0x10, false);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_DONE);
	CHECK_EQ(dev.reads, 1);
	CHECK_EQ(dev.writes, 0);
	CHECK_EQ(dev.off, 0x10);
	CHECK_EQ(dev.size, 4);
	CHECK(dev.ctx == &dev);
	CHECK_EQ(vcpu->regs.gpr[GPR_RAX], 0x12345678); /* a 32-bit load clears 63:32 */
	CHECK_EQ(vcpu->regs.rip, CODE_VA + 2);
	CHECK_EQ(fake_calls.injects, 0);
}

TEST(load_8_keeps_the_rest_of_the_register)
{
	setup();
	CODE(CODE_VA, 0x8A, 0x03); /* mov al, [rbx] */
	vcpu->regs.gpr[GPR_RAX] = 0x1111111111111111ULL;
	dev.value = 0xAABBCCDDEEFF22A5ULL; /* more than the byte asked for */
	struct vm_exit e = npf(DEV_GPA + 3, false);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_DONE);
	CHECK_EQ(dev.size, 1);
	CHECK_EQ(dev.off, 3);
	CHECK_EQ(vcpu->regs.gpr[GPR_RAX], 0x11111111111111A5ULL);
	CHECK_EQ(vcpu->regs.rip, CODE_VA + 2);
}

TEST(load_zero_extended)
{
	setup();
	CODE(CODE_VA, 0x0F, 0xB7, 0x4B, 0x02); /* movzx ecx, word [rbx+2] */
	vcpu->regs.gpr[GPR_RCX] = ~0ULL;
	dev.value = 0xFFFFFFFFFFFF8001ULL;
	struct vm_exit e = npf(DEV_GPA + 0x22, false);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_DONE);
	CHECK_EQ(dev.size, 2);
	CHECK_EQ(vcpu->regs.gpr[GPR_RCX], 0x8001);
	CHECK_EQ(vcpu->regs.rip, CODE_VA + 4);
}

TEST(store_16_fetched_by_walk)
{
	setup();
	CODE(CODE_VA, 0x66, 0x89, 0x4B, 0x08); /* mov [rbx+8], cx */
	vcpu->regs.gpr[GPR_RCX] = 0xDEADBEEFCAFE1234ULL;
	struct vm_exit e = npf(DEV_GPA + 8, true);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_DONE);
	CHECK_EQ(dev.writes, 1);
	CHECK_EQ(dev.reads, 0);
	CHECK_EQ(dev.off, 8);
	CHECK_EQ(dev.size, 2);
	CHECK_EQ(dev.val, 0x1234);
	CHECK(dev.ctx == &dev);
	CHECK_EQ(vcpu->regs.gpr[GPR_RCX], 0xDEADBEEFCAFE1234ULL);
	CHECK_EQ(vcpu->regs.rip, CODE_VA + 4);
}

TEST(store_imm_64)
{
	setup();
	CODE(CODE_VA, 0x48, 0xC7, 0x00, 0xF0, 0xFF, 0xFF, 0xFF); /* mov qword [rax], -16 */
	struct vm_exit e = npf(DEV_GPA + 0x100, true);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_DONE);
	CHECK_EQ(dev.size, 8);
	CHECK_EQ(dev.off, 0x100);
	CHECK_EQ(dev.val, 0xFFFFFFFFFFFFFFF0ULL);
	CHECK_EQ(vcpu->regs.rip, CODE_VA + 7);
}

/* An instruction across a page boundary: each page goes through the
 * tables (VA 0x401000 is page 6, not the page after page 4). */
TEST(insn_across_pages)
{
	setup();
	vcpu->regs.rip = CODE2_VA - 2;
	CODE(CODE2_VA - 2, 0x66, 0x89, 0x4B, 0x08); /* mov [rbx+8], cx */
	page(5)[0] = 0x90;                          /* what a flat read would see */
	page(5)[1] = 0x90;
	vcpu->regs.gpr[GPR_RCX] = 0x5678;
	struct vm_exit e = npf(DEV_GPA + 8, true);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_DONE);
	CHECK_EQ(dev.size, 2);
	CHECK_EQ(dev.off, 8);
	CHECK_EQ(dev.val, 0x5678);
	CHECK_EQ(vcpu->regs.rip, CODE2_VA + 2);
}

/* Decode assists: the CPU supplied the bytes (up to 15, more than the
 * instruction).  Nothing is fetched: RIP points at no mapped page. */
TEST(cpu_supplied_bytes_no_walk)
{
	setup();
	vcpu->regs.rip = HOLE_VA;
	vcpu->regs.gpr[GPR_RDX] = ~0ULL;
	dev.value = 0x0102030405060708ULL;
	struct vm_exit e = npf(DEV_GPA + 0x40, false);
	static const u8 insn[15] = { 0x48, 0x8B, 0x53, 0x40, /* mov rdx, [rbx+0x40] */
				     0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC };
	e.insn_nbytes = sizeof(insn);
	memcpy(e.insn_bytes, insn, sizeof(insn));
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_DONE);
	CHECK_EQ(dev.reads, 1);
	CHECK_EQ(dev.size, 8);
	CHECK_EQ(dev.off, 0x40);
	CHECK_EQ(vcpu->regs.gpr[GPR_RDX], 0x0102030405060708ULL);
	CHECK_EQ(vcpu->regs.rip, HOLE_VA + 4); /* the instruction, not the 15 bytes */
	CHECK_EQ(fake_calls.injects, 0);
}

/* The supplied bytes win over guest memory: RIP's page holds another
 * instruction. */
TEST(cpu_supplied_bytes_win_over_memory)
{
	setup();
	CODE(CODE_VA, 0x8A, 0x03); /* mov al, [rbx]: a 1-byte load */
	struct vm_exit e = npf(DEV_GPA, true);
	static const u8 insn[] = { 0x89, 0x03 }; /* mov [rbx], eax */
	e.insn_nbytes = sizeof(insn);
	memcpy(e.insn_bytes, insn, sizeof(insn));
	vcpu->regs.gpr[GPR_RAX] = 0xCAFEF00D;
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_DONE);
	CHECK_EQ(dev.writes, 1);
	CHECK_EQ(dev.reads, 0);
	CHECK_EQ(dev.size, 4);
	CHECK_EQ(dev.val, 0xCAFEF00D);
	CHECK_EQ(vcpu->regs.rip, CODE_VA + 2);
}

TEST(region_bounds)
{
	setup();
	CODE(CODE_VA, 0x8B, 0x03); /* mov eax, [rbx] */
	dev.value = 7;
	struct vm_exit e = npf(DEV_GPA + DEV_LEN - 4, false);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_DONE);
	CHECK_EQ(dev.reads, 1);
	CHECK_EQ(dev.off, DEV_LEN - 4);
	CHECK(mmio_find(&vm, DEV_GPA) != NULL);
	CHECK(mmio_find(&vm, DEV_GPA + DEV_LEN - 1) != NULL);
	CHECK(mmio_find(&vm, DEV_GPA + DEV_LEN) == NULL);
	CHECK(mmio_find(&vm, DEV_GPA - 1) == NULL);
}

TEST(register_table_full)
{
	setup(); /* one region already */
	struct mmio_region r = { "more", 0x10000000, 0x1000, dev_read, dev_write, &dev };
	for (unsigned i = 1; i < VM_MAX_MMIO; i++) {
		r.start += 0x1000;
		CHECK_EQ(mmio_register(&vm, &r), 0);
	}
	CHECK_EQ(mmio_register(&vm, &r), -E_NOSPC);
	CHECK_EQ(vm.nmmio, VM_MAX_MMIO);
}

TEST(overlapping_or_empty_regions_refused)
{
	setup(); /* DEV_GPA + DEV_LEN registered */
	struct mmio_region r = { "other", DEV_GPA + DEV_LEN - 4, 8, dev_read, dev_write, &dev };
	CHECK_EQ(mmio_register(&vm, &r), -E_EXIST);
	r.start = DEV_GPA - 4;
	CHECK_EQ(mmio_register(&vm, &r), -E_EXIST);
	r.start = DEV_GPA - 4096;
	r.len = 3 * 4096; /* covers the device entirely */
	CHECK_EQ(mmio_register(&vm, &r), -E_EXIST);
	r.len = 0;
	CHECK_EQ(mmio_register(&vm, &r), -E_INVAL);
	r.start = ~0ULL - 100;
	r.len = 4096; /* wraps */
	CHECK_EQ(mmio_register(&vm, &r), -E_INVAL);
	r.start = DEV_GPA + DEV_LEN; /* touching is not overlapping */
	r.len = 4096;
	CHECK_EQ(mmio_register(&vm, &r), 0);
	CHECK_EQ(vm.nmmio, 2);
}

TEST(unregister_and_register_elsewhere)
{
	setup();
	struct mmio_region r = { "second", 0x20000000, 0x4000, dev_read, dev_write, &dev };
	CHECK_EQ(mmio_register(&vm, &r), 0);
	CHECK_EQ(mmio_unregister(&vm, DEV_GPA + 4), -E_NOENT); /* by start only */
	CHECK_EQ(mmio_unregister(&vm, DEV_GPA), 0);
	CHECK(mmio_find(&vm, DEV_GPA) == NULL);
	CHECK(mmio_find(&vm, 0x20003FFF) != NULL);
	CHECK_EQ(mmio_unregister(&vm, DEV_GPA), -E_NOENT);
	r.start = DEV_GPA; /* the freed range can be taken again */
	CHECK_EQ(mmio_register(&vm, &r), 0);
	CHECK_EQ(vm.nmmio, 2);
}

/* A device whose register write moves its own region (a BAR written
 * through an ECAM window is one): the access completes, the next one at
 * the old address is stray. */
static void moving_write(void *ctx, u64 off, unsigned size, u64 val)
{
	struct mmio_region r = vm.mmio[0];
	dev_write(ctx, off, size, val);
	mmio_unregister(&vm, r.start);
	r.start = 0x30000000;
	mmio_register(&vm, &r);
}

TEST(handler_may_move_its_own_region)
{
	setup();
	vm.mmio[0].write = moving_write;
	CODE(CODE_VA, 0x89, 0x03); /* mov [rbx], eax */
	vcpu->regs.gpr[GPR_RAX] = 0x55;
	struct vm_exit e = npf(DEV_GPA + 8, true);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_DONE);
	CHECK_EQ(dev.val, 0x55);
	CHECK_EQ(vcpu->regs.rip, CODE_VA + 2);
	CHECK(mmio_find(&vm, DEV_GPA) == NULL);
	CHECK(mmio_find(&vm, 0x30000008) != NULL);
}

/* Outside every region: reads are all ones, with a warning. */
TEST(stray_read_all_ones)
{
	setup();
	CODE(CODE_VA, 0x8B, 0x03); /* mov eax, [rbx] */
	vcpu->regs.gpr[GPR_RAX] = 0x1111111122222222ULL;
	struct vm_exit e = npf(STRAY_GPA, false);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_DONE);
	CHECK_EQ(dev.reads + dev.writes, 0);
	CHECK_EQ(vcpu->regs.gpr[GPR_RAX], 0xFFFFFFFFULL);
	CHECK_EQ(vcpu->regs.rip, CODE_VA + 2);
	CHECK_EQ(fake_log_by_level[LOG_WARN], 1);
	CHECK(strstr(fake_log_last, "read 4 bytes at e0000000") != NULL);
	CHECK(strstr(fake_log_last, "all ones") != NULL);
}

TEST(stray_write_dropped)
{
	setup();
	CODE(CODE_VA, 0x89, 0x03); /* mov [rbx], eax */
	vcpu->regs.gpr[GPR_RAX] = 0xABCD;
	struct vm_exit e = npf(DEV_GPA + DEV_LEN, true); /* just past the region */
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_DONE);
	CHECK_EQ(dev.reads + dev.writes, 0);
	CHECK_EQ(vcpu->regs.rip, CODE_VA + 2);
	CHECK_EQ(fake_calls.injects, 0);
	CHECK_EQ(fake_log_by_level[LOG_WARN], 1);
	CHECK(strstr(fake_log_last, "wrote 4 bytes to feb01000") != NULL);
	CHECK(strstr(fake_log_last, "dropped") != NULL);
}

/* Executing from memory that is not the guest's stops the guest. */
TEST(fetch_stops)
{
	setup();
	struct vm_exit e = npf(STRAY_GPA, false);
	e.npf.fetch = true;
	vcpu->regs.rip = STRAY_GPA;
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_STOP);
	CHECK_EQ(vcpu->regs.rip, STRAY_GPA);
	CHECK_EQ(fake_calls.injects, 0);
	CHECK_EQ(dev.reads + dev.writes, 0);
	CHECK_EQ(fake_log_by_level[LOG_ERR], 1);
	CHECK(strstr(fake_log_last, "executed from e0000000") != NULL);
}

/* So does a fetch from a device region. */
TEST(fetch_from_region_stops)
{
	setup();
	struct vm_exit e = npf(DEV_GPA, false);
	e.npf.fetch = true;
	vcpu->regs.rip = DEV_GPA;
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_STOP);
	CHECK_EQ(dev.reads + dev.writes, 0);
}

/* The checks of an access whose instruction could not be had: #UD, RIP
 * and the device untouched. */
#define CHECK_UD_INJECTED(at)                          \
	do {                                           \
		CHECK_EQ(fake_calls.injects, 1);       \
		CHECK_EQ(fake_calls.vector, VEC_UD);   \
		CHECK(!fake_calls.has_error);          \
		CHECK_EQ(vcpu->regs.rip, (at));        \
		CHECK_EQ(dev.reads + dev.writes, 0);   \
	} while (0)

TEST(walk_not_present)
{
	setup();
	vcpu->regs.rip = HOLE_VA;
	struct vm_exit e = npf(DEV_GPA, false);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_INJECTED);
	CHECK_UD_INJECTED(HOLE_VA);
	CHECK(fake_log_by_level[LOG_WARN] >= 1);
	CHECK(strstr(fake_log_last, "fakedev") != NULL); /* names the device */
}

/* A page-table pointer outside guest RAM is never followed. */
TEST(walk_table_outside_ram)
{
	setup();
	table(1)[0] = 0x1000 | PTE_P | PTE_W; /* the PD "is" at 0x1000, not guest RAM */
	struct vm_exit e = npf(DEV_GPA, false);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_INJECTED);
	CHECK_UD_INJECTED(CODE_VA);
}

TEST(walk_leaf_outside_ram)
{
	setup();
	table(3)[0] = 0x2000 | PTE_P; /* the code page is not guest RAM */
	struct vm_exit e = npf(DEV_GPA, true);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_INJECTED);
	CHECK_UD_INJECTED(CODE_VA);
}

/* The instruction runs into an unmapped page: truncated, refused. */
TEST(walk_insn_cut_short)
{
	setup();
	vcpu->regs.rip = HOLE_VA - 3;
	CODE(HOLE_VA - 3, 0x66, 0x89, 0x4B); /* mov [rbx+8], cx without its disp8 */
	struct vm_exit e = npf(DEV_GPA + 8, true);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_INJECTED);
	CHECK_UD_INJECTED(HOLE_VA - 3);
}

/* A valid instruction the emulator does not do (a read-modify-write). */
TEST(unsupported_insn)
{
	setup();
	CODE(CODE_VA, 0x01, 0x03); /* add [rbx], eax */
	struct vm_exit e = npf(DEV_GPA, true);
	CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_INJECTED);
	CHECK_UD_INJECTED(CODE_VA);
	CHECK(fake_log_by_level[LOG_WARN] >= 2); /* the bytes, then the access */
}

/* A guest hammering holes cannot flood the log: the first accesses are
 * logged, then one in 4096.  Runs last (the limiter counts for the whole
 * run, earlier tests included). */
TEST(stray_log_rate_limited)
{
	setup();
	CODE(CODE_VA, 0x89, 0x03); /* mov [rbx], eax */
	for (unsigned i = 0; i < 10000; i++) {
		vcpu->regs.rip = CODE_VA;
		struct vm_exit e = npf(STRAY_GPA + 4 * i, true);
		CHECK_EQ(mmio_emulate(vcpu, &e), MMIO_DONE);
	}
	CHECK(fake_log_by_level[LOG_WARN] >= 3); /* the notice and two 1-in-4096 lines */
	CHECK(fake_log_by_level[LOG_WARN] <= 16 + 3);
}

int main(void)
{
	RUN(load_32_fetched_by_walk);
	RUN(load_8_keeps_the_rest_of_the_register);
	RUN(load_zero_extended);
	RUN(store_16_fetched_by_walk);
	RUN(store_imm_64);
	RUN(insn_across_pages);
	RUN(cpu_supplied_bytes_no_walk);
	RUN(cpu_supplied_bytes_win_over_memory);
	RUN(region_bounds);
	RUN(register_table_full);
	RUN(overlapping_or_empty_regions_refused);
	RUN(unregister_and_register_elsewhere);
	RUN(handler_may_move_its_own_region);
	RUN(stray_read_all_ones);
	RUN(stray_write_dropped);
	RUN(fetch_stops);
	RUN(fetch_from_region_stops);
	RUN(walk_not_present);
	RUN(walk_table_outside_ram);
	RUN(walk_leaf_outside_ram);
	RUN(walk_insn_cut_short);
	RUN(unsupported_insn);
	RUN(stray_log_rate_limited);
	free(ram);
	return CHECK_SUMMARY();
}
