/* The VM's run state: whether the guest still runs, and if not, why.  Kept
 * apart from the exit dispatcher (vm/exit.c) so that whatever stops the
 * guest (an exit handler, guest port I/O, a device model) needs only vm.h. */
#include "vm.h"

void vm_stop(struct vm *vm, enum vm_stop_code code)
{
	vm->stop = code;
}

const char *vm_stop_text(enum vm_stop_code code)
{
	static const char *const texts[VM_STOP_CODE_COUNT] = {
		[VM_RUNNING] = "the guest is running",
		[VM_STOP_POWER_OFF] = "the guest powered off",
		[VM_STOP_RESET] = "the guest asked for a reset",
		[VM_STOP_HALTED] = "the guest halted",
		[VM_STOP_TRIPLE_FAULT] = "the guest triple-faulted",
		[VM_STOP_ENTRY_FAILED] = "the guest could not be entered",
		[VM_STOP_FATAL_MEMORY] = "a fatal guest memory access",
		[VM_STOP_UNHANDLED_EXIT] = "an unhandled exit",
	};
	return (unsigned)code < VM_STOP_CODE_COUNT && texts[code] ? texts[code] : "?";
}
