/* ferry's ELF image, its 64-bit entry record and the load options
 * (see image.h).  ELF64 layout: System V ABI, "Object Files". */
#include "image.h"
#include "boot/entry64.h"

struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
} __attribute__((packed));

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
} __attribute__((packed));

#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define EM_X86_64 62
#define PT_LOAD 1
#define PAGE 4096ULL
#define LIMIT_4G 0x100000000ULL

static const struct elf64_phdr *phdrs(const void *file, unsigned *n)
{
	const struct elf64_ehdr *eh = file;
	*n = eh->phnum;
	return (const struct elf64_phdr *)((const uint8_t *)file + eh->phoff);
}

int elf_span(const void *file, size_t size, uint64_t *lo, uint64_t *hi, const char **why)
{
	const struct elf64_ehdr *eh = file;
	const uint8_t *id = eh->ident;

	if (size < sizeof(*eh) || id[0] != 0x7f || id[1] != 'E' || id[2] != 'L' || id[3] != 'F') {
		*why = "not an ELF file";
		return -1;
	}
	if (id[4] != ELFCLASS64 || id[5] != ELFDATA2LSB || eh->machine != EM_X86_64 || eh->type != ET_EXEC) {
		*why = "not an x86-64 ELF executable";
		return -1;
	}
	if (eh->phentsize != sizeof(struct elf64_phdr) || eh->phoff > size ||
	    (uint64_t)eh->phnum * sizeof(struct elf64_phdr) > size - eh->phoff) {
		*why = "ELF program headers outside the file";
		return -1;
	}
	unsigned n;
	const struct elf64_phdr *ph = phdrs(file, &n);
	uint64_t l = UINT64_MAX, h = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct elf64_phdr *p = &ph[i];
		if (p->type != PT_LOAD || !p->memsz)
			continue;
		if (p->filesz > p->memsz || p->offset > size || p->filesz > size - p->offset) {
			*why = "an ELF segment lies outside the file";
			return -1;
		}
		if (p->paddr >= LIMIT_4G || p->memsz > LIMIT_4G - p->paddr) {
			*why = "an ELF segment lies above 4 GiB";
			return -1;
		}
		if (p->paddr < l)
			l = p->paddr;
		if (p->paddr + p->memsz > h)
			h = p->paddr + p->memsz;
	}
	if (!h) {
		*why = "no loadable ELF segment";
		return -1;
	}
	*lo = l & ~(PAGE - 1);
	*hi = (h + PAGE - 1) & ~(PAGE - 1);
	return 0;
}

void elf_place(const void *file, uint8_t *dst, uint64_t lo, uint64_t hi)
{
	for (uint64_t i = 0; i < hi - lo; i++)
		dst[i] = 0;
	unsigned n;
	const struct elf64_phdr *ph = phdrs(file, &n);
	for (unsigned i = 0; i < n; i++) {
		const struct elf64_phdr *p = &ph[i];
		if (p->type != PT_LOAD || !p->memsz)
			continue;
		const uint8_t *src = (const uint8_t *)file + p->offset;
		for (uint64_t k = 0; k < p->filesz; k++)
			dst[p->paddr - lo + k] = src[k];
	}
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t entry64_find(const uint8_t *image, size_t len)
{
	if (len > FERRY_ENTRY64_SEARCH)
		len = FERRY_ENTRY64_SEARCH;
	for (size_t off = 0; off + 16 <= len; off += 8)
		if (get32(image + off) == FERRY_ENTRY64_MAGIC0 && get32(image + off + 4) == FERRY_ENTRY64_MAGIC1)
			return (uint64_t)get32(image + off + 8) | (uint64_t)get32(image + off + 12) << 32;
	return 0;
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 'a' - 'A') : c; }

int load_options_cmdline(const uint16_t *opts, size_t bytes, char *out, size_t cap)
{
	size_t n = 0, count = bytes / 2;
	if (!cap)
		return -1;
	for (size_t i = 0; i < count && opts[i] && n + 1 < cap; i++) {
		uint16_t c = opts[i];
		if (c != '\t' && c != '\r' && c != '\n' && (c < 0x20 || c >= 0x7f)) {
			out[0] = 0;
			return -1;
		}
		out[n++] = c < 0x20 ? ' ' : (char)c;
	}
	out[n] = 0;

	/* Drop a first word that names the image itself. */
	size_t b = 0;
	while (b < n && out[b] == ' ')
		b++;
	size_t w = b;
	while (w < n && out[w] != ' ')
		w++;
	if (w - b >= 4 && lower(out[w - 4]) == '.' && lower(out[w - 3]) == 'e' && lower(out[w - 2]) == 'f' &&
	    lower(out[w - 1]) == 'i')
		b = w;
	while (b < n && out[b] == ' ')
		b++;
	size_t e = n;
	while (e > b && out[e - 1] == ' ')
		e--;
	for (size_t i = b; i < e; i++)
		out[i - b] = out[i];
	out[e - b] = 0;
	return (int)(e - b);
}

static bool same_name(const char *a, const char *b)
{
	for (; *a && lower(*a) == *b; a++, b++)
		;
	return !*a && !*b;
}

enum folder_file folder_file(const uint16_t *name, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = 0;
	for (; name[n]; n++) {
		uint16_t c = name[n];
		if (n >= FOLDER_NAME_MAX || n + 1 >= cap || c <= ' ' || c >= 0x7f || c == '/' || c == '\\') {
			out[0] = 0;
			return FOLDER_BAD_NAME;
		}
		out[n] = (char)c;
	}
	out[n] = 0;
	if (!n)
		return FOLDER_BAD_NAME;
	if (same_name(out, "ferry.elf") || same_name(out, "guest.elf") || same_name(out, "ferry.cfg"))
		return FOLDER_OWN;
	return FOLDER_MODULE;
}

void cmdline_mask_key(const char *in, char *out, size_t cap)
{
	static const char hidden[] = "key=<hidden>";
	size_t n = 0;
	if (!cap)
		return;
	for (size_t i = 0; in[i] && n + 1 < cap;) {
		bool word_start = i == 0 || in[i - 1] == ' ';
		if (word_start && in[i] == 'k' && in[i + 1] == 'e' && in[i + 2] == 'y' && in[i + 3] == '=') {
			for (size_t k = 0; hidden[k] && n + 1 < cap; k++)
				out[n++] = hidden[k];
			while (in[i] && in[i] != ' ')
				i++;
			continue;
		}
		out[n++] = in[i++];
	}
	out[n] = 0;
}
