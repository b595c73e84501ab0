/* ferry's 64-bit entry record, shared by boot/entry.S (which emits it) and
 * the UEFI loader (boot/efi/, which looks for it).
 *
 * A loader already running in long mode (UEFI) cannot use _start, which is
 * 32-bit code.  entry.S therefore places, right after the multiboot2
 * header and within the first 32 KiB of ferry's loaded image (from its
 * lowest PT_LOAD address; linker.ld checks it), an 8-byte aligned record of
 * 16 bytes:
 *
 *   u32 FERRY_ENTRY64_MAGIC0, u32 FERRY_ENTRY64_MAGIC1, u64 entry
 *
 * `entry` is the physical address of _start64.  The loader calls it as a
 * System V function, entry(magic, info): the multiboot2 magic in EDI and
 * the multiboot2 information (below 4 GiB) in ESI, after ExitBootServices,
 * with ferry's segments already at their physical addresses. */
#ifndef FERRY_BOOT_ENTRY64_H
#define FERRY_BOOT_ENTRY64_H

#define FERRY_ENTRY64_MAGIC0 0x52524546 /* "FERR" */
#define FERRY_ENTRY64_MAGIC1 0x34365f59 /* "Y_64" */
#define FERRY_ENTRY64_SEARCH 32768      /* bytes of the image searched */

#endif
