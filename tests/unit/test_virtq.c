/* Split virtqueues, device side (vdev/virtq.c): ring checks, available
 * entries, chain walks (direct and indirect) against every malformed
 * shape a hostile driver can build, the used ring, and the byte streams
 * over a chain's two parts. */
#include "check.h"
#include "fake_disk.h"
#include "vdev/virtq.h"

#define RAM_SIZE (1 << 20)
#define DESC_OFF 0x0000
#define AVAIL_OFF 0x1000
#define USED_OFF 0x2000
#define TABLE_OFF 0x4000 /* indirect tables */
#define BUF_OFF 0x10000

static struct gmem gm;
static u8 *ram;
static struct virtq vq;
static struct virtq_chain chain;

static struct virtq_desc *desc(unsigned i) { return (struct virtq_desc *)(ram + DESC_OFF) + i; }
static struct virtq_desc *itab(unsigned i) { return (struct virtq_desc *)(ram + TABLE_OFF) + i; }
static u16 *avail(unsigned word) { return (u16 *)(ram + AVAIL_OFF) + word; }
static u16 used_idx(void) { return *(u16 *)(ram + USED_OFF + 2); }
static struct virtq_used_elem *used_elem(unsigned i) { return (struct virtq_used_elem *)(ram + USED_OFF + 4) + i; }
static gpa_t at(size_t off) { return fake_gpa(ram + off); }

static void set(struct virtq_desc *d, size_t buf, u32 len, u16 flags, u16 next)
{
	*d = (struct virtq_desc){ at(buf), len, flags, next };
}

static void setup(u16 size)
{
	if (!ram)
		ram = fake_ram_init(&gm, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	vq = (struct virtq){ .size = size, .indirect = true, .desc = at(DESC_OFF), .avail = at(AVAIL_OFF),
			     .used = at(USED_OFF) };
}

/* The driver makes head available. */
static void offer(u16 head)
{
	u16 idx = *avail(1);
	*avail(2u + (unsigned)(idx & (vq.size - 1u))) = head;
	*avail(1) = (u16)(idx + 1);
}

static int walk(u16 head) { return virtq_walk(&gm, &vq, head, &chain); }

TEST(rings_must_be_guest_ram_aligned_and_sized)
{
	setup(256);
	CHECK_EQ(virtq_check(&gm, &vq), 0);
	static const u16 bad_sizes[] = { 0, 3, 100, 512 };
	for (unsigned i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		vq.size = bad_sizes[i];
		CHECK_EQ(virtq_check(&gm, &vq), -VIRTQ_ERR_RING);
	}
	vq.size = 1;
	CHECK_EQ(virtq_check(&gm, &vq), 0);
	setup(256);
	vq.desc += 8;
	CHECK_EQ(virtq_check(&gm, &vq), -VIRTQ_ERR_RING);
	setup(256);
	vq.avail += 1;
	CHECK_EQ(virtq_check(&gm, &vq), -VIRTQ_ERR_RING);
	setup(256);
	vq.used += 2;
	CHECK_EQ(virtq_check(&gm, &vq), -VIRTQ_ERR_RING);
	setup(256);
	vq.used = at(RAM_SIZE - 1024); /* runs past the end of RAM */
	CHECK_EQ(virtq_check(&gm, &vq), -VIRTQ_ERR_RING);
	setup(256);
	static u8 ferry_memory[8192] __attribute__((aligned(16)));
	vq.desc = fake_gpa(ferry_memory);
	CHECK_EQ(virtq_check(&gm, &vq), -VIRTQ_ERR_RING);
	CHECK_EQ(virtq_pending(&gm, &vq), -VIRTQ_ERR_RING);
	CHECK_EQ(walk(0), -VIRTQ_ERR_RING);
	CHECK_EQ(virtq_push(&gm, &vq, 0, 0), -VIRTQ_ERR_RING);
	CHECK_STR(virtq_err_name(-VIRTQ_ERR_LOOP), "chain longer than the queue");
}

TEST(available_entries_and_index_jumps)
{
	setup(8);
	u16 head;
	CHECK_EQ(virtq_pending(&gm, &vq), 0);
	offer(5);
	offer(7);
	CHECK_EQ(virtq_pending(&gm, &vq), 2);
	CHECK_EQ(virtq_pop(&gm, &vq, &head), 0);
	CHECK_EQ(head, 5);
	CHECK_EQ(virtq_pop(&gm, &vq, &head), 0);
	CHECK_EQ(head, 7);
	CHECK_EQ(virtq_pending(&gm, &vq), 0);
	*avail(1) = (u16)(vq.last_avail + 8); /* a full ring is fine */
	CHECK_EQ(virtq_pending(&gm, &vq), 8);
	*avail(1) = (u16)(vq.last_avail + 9); /* more than the queue holds */
	CHECK_EQ(virtq_pending(&gm, &vq), -VIRTQ_ERR_AVAIL_IDX);
	*avail(1) = (u16)(vq.last_avail - 1); /* backwards is a huge jump */
	CHECK_EQ(virtq_pending(&gm, &vq), -VIRTQ_ERR_AVAIL_IDX);
	*avail(2 + (vq.last_avail & 7)) = 8; /* names no descriptor */
	CHECK_EQ(virtq_pop(&gm, &vq, &head), -VIRTQ_ERR_HEAD);
	CHECK_EQ(vq.last_avail, 2);
}

TEST(indexes_wrap_at_16_bits)
{
	setup(4);
	vq.last_avail = 0xFFFF;
	*avail(1) = 0xFFFF;
	offer(3);
	CHECK_EQ(*avail(1), 0);
	CHECK_EQ(virtq_pending(&gm, &vq), 1);
	u16 head;
	CHECK_EQ(virtq_pop(&gm, &vq, &head), 0);
	CHECK_EQ(head, 3);
	CHECK_EQ(vq.last_avail, 0);
	vq.used_idx = 0xFFFF;
	CHECK_EQ(virtq_push(&gm, &vq, 3, 17), 0);
	CHECK_EQ(used_idx(), 0);
	CHECK_EQ(used_elem(3)->id, 3); /* 0xFFFF & 3 */
	CHECK_EQ(used_elem(3)->len, 17);
}

TEST(chain_of_readable_then_writable)
{
	setup(256);
	set(desc(10), BUF_OFF, 16, VIRTQ_DESC_F_NEXT, 200);
	set(desc(200), BUF_OFF + 4096, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	set(desc(3), BUF_OFF + 8192, 1, VIRTQ_DESC_F_WRITE, 99); /* next ignored without NEXT */
	CHECK_EQ(walk(10), 0);
	CHECK_EQ(chain.head, 10);
	CHECK_EQ(chain.n, 3);
	CHECK_EQ(chain.nread, 1);
	CHECK(!chain.misordered);
	CHECK_EQ(chain.read_len, 16);
	CHECK_EQ(chain.write_len, 4097);
	CHECK_EQ(chain.buf[1].addr, at(BUF_OFF + 4096));
	CHECK(chain.buf[2].write);
	/* The chain is a copy: the driver rewriting its descriptors changes
	 * nothing ferry already took. */
	set(desc(200), 0, 0, 0, 0);
	CHECK_EQ(chain.buf[1].len, 4096);
}

TEST(loops_and_bad_next_are_ring_errors)
{
	setup(256);
	set(desc(0), BUF_OFF, 16, VIRTQ_DESC_F_NEXT, 0); /* itself */
	CHECK_EQ(walk(0), -VIRTQ_ERR_LOOP);
	set(desc(0), BUF_OFF, 16, VIRTQ_DESC_F_NEXT, 1);
	set(desc(1), BUF_OFF, 16, VIRTQ_DESC_F_NEXT, 2);
	set(desc(2), BUF_OFF, 16, VIRTQ_DESC_F_NEXT, 1); /* 0 1 2 1 2 ... */
	CHECK_EQ(walk(0), -VIRTQ_ERR_LOOP);
	set(desc(2), BUF_OFF, 16, VIRTQ_DESC_F_NEXT, 256);
	CHECK_EQ(walk(0), -VIRTQ_ERR_NEXT);
	set(desc(2), BUF_OFF, 16, VIRTQ_DESC_F_NEXT, 0xFFFF);
	CHECK_EQ(walk(0), -VIRTQ_ERR_NEXT);
	CHECK_EQ(walk(256), -VIRTQ_ERR_HEAD);
}

TEST(chain_as_long_as_the_queue_is_fine_one_more_is_a_loop)
{
	setup(256);
	for (unsigned i = 0; i < 256; i++)
		set(desc(i), BUF_OFF, 4, i < 255 ? VIRTQ_DESC_F_NEXT : 0, (u16)(i + 1));
	CHECK_EQ(walk(0), 0);
	CHECK_EQ(chain.n, 256);
	set(desc(255), BUF_OFF, 4, VIRTQ_DESC_F_NEXT, 0);
	CHECK_EQ(walk(0), -VIRTQ_ERR_LOOP);
	CHECK_EQ(walk(100), -VIRTQ_ERR_LOOP);
}

TEST(indirect_table)
{
	setup(256);
	set(itab(0), BUF_OFF, 16, VIRTQ_DESC_F_NEXT, 2);
	set(itab(2), BUF_OFF + 512, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set(itab(1), BUF_OFF + 2048, 1, VIRTQ_DESC_F_WRITE, 0);
	/* A WRITE flag on the descriptor of the table itself is ignored. */
	set(desc(7), TABLE_OFF, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	CHECK_EQ(walk(7), 0);
	CHECK_EQ(chain.n, 3);
	CHECK_EQ(chain.nread, 1);
	CHECK_EQ(chain.write_len, 513);
	/* Direct descriptors first, the table last. */
	set(desc(1), BUF_OFF + 4096, 8, VIRTQ_DESC_F_NEXT, 7);
	CHECK_EQ(walk(1), 0);
	CHECK_EQ(chain.n, 4);
	CHECK_EQ(chain.nread, 2);
	CHECK_EQ(chain.read_len, 24);
}

TEST(bad_indirect_tables)
{
	setup(256);
	set(itab(0), BUF_OFF, 16, 0, 0);
	set(desc(0), TABLE_OFF, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vq.indirect = false; /* not negotiated */
	CHECK_EQ(walk(0), -VIRTQ_ERR_INDIRECT);
	vq.indirect = true;
	CHECK_EQ(walk(0), 0);
	set(desc(0), TABLE_OFF, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	CHECK_EQ(walk(0), -VIRTQ_ERR_INDIRECT);
	static const u32 bad_lens[] = { 0, 8, 17, 257 * 16 };
	for (unsigned i = 0; i < ARRAY_SIZE(bad_lens); i++) {
		set(desc(0), TABLE_OFF, bad_lens[i], VIRTQ_DESC_F_INDIRECT, 0);
		CHECK_EQ(walk(0), -VIRTQ_ERR_INDIRECT);
	}
	static struct virtq_desc ferry_table[4];
	desc(0)->addr = fake_gpa(ferry_table);
	desc(0)->len = sizeof(ferry_table);
	CHECK_EQ(walk(0), -VIRTQ_ERR_INDIRECT);
	set(desc(0), RAM_SIZE - 32, 64, VIRTQ_DESC_F_INDIRECT, 0); /* past the end of RAM */
	CHECK_EQ(walk(0), -VIRTQ_ERR_INDIRECT);
	set(desc(0), TABLE_OFF, 4 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	set(itab(0), TABLE_OFF, 16, VIRTQ_DESC_F_INDIRECT, 0); /* nested */
	CHECK_EQ(walk(0), -VIRTQ_ERR_INDIRECT);
	set(itab(0), BUF_OFF, 16, VIRTQ_DESC_F_NEXT, 1);
	set(itab(1), BUF_OFF, 16, VIRTQ_DESC_F_NEXT, 0); /* loop inside the table */
	CHECK_EQ(walk(0), -VIRTQ_ERR_LOOP);
	set(itab(1), BUF_OFF, 16, VIRTQ_DESC_F_NEXT, 4); /* past the table's 4 entries */
	CHECK_EQ(walk(0), -VIRTQ_ERR_NEXT);
}

/* Two direct descriptors and a full table: 258 buffers, more than the
 * queue size any chain may have. */
TEST(direct_plus_indirect_longer_than_the_queue)
{
	setup(256);
	for (unsigned i = 0; i < 256; i++)
		set(itab(i), BUF_OFF, 4, i < 255 ? VIRTQ_DESC_F_NEXT : 0, (u16)(i + 1));
	set(desc(0), BUF_OFF, 4, VIRTQ_DESC_F_NEXT, 1);
	set(desc(1), BUF_OFF, 4, VIRTQ_DESC_F_NEXT, 2);
	set(desc(2), TABLE_OFF, 256 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	CHECK_EQ(walk(2), 0);
	CHECK_EQ(chain.n, 256);
	CHECK_EQ(walk(0), -VIRTQ_ERR_LOOP);
}

TEST(readable_after_writable_is_flagged)
{
	setup(256);
	set(desc(0), BUF_OFF, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set(desc(1), BUF_OFF + 16, 16, VIRTQ_DESC_F_NEXT, 2);
	set(desc(2), BUF_OFF + 32, 1, VIRTQ_DESC_F_WRITE, 0);
	CHECK_EQ(walk(0), 0);
	CHECK(chain.misordered);
	CHECK_EQ(chain.nread, 0);
	/* The writable part holds a readable buffer: writes are refused. */
	u8 b[20] = { 0 };
	CHECK_EQ(virtq_write(&gm, &chain, 0, b, 20), -E_RANGE);
	CHECK_EQ(virtq_write(&gm, &chain, 0, b, 16), 0);
}

TEST(byte_streams_over_the_parts)
{
	setup(256);
	for (unsigned i = 0; i < 64; i++)
		ram[BUF_OFF + i] = (u8)i;
	set(desc(0), BUF_OFF, 10, VIRTQ_DESC_F_NEXT, 1);
	set(desc(1), BUF_OFF + 10, 0, VIRTQ_DESC_F_NEXT, 2); /* empty buffers are skipped */
	set(desc(2), BUF_OFF + 10, 20, VIRTQ_DESC_F_NEXT, 3);
	set(desc(3), BUF_OFF + 100, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 4);
	set(desc(4), BUF_OFF + 200, 8, VIRTQ_DESC_F_WRITE, 0);
	CHECK_EQ(walk(0), 0);
	u8 b[32];
	CHECK_EQ(virtq_read(&gm, &chain, 0, b, 16), 0);
	CHECK(memcmp(b, ram + BUF_OFF, 16) == 0);
	CHECK_EQ(virtq_read(&gm, &chain, 8, b, 22), 0);
	CHECK_EQ(b[0], 8);
	CHECK_EQ(b[21], 29);
	CHECK_EQ(virtq_read(&gm, &chain, 8, b, 23), -E_RANGE); /* one byte past the readable part */
	memset(b, 0xA5, sizeof(b));
	CHECK_EQ(virtq_write(&gm, &chain, 6, b, 4), 0);
	CHECK_EQ(ram[BUF_OFF + 106], 0xA5);
	CHECK_EQ(ram[BUF_OFF + 200], 0xA5);
	CHECK_EQ(ram[BUF_OFF + 202], 0);
	CHECK_EQ(virtq_write(&gm, &chain, 15, b, 1), 0);
	CHECK_EQ(ram[BUF_OFF + 207], 0xA5);
	CHECK_EQ(virtq_write(&gm, &chain, 15, b, 2), -E_RANGE);
}

TEST(buffers_outside_ram_are_never_touched)
{
	setup(256);
	static u8 ferry_memory[64];
	memset(ferry_memory, 0x5A, sizeof(ferry_memory));
	set(desc(0), BUF_OFF, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(1)->addr = fake_gpa(ferry_memory);
	desc(1)->len = 32;
	desc(1)->flags = VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT;
	desc(1)->next = 2;
	set(desc(2), BUF_OFF + 64, 4, VIRTQ_DESC_F_WRITE, 0);
	CHECK_EQ(walk(0), 0); /* the chain is well formed: its buffers are the request's concern */
	u8 b[36] = { 0 };
	CHECK_EQ(virtq_write(&gm, &chain, 0, b, 36), -E_RANGE);
	CHECK_EQ(ferry_memory[0], 0x5A);
	CHECK_EQ(ram[BUF_OFF + 64], 0); /* nothing written when any piece is bad */
	/* Buffers before the range are not touched, so not checked: a
	 * request's status after a bad data buffer can still be written. */
	b[0] = 1;
	CHECK_EQ(virtq_write(&gm, &chain, 32, b, 1), 0);
	CHECK_EQ(ram[BUF_OFF + 64], 1);
	/* A buffer whose end wraps around the address space. */
	desc(1)->addr = ~0ULL - 15;
	desc(1)->len = 64;
	desc(1)->flags = VIRTQ_DESC_F_NEXT;
	CHECK_EQ(walk(0), 0);
	CHECK_EQ(virtq_read(&gm, &chain, 40, b, 4), -E_RANGE);
}

TEST(used_ring_and_interrupt_suppression)
{
	setup(4);
	for (u16 i = 0; i < 6; i++)
		CHECK_EQ(virtq_push(&gm, &vq, i & 3, 100 + i), 0);
	CHECK_EQ(used_idx(), 6);
	CHECK_EQ(used_elem(0)->len, 104); /* entries 4 and 5 wrapped to 0 and 1 */
	CHECK_EQ(used_elem(1)->len, 105);
	CHECK_EQ(used_elem(2)->id, 2);
	CHECK_EQ(*(u16 *)(ram + USED_OFF + 4 + 4 * 8), 0); /* nothing past the ring (avail_event) */
	/* The device's own index wins over what the driver wrote there. */
	*(u16 *)(ram + USED_OFF + 2) = 1000;
	CHECK_EQ(virtq_push(&gm, &vq, 1, 0), 0);
	CHECK_EQ(used_idx(), 7);
	CHECK(virtq_want_interrupt(&gm, &vq));
	*avail(0) = VIRTQ_AVAIL_F_NO_INTERRUPT;
	CHECK(!virtq_want_interrupt(&gm, &vq));
}

int main(void)
{
	RUN(rings_must_be_guest_ram_aligned_and_sized);
	RUN(available_entries_and_index_jumps);
	RUN(indexes_wrap_at_16_bits);
	RUN(chain_of_readable_then_writable);
	RUN(loops_and_bad_next_are_ring_errors);
	RUN(chain_as_long_as_the_queue_is_fine_one_more_is_a_loop);
	RUN(indirect_table);
	RUN(bad_indirect_tables);
	RUN(direct_plus_indirect_longer_than_the_queue);
	RUN(readable_after_writable_is_flagged);
	RUN(byte_streams_over_the_parts);
	RUN(buffers_outside_ram_are_never_touched);
	RUN(used_ring_and_interrupt_suppression);
	fake_ram_free(ram);
	return CHECK_SUMMARY();
}
