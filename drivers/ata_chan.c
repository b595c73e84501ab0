/* One IDE channel: register access, the SRST and device-selection
 * protocols, the task file, error recovery, PIO data transfer and
 * IDENTIFY (drivers/ata_chan.h).
 *
 * References: ATA/ATAPI-6 (T13/1410D) for the registers and protocols;
 * BMIDE 1.0 for the bus-master status register. */
#include "ata_chan.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "platform/time.h"
#include "lib/fmt.h"
#include "lib/string.h"

/* Delays, in microseconds. */
#define ATA_SRST_HOLD_US 10   /* SRST stays set at least 5 us */
#define ATA_SRST_WAIT_US 2000 /* and status is read no sooner than 2 ms after */

/* Clears the bus master's error and interrupt bits (write 1 to clear),
 * keeping the firmware's drive-DMA-capable bits. */
void bm_clear(const struct ata_chan *c)
{
	u8 keep = bm_rd(c, ATA_BM_STATUS) & (ATA_BM_STS_DRV0_DMA | ATA_BM_STS_DRV1_DMA);
	bm_wr(c, ATA_BM_STATUS, keep | ATA_BM_STS_ERROR | ATA_BM_STS_INTR);
}

/* The data register, a block of 16-bit words at a time. */
static inline void ata_insw(u16 port, void *buf, size_t words)
{
	__asm__ volatile("rep insw" : "+D"(buf), "+c"(words) : "d"(port) : "memory");
}

static inline void ata_outsw(u16 port, const void *buf, size_t words)
{
	__asm__ volatile("rep outsw" : "+S"(buf), "+c"(words) : "d"(port) : "memory");
}

/* Status is valid 400 ns after a command is written or a device selected
 * (ATA/ATAPI-6): read the alternate status once (it does not acknowledge
 * anything), then wait a little longer than that. */
void ata_pause(const struct ata_chan *c)
{
	(void)ata_altstatus(c);
	udelay(1);
}

/* Polls the alternate status until (status & mask) == want.  Returns true
 * on success; *st gets the last status either way. */
bool ata_wait(const struct ata_chan *c, u8 mask, u8 want, u64 timeout_us, u8 *st)
{
	u64 start = time_us();
	for (;;) {
		*st = ata_altstatus(c);
		if ((*st & mask) == want)
			return true;
		if (time_us() - start > timeout_us) {
			*st = ata_altstatus(c);
			return (*st & mask) == want;
		}
		cpu_relax();
	}
}

/* "51 (DRDY ERR)": a register value with the names of the bits set. */
const char *ata_bits(char *buf, size_t size, u8 v, const char *const names[8])
{
	size_t n = (size_t)fmt_snprintf(buf, size, "%02x", v);
	for (int b = 7; b >= 0; b--)
		if ((v & BIT(b)) && names[b] && n < size)
			n += (size_t)fmt_snprintf(buf + n, size - n, "%s%s", n == 2 ? " (" : " ", names[b]);
	if (n > 2 && n < size)
		fmt_snprintf(buf + n, size - n, ")");
	return buf;
}

const char *const ata_sts_names[8] = { "ERR", NULL, NULL, "DRQ", NULL, "DF", "DRDY", "BSY" };
static const char *const ata_err_names[8] = { NULL, NULL, "ABRT", NULL, "IDNF", NULL, "UNC", "ICRC" };
static const char *const ata_bm_names[8] = { "ACTIVE", "ERROR", "INTR", NULL, NULL, "DRV0DMA", "DRV1DMA", "SIMPLEX" };

/* ---- Channel reset and device selection -------------------------------- */

/* Software reset of both devices on the channel (ATA/ATAPI-6, SRST
 * protocol): SRST with nIEN, then SRST cleared and nIEN kept, then wait
 * for device 0 to clear BSY (it waits for device 1).  The bus master is
 * stopped first. */
int ata_chan_reset(const struct ata_chan *c, u8 *st)
{
	if (c->bm) {
		bm_wr(c, ATA_BM_CMD, 0);
		bm_clear(c);
	}
	ata_devctl(c, ATA_CTL_NIEN | ATA_CTL_SRST);
	udelay(ATA_SRST_HOLD_US);
	ata_devctl(c, ATA_CTL_NIEN);
	udelay(ATA_SRST_WAIT_US);
	return ata_wait(c, ATA_STS_BSY, 0, ATA_RESET_US, st) ? 0 : -E_TIMEDOUT;
}

/* The device register for a command to d: 28-bit commands carry LBA
 * 27:24 in it. */
static u8 ata_devreg(const struct ata_disk *d, u64 lba, bool lba28)
{
	return (u8)(ATA_DEV_OBS | ATA_DEV_LBA | (d->unit ? ATA_DEV_DEV : 0) | (lba28 ? (lba >> 24) & 0xF : 0));
}

/* Selects d's device (ATA/ATAPI-6 device selection protocol): the channel
 * must be idle before, and the device after. */
static int ata_select(const struct ata_disk *d, u8 devreg, u8 *st)
{
	const struct ata_chan *c = &d->ch;
	if (!ata_wait(c, ATA_STS_BSY | ATA_STS_DRQ, 0, ATA_CMD_US, st))
		return -E_TIMEDOUT;
	ata_wr(c, ATA_REG_DEVICE, devreg);
	ata_pause(c);
	return ata_wait(c, ATA_STS_BSY | ATA_STS_DRQ, 0, ATA_CMD_US, st) ? 0 : -E_TIMEDOUT;
}

/* Selects d, writes the task file (48-bit: the high bytes first, as each
 * register is a two-byte FIFO) and the command. */
int ata_issue(const struct ata_disk *d, u8 command, u64 lba, u32 count, bool ext, u8 *st)
{
	const struct ata_chan *c = &d->ch;
	int rc = ata_select(d, ata_devreg(d, lba, !ext), st);
	if (rc < 0)
		return rc;
	ata_wr(c, ATA_REG_FEATURES, 0);
	if (ext) {
		ata_wr(c, ATA_REG_FEATURES, 0);
		ata_wr(c, ATA_REG_COUNT, (u8)(count >> 8));
		ata_wr(c, ATA_REG_LBA_LOW, (u8)(lba >> 24));
		ata_wr(c, ATA_REG_LBA_MID, (u8)(lba >> 32));
		ata_wr(c, ATA_REG_LBA_HIGH, (u8)(lba >> 40));
	}
	ata_wr(c, ATA_REG_COUNT, (u8)count); /* 256 / 65536 are written as 0 */
	ata_wr(c, ATA_REG_LBA_LOW, (u8)lba);
	ata_wr(c, ATA_REG_LBA_MID, (u8)(lba >> 8));
	ata_wr(c, ATA_REG_LBA_HIGH, (u8)(lba >> 16));
	ata_wr(c, ATA_REG_COMMAND, command);
	ata_pause(c);
	return 0;
}

/* After a failed or timed-out command: reset the channel so later
 * commands find the disk idle.  The bus master is stopped by the reset. */
static int ata_recover(struct ata_disk *d)
{
	u8 st;
	d->ready = false;
	int rc = ata_chan_reset(&d->ch, &st);
	if (rc == 0)
		rc = ata_select(d, ata_devreg(d, 0, false), &st);
	if (rc < 0) {
		char sb[48];
		log_err("ata: %s: the disk stays busy after a channel reset (status=%s)", d->where,
			ata_bits(sb, sizeof(sb), st, ata_sts_names));
		return rc;
	}
	d->ready = true;
	log_info("ata: %s: channel reset", d->where);
	return 0;
}

/* A disk whose recovery failed gets one more reset at the next request. */
int ata_usable(struct ata_disk *d)
{
	if (d->ready)
		return 0;
	if (d->dead)
		return -E_IO;
	if (ata_recover(d) == 0)
		return 0;
	d->dead = true;
	log_err("ata: %s: giving up on the disk; every request now fails", d->where);
	return -E_IO;
}

/* Logs a failed command with the registers, resets the channel. */
int ata_fail(struct ata_disk *d, int rc, u8 command, u64 lba, u32 count, u8 st)
{
	const struct ata_chan *c = &d->ch;
	char sb[48], eb[48], bb[64] = "none";
	u8 err = ata_rd(c, ATA_REG_ERROR);
	if (c->bm)
		ata_bits(bb, sizeof(bb), bm_rd(c, ATA_BM_STATUS), ata_bm_names);
	log_err("ata: %s: %s lba %lu count %u %s: status=%s error=%s bm_status=%s", d->where, ata_cmd_name(command), lba,
		count, rc == -E_TIMEDOUT ? "timed out" : "failed", ata_bits(sb, sizeof(sb), st, ata_sts_names),
		ata_bits(eb, sizeof(eb), err, ata_err_names), bb);
	ata_recover(d);
	return rc;
}

/* ---- Segments by PIO ---------------------------------------------------- */

/* The next piece of the list, at most max bytes: its length (0 at the
 * end) and, in *p, where it is in ferry's identity map. */
u32 ata_sg_take(struct ata_sg *sg, u32 max, void **p)
{
	if (sg->i == sg->nseg)
		return 0;
	const struct blk_seg *s = &sg->segs[sg->i];
	u32 n = MIN(max, s->len - sg->off);
	*p = phys_to_virt(s->addr + sg->off);
	sg->off += n;
	if (sg->off == s->len) {
		sg->i++;
		sg->off = 0;
	}
	return n;
}

/* Copies len bytes between the cursor's memory and buf. */
void ata_sg_copy(struct ata_sg *sg, u8 *buf, u32 len, bool to_sg)
{
	void *p;
	for (u32 n; len && (n = ata_sg_take(sg, len, &p)) != 0; buf += n, len -= n) {
		if (to_sg)
			memcpy(p, buf, n);
		else
			memcpy(buf, p, n);
	}
}

/* One PIO data-in or data-out command (ATA/ATAPI-6 PIO protocols): one
 * DRQ block per sector, moved between the data register and the
 * segments. */
int ata_pio(struct ata_disk *d, u8 command, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg,
	    bool write)
{
	const struct ata_chan *c = &d->ch;
	struct ata_sg sg = { .segs = segs, .nseg = nseg };
	u16 data = (u16)(c->cmd + ATA_REG_DATA);
	u8 st;

	int rc = ata_issue(d, command, lba, count, d->lba48, &st);
	if (rc < 0)
		return ata_fail(d, rc, command, lba, count, st);
	for (u32 i = 0; i < count; i++) {
		if (!ata_wait(c, ATA_STS_BSY, 0, ATA_CMD_US, &st))
			return ata_fail(d, -E_TIMEDOUT, command, lba, count, st);
		if ((st & (ATA_STS_ERR | ATA_STS_DF)) || !(st & ATA_STS_DRQ))
			return ata_fail(d, -E_IO, command, lba, count, st);
		for (u32 left = d->sector_size, n; left; left -= n) {
			void *p;
			n = ata_sg_take(&sg, left, &p);
			if (n == 0)
				return ata_fail(d, -E_INVAL, command, lba, count, st); /* cannot happen: lengths were checked */
			if (write)
				ata_outsw(data, p, n / 2);
			else
				ata_insw(data, p, n / 2);
		}
		ata_pause(c);
	}
	/* After the last block the device finishes (writes: commits) it. */
	if (!ata_wait(c, ATA_STS_BSY, 0, ATA_CMD_US, &st))
		return ata_fail(d, -E_TIMEDOUT, command, lba, count, st);
	st = ata_rd(c, ATA_REG_STATUS);
	if (st & (ATA_STS_ERR | ATA_STS_DF | ATA_STS_DRQ))
		return ata_fail(d, -E_IO, command, lba, count, st);
	return 0;
}

/* ---- Finding devices ---------------------------------------------------- */

/* IDENTIFY DEVICE or IDENTIFY PACKET DEVICE by PIO into id (512 bytes).
 * -E_NOENT when no device answers, -E_IO when it aborts the command. */
int ata_identify(struct ata_disk *d, u8 command, u16 *id)
{
	const struct ata_chan *c = &d->ch;
	u8 st;

	ata_wr(c, ATA_REG_DEVICE, (u8)(ATA_DEV_OBS | (d->unit ? ATA_DEV_DEV : 0)));
	ata_pause(c);
	if (!ata_wait(c, ATA_STS_BSY | ATA_STS_DRQ, 0, ATA_CMD_US, &st))
		return -E_TIMEDOUT;
	ata_wr(c, ATA_REG_FEATURES, 0);
	ata_wr(c, ATA_REG_COUNT, 0);
	ata_wr(c, ATA_REG_LBA_LOW, 0);
	ata_wr(c, ATA_REG_LBA_MID, 0);
	ata_wr(c, ATA_REG_LBA_HIGH, 0);
	ata_wr(c, ATA_REG_COMMAND, command);
	ata_pause(c);
	st = ata_altstatus(c);
	if (st == 0 || st == 0xFF)
		return -E_NOENT; /* nobody there: ATA/ATAPI-6 has device 0 answer 00h for an absent device 1 */
	if (!ata_wait(c, ATA_STS_BSY, 0, ATA_CMD_US, &st))
		return -E_TIMEDOUT;
	if (st & (ATA_STS_ERR | ATA_STS_DF)) {
		(void)ata_rd(c, ATA_REG_STATUS);
		return -E_IO;
	}
	if (!ata_wait(c, ATA_STS_DRQ, ATA_STS_DRQ, ATA_CMD_US, &st))
		return -E_TIMEDOUT;
	ata_insw((u16)(c->cmd + ATA_REG_DATA), id, ATA_ID_WORDS);
	(void)ata_rd(c, ATA_REG_STATUS);
	return 0;
}

u16 ata_signature(const struct ata_chan *c)
{
	return (u16)(ata_rd(c, ATA_REG_LBA_HIGH) << 8 | ata_rd(c, ATA_REG_LBA_MID));
}

/* Is a device attached?  An empty channel floats (status FFh) or, on
 * QEMU, reads 00h in every register; a present device's sector count and
 * LBA low registers hold what was written to them. */
bool ata_chan_present(const struct ata_chan *c)
{
	if (ata_rd(c, ATA_REG_STATUS) == 0xFF && ata_altstatus(c) == 0xFF)
		return false;
	ata_wr(c, ATA_REG_DEVICE, ATA_DEV_OBS);
	ata_pause(c);
	ata_wr(c, ATA_REG_COUNT, 0x55);
	ata_wr(c, ATA_REG_LBA_LOW, 0xAA);
	ata_wr(c, ATA_REG_COUNT, 0xAA);
	ata_wr(c, ATA_REG_LBA_LOW, 0x55);
	return ata_rd(c, ATA_REG_COUNT) == 0xAA && ata_rd(c, ATA_REG_LBA_LOW) == 0x55;
}
