#ifndef FERRY_GUEST_IO_H
#define FERRY_GUEST_IO_H

#include "vm.h"

/* Sets up which ports exit (console UART, PCI configuration, the power-off
 * port, the I/O BARs of devices ferry owns).  Everything else the guest
 * reaches directly. */
void guest_io_init(struct vm *vm);
/* Emulates one intercepted IN/OUT.  Returns false when it injected an
 * exception instead (RIP must not advance). */
bool guest_io(struct vcpu *vcpu, const struct vm_exit *e);

#endif
