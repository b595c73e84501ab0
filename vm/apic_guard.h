/* The guest's local APIC, guarded (local and client roles, where the APIC
 * is the guest's: its timer, its EOIs, its self-IPIs).
 *
 * The APIC page is mapped read-only: reads reach the real APIC with no
 * exit, every write exits and is checked here before ferry performs it.
 * A guest must never start, stop or redirect another CPU (INIT and
 * startup IPIs would run its code outside virtualization on a CPU ferry
 * parks) nor send NMI, SMI or INIT to any CPU, itself included.  So:
 *  - ICR: fixed and lowest-priority IPIs whose destination includes this
 *    CPU are sent to this CPU alone (the self shorthand); every other
 *    delivery mode and every IPI that would reach only other CPUs is
 *    dropped, with a warning;
 *  - LVT entries: SMI, INIT and reserved delivery modes are refused (the
 *    write is dropped); fixed, NMI (LINT1, the performance counter) and
 *    ExtINT (LINT0's virtual wire) pass;
 *  - every other register (EOI, TPR, the timer, SVR, LDR, DFR, ESR) is
 *    written as the guest wrote it.
 * x2APIC mode stays off (vm/msr.c refuses it; CPUID hides it), so the
 * page is the only way to the APIC.  Each EOI and timer write costs one
 * exit: the price of keeping the ICR behind a check without x2APIC. */
#ifndef FERRY_APIC_GUARD_H
#define FERRY_APIC_GUARD_H

#include "vm.h"

/* Maps the APIC page at base read-only for the guest and takes its
 * writes. */
int apic_guard_attach(struct vm *vm, hpa_t base);

/* The check on one write (pure, host-tested): the value to write to the
 * register at off, or false to drop the write.  ICR low writes come back
 * rewritten to the self shorthand.  icr_high is what the guest last wrote
 * to ICR high; my_id and my_ldr identify this CPU. */
bool apic_guard_check(u32 off, u32 val, u32 icr_high, u8 my_id, u32 my_ldr, u32 dfr, u32 *out);

#endif
