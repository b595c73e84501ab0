/* A virtual machine: its memory, its emulated devices and its one vCPU. */
#ifndef FERRY_VM_H
#define FERRY_VM_H

#include "gmem.h"
#include "vcpu.h"

#define VM_MAX_MMIO 16
#define VM_MAX_PIO 8

/* Why the guest's run ended.  Whoever ends the machine (main/main.c) keys
 * on the code; vm_stop_text gives its words for the log. */
enum vm_stop_code {
	VM_RUNNING,             /* not stopped */
	VM_STOP_POWER_OFF,      /* the guest powered off (port 0xF4 or the
				 * hypercall: vm->exit_status says how; ACPI
				 * sleep: vm->acpi_sleep) */
	VM_STOP_RESET,          /* the guest asked for a reset (0xCF9, the
				 * keyboard controller, the ACPI reset register) */
	VM_STOP_HALTED,         /* HLT with interrupts disabled */
	VM_STOP_TRIPLE_FAULT,   /* shutdown exit */
	VM_STOP_ENTRY_FAILED,   /* the CPU refused to enter the guest */
	VM_STOP_FATAL_MEMORY,   /* a guest memory access ferry cannot emulate */
	VM_STOP_UNHANDLED_EXIT, /* an exit ferry does not handle */
	VM_STOP_CODE_COUNT
};

/* An emulated device's I/O ports [port, port+len): every IN and OUT there
 * exits and is handed to read / write with the offset and size (1, 2, 4). */
struct pio_region {
	const char *name;
	u16 port, len;
	u32 (*read)(void *ctx, u16 off, unsigned size);
	void (*write)(void *ctx, u16 off, unsigned size, u32 val);
	void *ctx;
};

/* An emulated device region.  Accesses that fault in the nested page tables
 * inside [start, start+len) are decoded and handed to read / write with the
 * offset into the region and the access size (1, 2, 4 or 8). */
struct mmio_region {
	const char *name;
	gpa_t start;
	u64 len;
	u64 (*read)(void *ctx, u64 off, unsigned size);
	void (*write)(void *ctx, u64 off, unsigned size, u64 val);
	void *ctx;
};

/* A PCI function whose configuration space a device model emulates
 * (vm/pcicfg.h).  read and write get a naturally aligned access of 1, 2
 * or 4 bytes, off < 4096. */
struct pci_vfn {
	u8 bus, dev, fn;
	u32 (*read)(void *ctx, u16 off, unsigned size);
	void (*write)(void *ctx, u16 off, unsigned size, u32 val);
	void *ctx;
};
#define VM_MAX_VFN 4

struct vm {
	const struct hv_arch *arch;
	struct gmem ram;
	hpa_t nested_root;  /* root of the NPT / EPT */
	void *arch_data;    /* I/O and MSR bitmaps */
	struct mmio_region mmio[VM_MAX_MMIO];
	unsigned nmmio;
	struct pio_region pio[VM_MAX_PIO];
	unsigned npio;
	struct pci_vfn vfn[VM_MAX_VFN]; /* virtual PCI functions (vm/pcicfg.c) */
	unsigned nvfn;
	struct vcpu vcpu;
	gpa_t lbd_gpa;      /* the logical device's register page, 0 if none */
	/* Called after ferry took physical interrupts (EXIT_INTR): the
	 * server role serves the network here while its guest runs. */
	void (*on_interrupt)(struct vm *vm);
	/* Called after every exit is handled: devices with requests in flight
	 * return those that finished (vdev/virtio_blk.c's vblk_poll). */
	void (*on_exit)(struct vm *vm);
	/* Called when the guest HLTs with interrupts enabled, before it
	 * resumes: may poll what is in flight for a while (main/main.c). */
	void (*on_halt)(struct vm *vm);
	bool poll_exits_on;  /* arch->poll_exits is on (main/main.c) */
	/* ferry takes the physical interrupts on the guest's CPU (the server
	 * role, arch->intr_exiting), and the guest none: its I/O APIC entries
	 * stay masked, since any vector would reach ferry's IDT
	 * (vm/ioapic_guard.h). */
	bool ferry_irqs;
	int exit_status;    /* what the guest asked to power off with */
	/* An ACPI sleep request (vm/guest_power.c): the PM1 control values the
	 * guest wrote with SLP_EN, which ferry writes itself once it stopped. */
	bool acpi_sleep;
	u16 sleep_pm1a, sleep_pm1b;
	enum vm_stop_code stop; /* VM_RUNNING until vm_stop */
};

/* Maps [gpa, gpa+size) to [hpa, ...) in the nested page tables with perm
 * (NESTED_R/W/X/UC).  Uses 2 MiB pages where alignment allows.  Remapping
 * a range replaces what was there. */
int nested_map(struct vm *vm, gpa_t gpa, hpa_t hpa, u64 size, unsigned perm);
/* The nested entry for gpa (0 if none), for diagnostics. */
u64 nested_lookup(struct vm *vm, gpa_t gpa);

/* Adds a region (copied).  -E_NOSPC when the table is full, -E_INVAL for
 * an empty or wrapping range, -E_EXIST when it overlaps a region already
 * there: one address, one device. */
int mmio_register(struct vm *vm, const struct mmio_region *r);
/* Intercepts the region's ports and routes them to it (vm/guest_io.c).
 * -E_NOSPC when the table is full, -E_EXIST over a registered port. */
int pio_register(struct vm *vm, const struct pio_region *r);
/* Removes the region that starts at start (a device whose BAR moved or
 * stopped decoding); -E_NOENT if there is none.  Safe from inside a
 * region's own handler: mmio_emulate no longer looks at the region once
 * it has called it. */
int mmio_unregister(struct vm *vm, gpa_t start);
struct mmio_region *mmio_find(struct vm *vm, gpa_t gpa);

/* Stops the guest with code; the run loop ends after the current exit.
 * The run state lives here, below the exit dispatcher, so device models and
 * guest_io.c stop the guest without depending on vm/exit.c. */
void vm_stop(struct vm *vm, enum vm_stop_code code);
static inline bool vm_stopped(const struct vm *vm) { return vm->stop != VM_RUNNING; }
/* The stop code in words, for the log ("the guest powered off", ...). */
const char *vm_stop_text(enum vm_stop_code code);

#endif
