/* Loading the guest kernel (an ELF64 multiboot module) into guest RAM and
 * building what it needs to start in long mode: a GDT, identity page
 * tables for the first 4 GiB, the boot information and its command line,
 * all inside FERRY_BOOT_AREA (guest_abi.h). */
#include "guest_load.h"
#include "platform/config.h"
#include "platform/console.h"
#include "lib/guest_abi.h"
#include "lib/string.h"
#include "x86/cpu.h"
#include "x86/msr.h"

struct elf64_ehdr {
	u8 ident[16];
	u16 type, machine;
	u32 version;
	u64 entry, phoff, shoff;
	u32 flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
} __packed;

struct elf64_phdr {
	u32 type, flags;
	u64 offset, vaddr, paddr, filesz, memsz, align;
} __packed;

#define PT_LOAD 1
#define EM_X86_64 62

/* Layout inside the boot area. */
#define BOOT_GDT 0x1000
#define BOOT_PML4 0x2000
#define BOOT_PDPT 0x3000
#define BOOT_PD 0x4000 /* four pages */
#define BOOT_INFO 0x8000
#define BOOT_CMDLINE 0x9000 /* up to FERRY_BOOT_CMDLINE_MAX + 1 bytes */
_Static_assert(BOOT_CMDLINE + FERRY_BOOT_CMDLINE_MAX + 1 <= 0xC000, "command line fits below the stack");

static bool overlaps(u64 a, u64 alen, u64 b, u64 blen) { return a < b + blen && b < a + alen; }

static int load_elf(const struct gmem *ram, const struct boot_module *mod, u64 *entry)
{
	const u8 *img = (const u8 *)(uintptr_t)mod->start;
	u64 size = mod->end - mod->start;
	const struct elf64_ehdr *eh = (const void *)img;

	if (size < sizeof(*eh) || memcmp(eh->ident, "\x7f" "ELF", 4) || eh->ident[4] != 2 || eh->machine != EM_X86_64) {
		log_err("guest: the module is not an x86-64 ELF file");
		return -E_INVAL;
	}
	if (eh->phentsize != sizeof(struct elf64_phdr) || eh->phoff > size ||
	    (u64)eh->phnum * sizeof(struct elf64_phdr) > size - eh->phoff) {
		log_err("guest: ELF program headers out of bounds");
		return -E_INVAL;
	}
	const struct elf64_phdr *ph = (const void *)(img + eh->phoff);
	for (unsigned i = 0; i < eh->phnum; i++) {
		const struct elf64_phdr *p = &ph[i];
		if (p->type != PT_LOAD || p->memsz == 0)
			continue;
		if (p->filesz > p->memsz || p->offset > size || p->filesz > size - p->offset) {
			log_err("guest: ELF segment %u lies outside the file", i);
			return -E_INVAL;
		}
		void *dst = gmem_ptr(ram, p->paddr, p->memsz);
		if (!dst) {
			log_err("guest: segment %u at %lx-%lx is not in guest RAM", i, p->paddr, p->paddr + p->memsz);
			return -E_RANGE;
		}
		if (overlaps(p->paddr, p->memsz, mod->start, size) ||
		    overlaps(p->paddr, p->memsz, FERRY_BOOT_AREA_START, FERRY_BOOT_AREA_END - FERRY_BOOT_AREA_START)) {
			log_err("guest: segment %u at %lx-%lx overlaps the module or the boot area", i, p->paddr,
				p->paddr + p->memsz);
			return -E_RANGE;
		}
		memcpy(dst, img + p->offset, p->filesz);
		memset((u8 *)dst + p->filesz, 0, p->memsz - p->filesz);
	}
	*entry = eh->entry;
	return 0;
}

/* The module's string is the guest's command line; QEMU's loader puts the
 * file name first, which we drop. */
static const char *guest_cmdline(const char *s)
{
	const char *sp = strchr(s, ' ');
	size_t first = sp ? (size_t)(sp - s) : strlen(s);
	if (first >= 4 && !strncmp(s + first - 4, ".elf", 4))
		return sp ? sp + 1 : "";
	return s;
}

int guest_load(struct vm *vm, const struct boot_info *bi, struct vcpu_boot_state *bs)
{
	const struct gmem *ram = &vm->ram;
	u64 entry;

	/* The guest kernel is the first module that is not the configuration
	 * file. */
	const struct boot_module *mod = NULL;
	for (unsigned i = 0; i < bi->nmods && !mod; i++)
		if (!config_is_file_module(bi->mods[i].cmdline))
			mod = &bi->mods[i];
	if (!mod) {
		log_err("guest: no guest kernel was loaded (give it to the loader as a module)");
		return -E_NOENT;
	}
	if (gmem_check(ram, FERRY_BOOT_AREA_START, FERRY_BOOT_AREA_END - FERRY_BOOT_AREA_START) < 0) {
		log_err("guest: the boot area %x-%x is not guest RAM", FERRY_BOOT_AREA_START, FERRY_BOOT_AREA_END);
		return -E_RANGE;
	}
	int rc = load_elf(ram, mod, &entry);
	if (rc < 0)
		return rc;

	u8 *area = (u8 *)(uintptr_t)FERRY_BOOT_AREA_START;
	memset(area, 0, FERRY_BOOT_AREA_END - FERRY_BOOT_AREA_START);

	u64 *gdt = (u64 *)(uintptr_t)BOOT_GDT;
	gdt[1] = 0x00AF9A000000FFFFULL; /* 0x08: 64-bit code */
	gdt[2] = 0x00CF92000000FFFFULL; /* 0x10: data */

	u64 *pml4 = (u64 *)(uintptr_t)BOOT_PML4, *pdpt = (u64 *)(uintptr_t)BOOT_PDPT;
	u64 *pd = (u64 *)(uintptr_t)BOOT_PD;
	pml4[0] = BOOT_PDPT | 3;
	for (u64 i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD + i * PAGE_SIZE) | 3;
	for (u64 i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */

	/* guest_cmds from the configuration replaces the module's string. */
	const char *cmd = config.have_guest_cmds ? config.guest_cmds : guest_cmdline(mod->cmdline);
	size_t clen = strlen(cmd);
	if (clen > FERRY_BOOT_CMDLINE_MAX) {
		log_err("guest: command line of %zu bytes exceeds %u", clen, FERRY_BOOT_CMDLINE_MAX);
		return -E_RANGE;
	}
	memcpy((char *)(uintptr_t)BOOT_CMDLINE, cmd, clen + 1);

	struct ferry_boot_info *info = (struct ferry_boot_info *)(uintptr_t)BOOT_INFO;
	info->magic = FERRY_BOOT_MAGIC;
	info->version = 1;
	info->cmdline_gpa = BOOT_CMDLINE;
	info->cmdline_len = (u32)clen;
	for (unsigned i = 0; i < ram->n && info->nmem < FERRY_BOOT_MAX_MEM; i++) {
		info->mem[info->nmem++] = (struct ferry_boot_mem){ ram->r[i].start, ram->r[i].end - ram->r[i].start };
	}
	if (ram->n > FERRY_BOOT_MAX_MEM)
		log_warn("guest: %u RAM ranges, only the first %u reported to the guest", ram->n, FERRY_BOOT_MAX_MEM);

	*bs = (struct vcpu_boot_state){
		.rip = entry,
		.rsp = FERRY_BOOT_STACK_TOP,
		.rdi = BOOT_INFO,
		.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG,
		.cr3 = BOOT_PML4,
		.cr4 = CR4_PAE,
		.efer = EFER_LME | EFER_LMA | EFER_NXE,
		.gdt_base = BOOT_GDT,
		.gdt_limit = 3 * 8 - 1,
		.code_sel = 0x08,
		.data_sel = 0x10,
	};
	log_info("guest: kernel entry %lx, command line \"%s\"", entry, cmd);
	return 0;
}
