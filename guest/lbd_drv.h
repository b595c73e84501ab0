/* The guest's driver for ferry's logical block device. */
#ifndef GUEST_LBD_DRV_H
#define GUEST_LBD_DRV_H

#include "shell.h"

/* Finds the device through ferry's CPUID leaves and identifies it.
 * 0 and *out, -E_NOENT without ferry or without a device. */
int lbd_probe(struct disk **out);

/* Issues one raw command (for device tests): returns the status ferry
 * wrote.  desc must be in guest RAM (or deliberately not, for tests). */
u32 lbd_submit_raw(u64 desc_gpa);
/* Register page, for tests and statistics (NULL before probe). */
volatile u8 *lbd_regs(void);
struct disk *lbd_disk(void);

extern const struct shell_cmd lbd_shell_cmds[];
/* guest/hostile.c */
int cmd_smp_escape(struct shell *sh, int argc, char **argv);
int cmd_memscan(struct shell *sh, int argc, char **argv);
int cmd_ioapic_irq(struct shell *sh, int argc, char **argv);
int cmd_nmi_wait(struct shell *sh, int argc, char **argv);
int cmd_insn(struct shell *sh, int argc, char **argv);
int cmd_tpr(struct shell *sh, int argc, char **argv);
int cmd_hpet_fsb(struct shell *sh, int argc, char **argv);
int cmd_pcir(struct shell *sh, int argc, char **argv);
int cmd_out(struct shell *sh, int argc, char **argv);
int cmd_pciw(struct shell *sh, int argc, char **argv);
extern const size_t lbd_shell_ncmds;

#endif
