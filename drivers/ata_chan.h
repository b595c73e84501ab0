/* The IDE driver's pieces (drivers/ata.c: the block back end and the
 * probe; drivers/ata_chan.c: one channel's task file, PIO and IDENTIFY;
 * drivers/ata_dma.c: bus-master DMA) and what they share: the channel's
 * ports, the disk, register access and the command protocols.
 *
 * References: ATA/ATAPI-6 for the task file and its protocols, BMIDE 1.0
 * for the bus-master registers (ata.h). */
#ifndef FERRY_ATA_CHAN_H
#define FERRY_ATA_CHAN_H

#include "ata.h"
#include "x86/io.h"

/* Timeouts, in microseconds. */
#define ATA_RESET_US (10 * 1000 * 1000) /* BSY clears after SRST (ATA allows 31 s for a spin-up) */
#define ATA_CMD_US (10 * 1000 * 1000)   /* one DMA command, DRQ block, IDENTIFY or selection */
#define ATA_FLUSH_US (30 * 1000 * 1000) /* FLUSH CACHE [EXT] */

/* One channel's ports. */
struct ata_chan {
	u16 cmd;     /* command block */
	u16 ctl;     /* device control (write) / alternate status (read) */
	u16 bm;      /* bus-master block; 0: none (PIO only) */
	bool legacy; /* compatibility mode: cmd and ctl are the fixed ISA ports */
};

struct ata_disk {
	struct ata_chan ch;
	unsigned chan, unit; /* 0 primary / 1 secondary; 0 master / 1 slave */
	char where[24];      /* "primary master" */
	bool dma;            /* bus-master DMA; else PIO */
	bool lba48;
	bool ready;          /* false after a failed reset: the next request resets first */
	bool dead;           /* that reset failed too */
	bool told_bounce;    /* the bounce buffer's first use was logged */
	u64 sectors;
	u32 sector_size, max_sectors;
	u8 cmd_read, cmd_write, cmd_flush;
	struct ata_prd *prdt; /* one page */
	u8 *bounce;           /* ATA_BOUNCE_BYTES */
};

/* ---- Register access ---------------------------------------------------- */

static inline u8 ata_rd(const struct ata_chan *c, unsigned reg) { return inb((u16)(c->cmd + reg)); }
static inline void ata_wr(const struct ata_chan *c, unsigned reg, u8 v) { outb((u16)(c->cmd + reg), v); }
static inline u8 ata_altstatus(const struct ata_chan *c) { return inb(c->ctl); }
static inline void ata_devctl(const struct ata_chan *c, u8 v) { outb(c->ctl, v); }
static inline u8 bm_rd(const struct ata_chan *c, unsigned reg) { return inb((u16)(c->bm + reg)); }
static inline void bm_wr(const struct ata_chan *c, unsigned reg, u8 v) { outb((u16)(c->bm + reg), v); }

/* Clears the bus master's error and interrupt bits (write 1 to clear),
 * keeping the firmware's drive-DMA-capable bits. */
void bm_clear(const struct ata_chan *c);
/* Status is valid 400 ns after a command is written or a device selected:
 * a pause of a little longer. */
void ata_pause(const struct ata_chan *c);
/* Polls the alternate status until (status & mask) == want.  Returns true
 * on success; *st gets the last status either way. */
bool ata_wait(const struct ata_chan *c, u8 mask, u8 want, u64 timeout_us, u8 *st);
/* "51 (DRDY ERR)": a register value with the names of the bits set. */
const char *ata_bits(char *buf, size_t size, u8 v, const char *const names[8]);
extern const char *const ata_sts_names[8]; /* the status register's bits, for ata_bits */

/* ---- Channel reset and commands ----------------------------------------- */

/* Software reset of both devices on the channel (SRST), bus master
 * stopped first: 0, or -E_TIMEDOUT when BSY stays set (*st). */
int ata_chan_reset(const struct ata_chan *c, u8 *st);
/* Selects d, writes the task file and the command. */
int ata_issue(const struct ata_disk *d, u8 command, u64 lba, u32 count, bool ext, u8 *st);
/* 0 when d may take a command; a disk whose recovery failed gets one more
 * channel reset here, then -E_IO for good. */
int ata_usable(struct ata_disk *d);
/* Logs a failed command with the registers, resets the channel; returns
 * rc. */
int ata_fail(struct ata_disk *d, int rc, u8 command, u64 lba, u32 count, u8 st);

/* ---- Data by PIO -------------------------------------------------------- */

/* A cursor over a segment list. */
struct ata_sg {
	const struct blk_seg *segs;
	unsigned nseg, i;
	u32 off; /* into segs[i] */
};

/* The next piece of the list, at most max bytes: its length (0 at the
 * end) and, in *p, where it is in ferry's identity map. */
u32 ata_sg_take(struct ata_sg *sg, u32 max, void **p);
/* Copies len bytes between the cursor's memory and buf. */
void ata_sg_copy(struct ata_sg *sg, u8 *buf, u32 len, bool to_sg);
/* One PIO data-in or data-out command, one DRQ block per sector. */
int ata_pio(struct ata_disk *d, u8 command, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg,
	    bool write);

/* ---- Finding devices ---------------------------------------------------- */

/* IDENTIFY DEVICE or IDENTIFY PACKET DEVICE by PIO into id (512 bytes).
 * -E_NOENT when no device answers, -E_IO when it aborts the command. */
int ata_identify(struct ata_disk *d, u8 command, u16 *id);
/* The signature a device leaves in LBA mid/high after a reset. */
u16 ata_signature(const struct ata_chan *c);
/* Is a device attached to the channel at all? */
bool ata_chan_present(const struct ata_chan *c);

#endif
