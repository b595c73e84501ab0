/* The guest's ways to power off, sleep or reset the machine, beyond the
 * chipset reset 0xCF9 and QEMU's exit port 0xF4 (vm/guest_io.c): each ends
 * in ferry's orderly stop, never behind ferry's back.
 *
 *  - ACPI PM1a/PM1b control (FADT): a write with SLP_EN is a sleep request.
 *    ferry cannot resume a guest from S1-S4, so every sleep state is a
 *    power-off: the guest stops (VM_STOP_POWER_OFF, vm->acpi_sleep), and
 *    the wiring then writes the same values itself, powering the machine
 *    off the way the firmware's AML says.  Other writes (SCI_EN) and all
 *    reads reach the hardware.
 *  - The keyboard controller (0x60, 0x64): command 0xFE and the output-port
 *    pulses with the reset line low, and a write-output-port (0xD1) whose
 *    data clears the reset bit, are resets (VM_STOP_RESET); everything
 *    else passes through, so the guest keeps its keyboard.
 *  - The FADT's reset register, when it is an I/O port other than 0xCF9:
 *    writing the reset value is a reset.  A reset register in memory space
 *    is not guarded (logged at boot).
 * The wiring carries out a reset after the stop (main/main.c). */
#ifndef FERRY_GUEST_POWER_H
#define FERRY_GUEST_POWER_H

#include "vm.h"

int guest_power_attach(struct vm *vm);

#endif
