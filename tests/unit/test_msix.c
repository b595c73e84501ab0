/* MSI-X (vdev/msix.c): the table and PBA, the function mask and per-vector
 * masks with their pending bits, in the order Linux 6.1 programs them; and
 * the MSI message decode of platform/lapic.h. */
#include "check.h"
#include "vdev/msix.h"
#include "platform/lapic.h"

static struct msix m;
static unsigned nsent;
static u64 sent_addr[16];
static u32 sent_data[16];
static int send_result;

static int fake_send(u64 addr, u32 data)
{
	if (nsent < 16) {
		sent_addr[nsent] = addr;
		sent_data[nsent] = data;
	}
	nsent++;
	return send_result;
}

static void setup(void)
{
	msix_init(&m, 2, fake_send);
	nsent = 0;
	send_result = 0;
}

static void program(unsigned v, u32 data)
{
	msix_table_write(&m, v * 16 + MSIX_ENTRY_ADDR_LO, 4, 0xFEE01004);
	msix_table_write(&m, v * 16 + MSIX_ENTRY_ADDR_HI, 4, 0);
	msix_table_write(&m, v * 16 + MSIX_ENTRY_DATA, 4, data);
}

TEST(reset_state_is_masked_and_off)
{
	setup();
	CHECK_EQ(msix_table_read(&m, 0x0C, 4), MSIX_CTRL_MASKED);
	CHECK_EQ(msix_table_read(&m, 0x1C, 4), MSIX_CTRL_MASKED);
	CHECK_EQ(msix_pba_read(&m, 0, 8), 0);
	msix_signal(&m, 0); /* MSI-X off: no interrupt, nothing latched */
	CHECK_EQ(nsent, 0);
	CHECK_EQ(msix_pba_read(&m, 0, 4), 0);
	CHECK_EQ(m.dropped, 1);
}

/* Enable with everything masked, write the entries, mask each, lift the
 * function mask, unmask each vector (LINUX.md). */
TEST(linux_order_then_delivery)
{
	setup();
	msix_control(&m, true, true);
	program(0, 0x27);
	program(1, 0x26);
	msix_table_write(&m, 0x0C, 4, 1);
	msix_table_write(&m, 0x1C, 4, 1);
	msix_control(&m, true, false);
	msix_table_write(&m, 0x0C, 4, 0);
	msix_table_write(&m, 0x1C, 4, 0);
	CHECK_EQ(nsent, 0);
	msix_signal(&m, 1);
	CHECK_EQ(nsent, 1);
	CHECK_EQ(sent_addr[0], 0xFEE01004);
	CHECK_EQ(sent_data[0], 0x26);
	CHECK_EQ(msix_table_read(&m, 0x10, 8), 0xFEE01004);
	CHECK_EQ(msix_table_read(&m, 0x18, 8), 0x26);
	CHECK_EQ(m.sent, 1);
}

TEST(masked_vector_latches_and_fires_on_unmask)
{
	setup();
	msix_control(&m, true, false);
	program(1, 0x26);
	msix_signal(&m, 1); /* entry still masked */
	msix_signal(&m, 1); /* one pending bit, not two interrupts */
	CHECK_EQ(nsent, 0);
	CHECK_EQ(msix_pba_read(&m, 0, 4), 2);
	msix_table_write(&m, 0x1C, 4, 0);
	CHECK_EQ(nsent, 1);
	CHECK_EQ(sent_data[0], 0x26);
	CHECK_EQ(msix_pba_read(&m, 0, 4), 0);
	msix_table_write(&m, 0x1C, 4, 0); /* unmasking again sends nothing */
	CHECK_EQ(nsent, 1);
}

TEST(function_mask_latches_every_vector)
{
	setup();
	msix_control(&m, true, false);
	program(0, 0x27);
	program(1, 0x26);
	msix_table_write(&m, 0x0C, 4, 0);
	msix_table_write(&m, 0x1C, 4, 0);
	msix_control(&m, true, true);
	msix_signal(&m, 0);
	msix_signal(&m, 1);
	CHECK_EQ(nsent, 0);
	CHECK_EQ(msix_pba_read(&m, 0, 8), 3);
	msix_control(&m, true, false);
	CHECK_EQ(nsent, 2);
	CHECK_EQ(sent_data[0], 0x27);
	CHECK_EQ(sent_data[1], 0x26);
	CHECK_EQ(msix_pba_read(&m, 0, 8), 0);
}

TEST(disabled_function_keeps_its_pending_bits)
{
	setup();
	msix_control(&m, true, true);
	program(0, 0x30);
	msix_table_write(&m, 0x0C, 4, 0);
	msix_signal(&m, 0);
	msix_control(&m, false, false); /* off: nothing is sent */
	CHECK_EQ(nsent, 0);
	msix_control(&m, true, false);
	CHECK_EQ(nsent, 1);
}

TEST(odd_accesses_and_bad_vectors)
{
	setup();
	msix_control(&m, true, false);
	msix_table_write(&m, 0x01, 4, 0x12345678); /* misaligned */
	msix_table_write(&m, 0x00, 2, 0x1234);     /* 16-bit */
	msix_table_write(&m, 0x04, 8, ~0ULL);      /* 8-byte at a 4-byte offset */
	msix_table_write(&m, 0x20, 4, 0xFFFFFFFF); /* past the two entries */
	CHECK_EQ(msix_table_read(&m, 0x00, 8), 0);
	CHECK_EQ(msix_table_read(&m, 0x20, 4), 0);
	msix_table_write(&m, 0x0C, 4, 0xFFFFFFFE); /* reserved bits stay 0 */
	CHECK_EQ(msix_table_read(&m, 0x0C, 4), 0);
	msix_signal(&m, 2);
	msix_signal(&m, 0xFFFF);
	CHECK_EQ(m.dropped, 2);
	CHECK_EQ(msix_pba_read(&m, 0, 8), 0);
	/* A message the APIC side refuses is counted, not retried. */
	send_result = -E_RANGE;
	msix_signal(&m, 0);
	CHECK_EQ(m.refused, 1);
	CHECK_EQ(m.last_refusal, -E_RANGE);
	CHECK_EQ(msix_pba_read(&m, 0, 8), 0);
}

TEST(msi_message_decode)
{
	struct lapic_msi msi;
	CHECK_EQ(lapic_msi_decode(0xFEE01004, 0x26, &msi), 0);
	CHECK_EQ(msi.vector, 0x26);
	CHECK_EQ(msi.dest, 1);
	CHECK(msi.logical);
	CHECK_EQ(lapic_msi_decode(0xFEE00000, 0x4041, &msi), 0); /* level bit 14 alone: still edge */
	CHECK_EQ(msi.dest, 0);
	CHECK(!msi.logical);
	CHECK_EQ(lapic_msi_decode(0xFEE00000, 0x8041, &msi), -E_NOTSUP); /* level-triggered */
	CHECK_EQ(lapic_msi_decode(0xFEE00000, 0x0141, &msi), -E_NOTSUP); /* lowest priority */
	CHECK_EQ(lapic_msi_decode(0xFEE00000, 0x0441, &msi), -E_NOTSUP); /* NMI */
	CHECK_EQ(lapic_msi_decode(0xFEE00000, 0x000F, &msi), -E_INVAL);  /* vector below 16 */
	CHECK_EQ(lapic_msi_decode(0xFED00000, 0x0041, &msi), -E_INVAL);  /* not the APIC window */
	CHECK_EQ(lapic_msi_decode(0x1FEE00000ULL, 0x0041, &msi), -E_INVAL);
}

int main(void)
{
	RUN(reset_state_is_masked_and_off);
	RUN(linux_order_then_delivery);
	RUN(masked_vector_latches_and_fires_on_unmask);
	RUN(function_mask_latches_every_vector);
	RUN(disabled_function_keeps_its_pending_bits);
	RUN(odd_accesses_and_bad_vectors);
	RUN(msi_message_decode);
	return CHECK_SUMMARY();
}
