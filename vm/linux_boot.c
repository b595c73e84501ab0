/* The Linux boot protocol's pure half: telling what a guest module is,
 * checking a bzImage or vmlinux, choosing where it goes, the E820 map and
 * the zero page (vm/linux_boot.h).  vm/guest_load.c does the copying. */
#include "linux_boot.h"
#include "platform/console.h"
#include "lib/elf.h"
#include "lib/string.h"

#define XEN_ELFNOTE_GUEST_OS 6

static bool overlaps(u64 a, u64 alen, u64 b, u64 blen) { return a < b + blen && b < a + alen; }

static bool is_bzimage(const u8 *file, u64 size)
{
	u16 flag;
	u32 magic;
	if (size < LINUX_HDR_OFFSET + sizeof(struct linux_setup_header))
		return false;
	memcpy(&flag, file + 0x1FE, 2);
	memcpy(&magic, file + 0x202, 4);
	return flag == LINUX_BOOT_FLAG && magic == LINUX_HDRS;
}

static const struct elf64_ehdr *elf_header(const u8 *file, u64 size)
{
	const struct elf64_ehdr *eh = (const void *)file;
	if (size < sizeof(*eh) || memcmp(eh->ident, "\x7f" "ELF", 4) || eh->ident[4] != ELF_CLASS64 ||
	    eh->machine != EM_X86_64 || eh->phentsize != sizeof(struct elf64_phdr) || eh->phoff > size ||
	    (u64)eh->phnum * sizeof(struct elf64_phdr) > size - eh->phoff)
		return NULL;
	return eh;
}

/* Does a PT_NOTE segment hold Xen's GUEST_OS note saying "linux"? */
static bool elf_is_linux(const u8 *file, u64 size, const struct elf64_ehdr *eh)
{
	const struct elf64_phdr *ph = (const void *)(file + eh->phoff);
	for (unsigned i = 0; i < eh->phnum; i++) {
		if (ph[i].type != PT_NOTE || ph[i].offset > size || ph[i].filesz > size - ph[i].offset)
			continue;
		const u8 *n = file + ph[i].offset, *end = n + ph[i].filesz;
		while ((u64)(end - n) >= sizeof(struct elf64_nhdr)) {
			struct elf64_nhdr nh;
			memcpy(&nh, n, sizeof(nh));
			u64 name_len = ALIGN_UP((u64)nh.namesz, 4), desc_len = ALIGN_UP((u64)nh.descsz, 4);
			const u8 *name = n + sizeof(nh), *desc = name + name_len;
			if (name_len > (u64)(end - name) || desc_len > (u64)(end - desc))
				break;
			if (nh.namesz == 4 && !memcmp(name, "Xen", 4) && nh.type == XEN_ELFNOTE_GUEST_OS &&
			    nh.descsz >= 5 && !memcmp(desc, "linux", 5))
				return true;
			n = desc + desc_len;
		}
	}
	return false;
}

int guest_kind_of(const u8 *file, u64 size, enum guest_kind *kind)
{
	const struct elf64_ehdr *eh;
	if (is_bzimage(file, size))
		*kind = GUEST_LINUX_BZIMAGE;
	else if ((eh = elf_header(file, size)))
		*kind = elf_is_linux(file, size, eh) ? GUEST_LINUX_ELF : GUEST_FERRY_ELF;
	else {
		log_err("guest: the guest module (%lu bytes) is neither an x86-64 ELF file nor a Linux bzImage", size);
		return -E_INVAL;
	}
	return 0;
}

static int parse_bzimage(const u8 *file, u64 size, struct linux_image *li)
{
	struct linux_setup_header *h = &li->hdr;
	/* The header's own length: the jump at 0x200 skips it (boot.rst). */
	u64 hdr_len = MIN((u64)0x202 + file[0x201] - LINUX_HDR_OFFSET, (u64)sizeof(*h));
	memset(h, 0, sizeof(*h));
	memcpy(h, file + LINUX_HDR_OFFSET, hdr_len);
	if (h->version < LINUX_MIN_VERSION || !(h->xloadflags & LINUX_XLF_KERNEL_64)) {
		log_err("guest: this bzImage (boot protocol %x, xloadflags %x) has no 64-bit entry; ferry needs "
			"protocol 2.12+ with XLF_KERNEL_64", h->version, h->xloadflags);
		return -E_INVAL;
	}
	u64 setup = ((u64)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	if (setup >= size) {
		log_err("guest: the bzImage is truncated (%lu bytes, setup alone is %lu)", size, setup);
		return -E_INVAL;
	}
	/* The 64-bit entry (LINUX_ENTRY64_OFFSET into the kernel) must be one
	 * of the kernel's bytes, or ferry would start the guest in whatever
	 * lies past the copy. */
	if (size - setup <= LINUX_ENTRY64_OFFSET) {
		log_err("guest: the bzImage is truncated (%lu bytes of kernel after the setup, its 64-bit entry is at %u)",
			size - setup, (unsigned)LINUX_ENTRY64_OFFSET);
		return -E_INVAL;
	}
	/* linux_place rounds with masks: an alignment is a power of two. */
	if (h->relocatable_kernel && (h->kernel_alignment & (h->kernel_alignment - 1))) {
		log_err("guest: the bzImage's kernel_alignment %x is not a power of two", h->kernel_alignment);
		return -E_INVAL;
	}
	li->file = file + setup;
	li->file_size = size - setup;
	li->pref_address = h->pref_address;
	li->align = h->relocatable_kernel ? MAX((u64)h->kernel_alignment, (u64)PAGE_SIZE) : 0;
	li->span = MAX((u64)h->init_size, li->file_size);
	li->entry_offset = LINUX_ENTRY64_OFFSET;
	return 0;
}

static int parse_vmlinux(const u8 *file, u64 size, struct linux_image *li)
{
	const struct elf64_ehdr *eh = elf_header(file, size);
	const struct elf64_phdr *ph = (const void *)(file + eh->phoff);
	u64 lo = ~0ULL, hi = 0;
	for (unsigned i = 0; i < eh->phnum; i++) {
		const struct elf64_phdr *p = &ph[i];
		if (p->type != PT_LOAD || !p->memsz)
			continue;
		if (p->filesz > p->memsz || p->offset > size || p->filesz > size - p->offset ||
		    p->paddr + p->memsz < p->paddr) {
			log_err("guest: vmlinux segment %u lies outside the file", i);
			return -E_INVAL;
		}
		lo = MIN(lo, p->paddr);
		hi = MAX(hi, p->paddr + p->memsz);
	}
	if (hi <= lo || eh->entry < lo || eh->entry >= hi) {
		log_err("guest: vmlinux has no loadable segment holding its entry point %lx", eh->entry);
		return -E_INVAL;
	}
	li->file = file;
	li->file_size = size;
	li->pref_address = lo;
	li->align = 2 * MiB; /* head_64.S relocates by 2 MiB-aligned deltas only */
	li->span = hi - lo;
	li->entry_offset = eh->entry - lo;
	li->elf_base = lo;
	/* What a bzImage's header would say about the kernel it carries. */
	struct linux_setup_header *h = &li->hdr;
	memset(h, 0, sizeof(*h));
	h->boot_flag = LINUX_BOOT_FLAG;
	h->header = LINUX_HDRS;
	h->version = 0x020F;
	h->loadflags = LINUX_LOADED_HIGH;
	h->initrd_addr_max = 0x7FFFFFFF;
	h->kernel_alignment = 2 * MiB;
	h->relocatable_kernel = 1;
	h->xloadflags = LINUX_XLF_KERNEL_64 | LINUX_XLF_ABOVE_4G;
	h->cmdline_size = 2047; /* COMMAND_LINE_SIZE - 1 on x86 */
	h->pref_address = lo;
	h->init_size = (u32)MIN(li->span, (u64)0xFFFFFFFF);
	return 0;
}

int linux_parse(const u8 *file, u64 size, enum guest_kind kind, struct linux_image *li)
{
	memset(li, 0, sizeof(*li));
	li->kind = kind;
	if (kind == GUEST_LINUX_BZIMAGE)
		return parse_bzimage(file, size, li);
	if (kind == GUEST_LINUX_ELF && elf_header(file, size))
		return parse_vmlinux(file, size, li);
	log_err("guest: not a Linux kernel");
	return -E_INVAL;
}

static bool place_ok(const struct linux_image *li, const struct gmem *ram, u64 addr, const struct mem_range *avoid,
		     unsigned navoid)
{
	if (addr + li->span > 4 * GiB || gmem_check(ram, addr, li->span) < 0)
		return false;
	for (unsigned i = 0; i < navoid; i++)
		if (overlaps(addr, li->span, avoid[i].base, avoid[i].len))
			return false;
	return true;
}

u64 linux_place(const struct linux_image *li, const struct gmem *ram, const struct mem_range *avoid, unsigned navoid)
{
	if (!li->align) /* not relocatable: its own address or nothing */
		return place_ok(li, ram, li->pref_address, avoid, navoid) ? li->pref_address : 0;
	/* Candidates: the preferred address, then each aligned address after
	 * the end of a range in the way.  Scanning from each RAM range's start
	 * covers the lower addresses when nothing above the preferred one fits. */
	for (int pass = 0; pass < 2; pass++)
		for (unsigned r = 0; r < ram->n; r++) {
			u64 a = ALIGN_UP(MAX(ram->r[r].start, pass == 0 ? li->pref_address : 0), li->align);
			while (a && a + li->span <= ram->r[r].end && a + li->span <= 4 * GiB) {
				if (place_ok(li, ram, a, avoid, navoid))
					return a;
				u64 next = a + li->align;
				for (unsigned i = 0; i < navoid; i++)
					if (overlaps(a, li->span, avoid[i].base, avoid[i].len))
						next = MAX(next, ALIGN_UP(avoid[i].base + avoid[i].len, li->align));
				a = next;
			}
		}
	return 0;
}

static int e820_add(struct linux_e820 *out, unsigned max, unsigned *n, u64 addr, u64 size, u32 type)
{
	if (!size)
		return 0;
	if (*n == max)
		return -E_NOSPC;
	/* Insertion keeps the table sorted by address. */
	unsigned i = *n;
	while (i > 0 && out[i - 1].addr > addr) {
		out[i] = out[i - 1];
		i--;
	}
	out[i] = (struct linux_e820){ addr, size, type };
	(*n)++;
	return 0;
}

int linux_e820(const struct boot_info *bi, const struct gmem *ram, struct mem_range dev, struct linux_e820 *out,
	       unsigned max)
{
	unsigned n = 0;
	int rc = e820_add(out, max, &n, dev.base, dev.len, MEM_RESERVED);
	for (unsigned i = 0; i < ram->n && !rc; i++)
		rc = e820_add(out, max, &n, ram->r[i].start, ram->r[i].end - ram->r[i].start, MEM_USABLE);
	for (unsigned i = 0; i < bi->nmem && !rc; i++) {
		const struct mem_range *m = &bi->mem[i];
		if (m->type != MEM_USABLE) {
			rc = e820_add(out, max, &n, m->base, m->len, m->type);
			continue;
		}
		/* The parts of a usable range that are not guest RAM are ferry's. */
		u64 at = m->base, end = m->base + m->len;
		for (unsigned r = 0; r < ram->n && !rc; r++) {
			u64 s = MAX(at, ram->r[r].start), e = MIN(end, ram->r[r].end);
			if (s >= e)
				continue;
			rc = e820_add(out, max, &n, at, s - at, MEM_RESERVED);
			at = e;
		}
		if (!rc && at < end)
			rc = e820_add(out, max, &n, at, end - at, MEM_RESERVED);
	}
	return rc < 0 ? rc : (int)n;
}

int linux_boot_params(struct linux_boot_params *bp, const struct linux_image *li, const struct linux_boot_args *a)
{
	const struct linux_setup_header *h = &li->hdr;
	if (a->cmdline_len > h->cmdline_size) {
		log_err("guest: the kernel command line is %u bytes; this kernel takes at most %u", a->cmdline_len,
			h->cmdline_size);
		return -E_RANGE;
	}
	bool high = h->xloadflags & LINUX_XLF_ABOVE_4G;
	if (a->initrd_size && !high && a->initrd_gpa + a->initrd_size - 1 > h->initrd_addr_max) {
		log_err("guest: the initrd at %lx-%lx lies above what this kernel reaches (%x)", a->initrd_gpa,
			a->initrd_gpa + a->initrd_size, h->initrd_addr_max);
		return -E_RANGE;
	}
	if (a->ne820 > LINUX_E820_MAX)
		return -E_NOSPC;
	memset(bp, 0, sizeof(*bp));
	bp->hdr = *h;
	bp->hdr.vid_mode = 0xFFFF;
	bp->hdr.type_of_loader = LINUX_LOADER_ID;
	bp->hdr.loadflags = (u8)((h->loadflags | LINUX_LOADED_HIGH) & ~LINUX_CAN_USE_HEAP);
	bp->hdr.code32_start = (u32)a->load;
	bp->hdr.cmd_line_ptr = (u32)a->cmdline_gpa;
	bp->ext_cmd_line_ptr = (u32)(a->cmdline_gpa >> 32);
	bp->hdr.ramdisk_image = (u32)a->initrd_gpa;
	bp->ext_ramdisk_image = (u32)(a->initrd_gpa >> 32);
	bp->hdr.ramdisk_size = (u32)a->initrd_size;
	bp->ext_ramdisk_size = (u32)(a->initrd_size >> 32);
	bp->acpi_rsdp_addr = a->rsdp_gpa;
	bp->e820_entries = (u8)a->ne820;
	memcpy(bp->e820_table, a->e820, a->ne820 * sizeof(*a->e820));
	return 0;
}
