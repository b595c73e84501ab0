/* ELF64 file format: the parts ferry's loaders read (System V ABI, ELF-64
 * Object File Format 1.5). */
#ifndef FERRY_ELF_H
#define FERRY_ELF_H

#include "types.h"

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

struct elf64_nhdr {
	u32 namesz, descsz, type;
} __packed;

#define ELF_CLASS64 2
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_NOTE 4

#endif
