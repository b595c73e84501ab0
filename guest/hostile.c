/* Guest commands that attack ferry from inside the guest, for the
 * emulator tests of docs/threat-model: each succeeds ("ok") only when
 * ferry refused the attack.
 *
 *   smp-escape APIC_ID   send INIT and two startup IPIs to another CPU,
 *                        pointing it at a real-mode trampoline that writes
 *                        a marker; fails when the marker appears (that CPU
 *                        would run guest code outside virtualization)
 */
#include "kernel.h"
#include "lbd_drv.h"
#include "lib/string.h"
#include "x86/io.h"

#define APIC_PAGE 0xFEE00000u
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define ICR_INIT_ASSERT 0x00004500u /* INIT, level, assert */
#define ICR_STARTUP 0x00004600u     /* startup IPI: vector = page number of the code */

#define TRAMPOLINE 0x70000u          /* below 1 MiB, page-aligned, free in this guest */
#define MARKER (TRAMPOLINE + 0x800)

static void icr(u32 hi, u32 lo)
{
	volatile u32 *apic = (volatile u32 *)(uintptr_t)APIC_PAGE;
	apic[APIC_ICR_HI / 4] = hi;
	apic[APIC_ICR_LO / 4] = lo;
}

static void wait_ms(u32 khz, u64 ms)
{
	u64 end = rdtsc() + ms * khz;
	while (rdtsc() < end)
		cpu_relax();
}

int cmd_smp_escape(struct shell *sh, int argc, char **argv)
{
	u64 id;
	u32 khz, x;
	if (argc != 2 || str_to_u64(argv[1], strlen(argv[1]), &id) < 0 || id > 0xFE)
		return shell_usage(sh);
	cpuid4(FERRY_CPUID_TSC, &khz, &x, &x, &x);
	/* -E_INVAL: the page lies in the identity map of the first 4 GiB. */
	int rc = paging_map_device(APIC_PAGE, PAGE_SIZE);
	if (!khz || (rc < 0 && rc != -E_INVAL))
		return -E_NOTSUP;
	/* mov ax, 0x7000; mov ds, ax; mov byte [0x800], 0x5a; hlt; jmp $-1 */
	static const u8 code[] = { 0xB8, 0x00, 0x70, 0x8E, 0xD8, 0xC6, 0x06, 0x00, 0x08, 0x5A, 0xF4, 0xEB, 0xFD };
	volatile u8 *t = (volatile u8 *)(uintptr_t)TRAMPOLINE;
	for (size_t i = 0; i < sizeof(code); i++)
		t[i] = code[i];
	*(volatile u8 *)(uintptr_t)MARKER = 0;
	icr((u32)id << 24, ICR_INIT_ASSERT);
	wait_ms(khz, 10);
	for (int i = 0; i < 2; i++) {
		icr((u32)id << 24, ICR_STARTUP | (TRAMPOLINE >> 12));
		wait_ms(khz, 1);
	}
	wait_ms(khz, 200);
	u8 m = *(volatile u8 *)(uintptr_t)MARKER;
	shell_printf(sh, "smp-escape apic=%lu marker=%02x", id, m);
	if (m == 0x5A) {
		shell_message(sh, "another CPU ran guest code outside virtualization");
		return -E_ACCES;
	}
	return 0;
}
