/* The HPET, guarded (every role: the guest keeps it as its timer).
 *
 * A timer of an HPET with FSB delivery (IA-PC HPET 1.0a, 2.3.9.2.2)
 * sends its interrupt as a memory write of its FSB value to its FSB
 * address, both the guest's to choose: a write anywhere in memory,
 * ferry's included, or an MSI with any delivery mode (INIT resets the
 * CPU behind ferry's back) and any vector.  So the HPET page is mapped
 * read-only (reads reach it with no exit) and every write exits here:
 * a timer's configuration never keeps FSB_EN_CNF (the guest routes its
 * timers through the I/O APIC or the legacy lines, which are guarded);
 * every other write reaches the HPET as written.  ferry clears FSB_EN_CNF
 * in every timer before the guest starts. */
#ifndef FERRY_HPET_GUARD_H
#define FERRY_HPET_GUARD_H

#include "vm.h"

#define HPET_BASE 0xFED00000ULL

int hpet_guard_attach(struct vm *vm, hpa_t base);

/* The value an aligned write of val (size 4 or 8 bytes at offset off)
 * becomes (pure, host-tested): val with FSB_EN_CNF cleared where it
 * lands on a timer's configuration register, else val.  *refused:
 * whether it had it set. */
u64 hpet_guard_filter(u64 off, unsigned size, u64 val, bool *refused);

#endif
