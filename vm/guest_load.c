/* Loading the guest kernel (a multiboot module) into guest RAM and
 * building what it needs to start in long mode: a GDT, identity page
 * tables for the first 4 GiB, the boot information and its command line,
 * all inside FERRY_BOOT_AREA (guest_abi.h).  The kernel is ferry's own
 * guest OS (an ELF64 file entered with struct ferry_boot_info) or Linux
 * (a bzImage or its vmlinux, entered by the 64-bit boot protocol with
 * boot_params; vm/linux_boot.h). */
#include "guest_load.h"
#include "guest_mods.h"
#include "linux_boot.h"
#include "vm_create.h"
#include "platform/acpi.h"
#include "platform/config.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "lib/elf.h"
#include "lib/fmt.h"
#include "lib/guest_abi.h"
#include "lib/string.h"
#include "x86/cpu.h"
#include "x86/msr.h"

/* Layout inside the boot area. */
#define BOOT_GDT 0x1000
#define BOOT_PML4 0x2000
#define BOOT_PDPT 0x3000
#define BOOT_PD 0x4000 /* four pages */
#define BOOT_INFO 0x8000    /* struct ferry_boot_info, or Linux's boot_params */
#define BOOT_CMDLINE 0x9000 /* up to FERRY_BOOT_CMDLINE_MAX + 1 bytes */
#define BOOT_RSDP 0xC000    /* Linux: a copy of the ACPI RSDP the loader gave */
/* The stack grows down from FERRY_BOOT_STACK_TOP to 0xC100. */
_Static_assert(BOOT_CMDLINE + FERRY_BOOT_CMDLINE_MAX + 1 <= BOOT_RSDP, "command line fits below the RSDP");
_Static_assert(BOOT_INFO + sizeof(struct linux_boot_params) <= BOOT_CMDLINE, "boot_params fit below the command line");
_Static_assert(BOOT_GDT >= FERRY_BOOT_AREA_START && BOOT_RSDP + sizeof(acpi.rsdp) <= 0xC100,
	       "the boot structures lie in the boot area, clear of the stack");
#define BOOT_GDT_ENTRIES 4 /* null, two code, data: build_boot_area */

/* The boot area is checked to be guest RAM once, by guest_load, and
 * written only through the pointer gmem_ptr gave then: area is that
 * pointer, gpa one of the BOOT_* addresses inside the area. */
static void *boot_at(u8 *area, gpa_t gpa) { return area + (gpa - FERRY_BOOT_AREA_START); }

static bool overlaps(u64 a, u64 alen, u64 b, u64 blen) { return a < b + blen && b < a + alen; }

static int load_elf(const struct gmem *ram, const struct boot_module *mod, u64 *entry)
{
	const u8 *img = phys_to_virt(mod->start);
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

/* The module's string is the guest's command line; QEMU's loader (and
 * GRUB's, for some) puts the file name first, which we drop: a first word
 * ending in ".elf", or one with a '/' and no '=' (no kernel parameter
 * looks like that). */
static const char *module_cmdline(const char *s)
{
	const char *sp = strchr(s, ' ');
	size_t first = sp ? (size_t)(sp - s) : strlen(s);
	bool slash = false, equals = false;
	for (size_t i = 0; i < first; i++)
		slash |= s[i] == '/', equals |= s[i] == '=';
	if ((first >= 4 && !strncmp(s + first - 4, ".elf", 4)) || (slash && !equals))
		return sp ? sp + 1 : "";
	return s;
}

/* The boot area's GDT and the identity map of the first 4 GiB (2 MiB
 * pages), shared by both kinds of guest. */
static void build_boot_area(u8 *area)
{
	memset(area, 0, FERRY_BOOT_AREA_END - FERRY_BOOT_AREA_START);

	u64 *gdt = boot_at(area, BOOT_GDT);
	gdt[1] = 0x00AF9A000000FFFFULL; /* 0x08: 64-bit code, ferry's guest (its IDT names 0x08) */
	gdt[2] = 0x00AF9A000000FFFFULL; /* 0x10: 64-bit code, Linux (__BOOT_CS) */
	gdt[3] = 0x00CF92000000FFFFULL; /* 0x18: data, both (__BOOT_DS) */
	u64 *pml4 = boot_at(area, BOOT_PML4), *pdpt = boot_at(area, BOOT_PDPT);
	u64 *pd = boot_at(area, BOOT_PD);
	pml4[0] = BOOT_PDPT | 3;
	for (u64 i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD + i * PAGE_SIZE) | 3;
	for (u64 i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
}

static struct vcpu_boot_state long_mode_state(u64 entry, u16 code_sel, u16 data_sel)
{
	return (struct vcpu_boot_state){
		.rip = entry,
		.rsp = FERRY_BOOT_STACK_TOP,
		.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG,
		.cr3 = BOOT_PML4,
		.cr4 = CR4_PAE,
		.efer = EFER_LME | EFER_LMA | EFER_NXE,
		.gdt_base = BOOT_GDT,
		.gdt_limit = BOOT_GDT_ENTRIES * 8 - 1,
		.code_sel = code_sel,
		.data_sel = data_sel,
	};
}

/* The guest's command line: guest_cmds from the configuration, else the
 * kernel module's string: after its name when the configuration named it
 * (the stick's loaders give the name alone), else as module_cmdline
 * takes it. */
static const char *guest_cmdline(const struct guest_mods *g)
{
	if (config.have_guest_cmds)
		return config.guest_cmds;
	return g->by_name ? guest_mod_args(g->kernel->cmdline) : module_cmdline(g->kernel->cmdline);
}

/* Copies cmd, with extra appended, to the boot area. */
static int copy_cmdline(u8 *area, const char *cmd, const char *extra, size_t max, u32 *len)
{
	size_t clen = strlen(cmd), elen = strlen(extra);
	if (clen + elen > max) {
		log_err("guest: command line of %zu bytes exceeds %zu", clen + elen, max);
		return -E_RANGE;
	}
	char *dst = boot_at(area, BOOT_CMDLINE);
	memcpy(dst, cmd, clen);
	memcpy(dst + clen, extra, elen + 1);
	*len = (u32)(clen + elen);
	return 0;
}

/* Linux runs on one CPU (the others are ferry's, parked, and the APIC
 * guard drops the IPIs that would start them): unless the command line
 * says how many itself, ferry tells Linux, which would otherwise wait for
 * each CPU the MADT lists to come up. */
static bool has_param(const char *cmd, const char *name)
{
	size_t n = strlen(name);
	for (const char *w = cmd; *w; w++)
		if ((w == cmd || w[-1] == ' ') && !strncmp(w, name, n))
			return true;
	return false;
}

static const char *linux_cpu_param(const char *cmd)
{
	if (has_param(cmd, "nr_cpus=") || has_param(cmd, "maxcpus="))
		return "";
	return *cmd ? " nr_cpus=1" : "nr_cpus=1";
}

static int load_ferry_guest(const struct gmem *ram, u8 *area, const struct guest_mods *g,
			    struct vcpu_boot_state *bs)
{
	u64 entry;
	int rc = load_elf(ram, g->kernel, &entry);
	if (rc < 0)
		return rc;
	build_boot_area(area);
	u32 clen;
	if ((rc = copy_cmdline(area, guest_cmdline(g), "", FERRY_BOOT_CMDLINE_MAX, &clen)) < 0)
		return rc;

	struct ferry_boot_info *info = boot_at(area, BOOT_INFO);
	info->magic = FERRY_BOOT_MAGIC;
	info->version = 1;
	info->cmdline_gpa = BOOT_CMDLINE;
	info->cmdline_len = clen;
	for (unsigned i = 0; i < ram->n && info->nmem < FERRY_BOOT_MAX_MEM; i++) {
		info->mem[info->nmem++] = (struct ferry_boot_mem){ ram->r[i].start, ram->r[i].end - ram->r[i].start };
	}
	if (ram->n > FERRY_BOOT_MAX_MEM)
		log_warn("guest: %u RAM ranges, only the first %u reported to the guest", ram->n, FERRY_BOOT_MAX_MEM);

	*bs = long_mode_state(entry, 0x08, 0x18);
	bs->rdi = BOOT_INFO;
	log_info("guest: kernel entry %lx, command line \"%s\"", entry,
		 (const char *)boot_at(area, BOOT_CMDLINE));
	return 0;
}

/* Copies the kernel to kernel, the checked pointer to [load, load + span):
 * a bzImage's protected-mode code as it is, a vmlinux segment by segment,
 * each moved by load - elf_base. */
static void copy_linux(const struct linux_image *li, u8 *kernel)
{
	if (li->kind == GUEST_LINUX_BZIMAGE) {
		memcpy(kernel, li->file, li->file_size);
		return;
	}
	const struct elf64_ehdr *eh = (const void *)li->file;
	const struct elf64_phdr *ph = (const void *)(li->file + eh->phoff);
	for (unsigned i = 0; i < eh->phnum; i++) {
		if (ph[i].type != PT_LOAD || !ph[i].memsz)
			continue;
		u8 *dst = kernel + (ph[i].paddr - li->elf_base);
		memcpy(dst, li->file + ph[i].offset, ph[i].filesz);
		memset(dst + ph[i].filesz, 0, ph[i].memsz - ph[i].filesz);
	}
}

static int load_linux(const struct vm *vm, u8 *area, const struct boot_info *bi, const struct guest_mods *g,
		      enum guest_kind kind, struct vcpu_boot_state *bs)
{
	const struct gmem *ram = &vm->ram;
	const struct boot_module *mod = g->kernel, *initrd = g->initrd;
	struct linux_image li;
	int rc = linux_parse(phys_to_virt(mod->start), mod->end - mod->start, kind, &li);
	if (rc < 0)
		return rc;

	/* The kernel goes clear of the first MiB, of its own module and of
	 * the initrd, which stays where the loader put it.  The other modules
	 * are zeroed guest RAM by now. */
	struct mem_range avoid[3] = { { 0, MiB, 0 }, { mod->start, mod->end - mod->start, 0 } };
	unsigned navoid = 2;
	if (initrd)
		avoid[navoid++] = (struct mem_range){ initrd->start, initrd->end - initrd->start, 0 };
	u64 load = linux_place(&li, ram, avoid, navoid);
	u8 *kernel = load ? gmem_ptr(ram, load, li.span) : NULL;
	if (!kernel) {
		log_err("guest: no room for the kernel: it needs %lu MiB of guest RAM below 4 GiB%s, clear of the "
			"modules", li.span / MiB, li.align ? "" : " at its fixed address");
		return -E_NOMEM;
	}
	if (initrd && gmem_check(ram, initrd->start, initrd->end - initrd->start) < 0) {
		log_err("guest: the initrd at %lx-%lx is not in guest RAM", initrd->start, initrd->end);
		return -E_RANGE;
	}
	copy_linux(&li, kernel);
	build_boot_area(area);
	u32 clen;
	const char *cmd = guest_cmdline(g);
	if ((rc = copy_cmdline(area, cmd, linux_cpu_param(cmd), li.hdr.cmdline_size, &clen)) < 0)
		return rc;

	static struct linux_e820 e820[LINUX_E820_MAX];
	/* The logical device's page and the rest of its half of the window
	 * (virtio-blk's BARs are in the other half, vm_create.h): a BAR
	 * that Linux moves must not land there and decode nothing. */
	struct mem_range dev = { vm->lbd_gpa, vm->lbd_gpa ? LBD_GPA_SPAN / 2 : 0, MEM_RESERVED };
	int ne820 = linux_e820(bi, ram, dev, e820, LINUX_E820_MAX);
	if (ne820 < 0) {
		log_err("guest: more than %u memory map entries for Linux", LINUX_E820_MAX);
		return ne820;
	}
	u64 rsdp = 0;
	if (acpi.rsdp_len) {
		memcpy(boot_at(area, BOOT_RSDP), acpi.rsdp, acpi.rsdp_len);
		rsdp = BOOT_RSDP;
	}
	struct linux_boot_args args = {
		.load = load, .cmdline_gpa = BOOT_CMDLINE, .cmdline_len = clen,
		.initrd_gpa = initrd ? initrd->start : 0, .initrd_size = initrd ? initrd->end - initrd->start : 0,
		.rsdp_gpa = rsdp, .e820 = e820, .ne820 = (unsigned)ne820,
	};
	if ((rc = linux_boot_params(boot_at(area, BOOT_INFO), &li, &args)) < 0)
		return rc;

	*bs = long_mode_state(load + li.entry_offset, 0x10, 0x18);
	bs->rsi = BOOT_INFO;
	log_info("guest: Linux %s (boot protocol %x) at %lx-%lx, entry %lx%s", kind == GUEST_LINUX_BZIMAGE ?
		 "bzImage" : "vmlinux", li.hdr.version, load, load + li.span, load + li.entry_offset,
		 initrd ? "" : ", no initrd");
	if (initrd)
		log_info("guest: initrd %lx-%lx (%lu KiB)", initrd->start, initrd->end, (initrd->end - initrd->start) / KiB);
	log_info("guest: kernel command line \"%s\"", (const char *)boot_at(area, BOOT_CMDLINE));
	return 0;
}

/* Zeroes the guest's RAM except the first page (the real-mode IVT and the
 * BIOS data area, which Linux reads) and the modules the guest is given.
 * What loaders and firmware leave behind in memory that is now the
 * guest's (ferry.cfg in GRUB's or the UEFI FAT driver's buffers, command
 * lines with key=, the stick's files the configuration did not name, a
 * second configuration file among them) must not reach it, and ferry
 * cannot know every place: so nothing the guest was not given survives. */
static void scrub_guest_ram(const struct gmem *ram, const struct boot_info *bi, const struct guest_mods *g)
{
	for (unsigned i = 0; i < ram->n; i++) {
		u64 at = MAX(ram->r[i].start, (u64)PAGE_SIZE), end = ram->r[i].end;
		while (at < end) {
			/* The next kept module in [at, end), if any. */
			u64 keep_s = end, keep_e = end;
			for (unsigned m = 0; m < bi->nmods; m++) {
				const struct boot_module *mod = &bi->mods[m];
				if (!guest_mods_given(g, mod) || mod->end <= at || mod->start >= keep_s)
					continue;
				keep_s = MAX(mod->start, at);
				keep_e = mod->end;
			}
			if (keep_s > at)
				memset(gmem_ptr(ram, at, keep_s - at), 0, keep_s - at);
			at = MIN(MAX(keep_e, keep_s), end);
		}
	}
}

static size_t add_module_name(char *line, size_t n, size_t size, const char *sep, const char *what,
			      const struct boot_module *m)
{
	const char *name;
	size_t len = guest_mod_name(m->cmdline, &name);
	if (!len) {
		name = "(no name)";
		len = 9;
	}
	if (n >= size)
		return n;
	return n + (size_t)fmt_snprintf(line + n, size - n, "%s%s%.*s (%lu KiB)", sep, what, (int)len,
					name, (m->end - m->start + KiB - 1) / KiB);
}

/* One line: which module is the kernel, which the initrd, and which are
 * not the guest's (zeroed with the rest of its RAM). */
static void log_modules(const struct boot_info *bi, const struct guest_mods *g)
{
	char line[400];
	size_t n = add_module_name(line, 0, sizeof(line), "", "kernel ", g->kernel);
	if (g->initrd)
		n = add_module_name(line, n, sizeof(line), ", ", "initrd ", g->initrd);
	const char *sep = "; not the guest's, zeroed: ";
	for (unsigned i = 0; i < bi->nmods; i++) {
		const struct boot_module *m = &bi->mods[i];
		if (config_is_file_module(m->cmdline) || guest_mods_given(g, m))
			continue;
		n = add_module_name(line, n, sizeof(line), sep, "", m);
		sep = ", ";
	}
	log_info("guest: modules: %s", line);
}

int guest_load(struct vm *vm, const struct boot_info *bi, struct vcpu_boot_state *bs)
{
	struct guest_mods g;
	int rc = guest_mods_pick(bi, config.kernel, config.initrd, &g);
	if (rc < 0)
		return rc;
	u8 *area = gmem_ptr(&vm->ram, FERRY_BOOT_AREA_START, FERRY_BOOT_AREA_END - FERRY_BOOT_AREA_START);
	if (!area) {
		log_err("guest: the boot area %x-%x is not guest RAM", FERRY_BOOT_AREA_START, FERRY_BOOT_AREA_END);
		return -E_RANGE;
	}
	enum guest_kind kind;
	if ((rc = guest_kind_of(phys_to_virt(g.kernel->start), g.kernel->end - g.kernel->start, &kind)) < 0)
		return rc;
	if (kind == GUEST_FERRY_ELF && g.initrd) {
		if (config.initrd[0])
			log_warn("guest: initrd = %s is for a Linux kernel; ferry's own guest takes none", config.initrd);
		g.initrd = NULL;
	}
	log_modules(bi, &g);
	scrub_guest_ram(&vm->ram, bi, &g);
	if (kind == GUEST_FERRY_ELF)
		return load_ferry_guest(&vm->ram, area, &g, bs);
	return load_linux(vm, area, bi, &g, kind, bs);
}
