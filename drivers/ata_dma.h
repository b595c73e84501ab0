/* Bus-master IDE DMA for the IDE driver (drivers/ata_dma.c): the PRD
 * table built from a request's segments, one DMA command, and the bounce
 * buffer for memory above 4 GiB (BMIDE 1.0 addresses 32 bits).
 *
 * References: "Programming Interface for Bus Master IDE Controller" rev.
 * 1.0 (ata.h). */
#ifndef FERRY_ATA_DMA_H
#define FERRY_ATA_DMA_H

#include "ata_chan.h"

/* Request size.  A segment of L bytes split at 64 KiB boundaries needs at
 * most floor(L / 64 KiB) + 2 PRDs, so a request of B bytes in at most
 * BLK_MAX_SEGS segments needs at most B / 64 KiB + 2 * BLK_MAX_SEGS: with
 * the table's 512 entries, B may reach (512 - 128) * 64 KiB = 24 MiB. */
#define ATA_MAX_REQ_BYTES ((u64)(ATA_PRDT_ENTRIES - 2 * BLK_MAX_SEGS) * ATA_PRD_MAX_BYTES)
_Static_assert(ATA_PRDT_ENTRIES > 2 * BLK_MAX_SEGS, "the PRD table must outgrow the segment count");

/* The bounce buffer for requests with memory above 4 GiB; it also holds
 * the IDENTIFY data at probe time. */
#define ATA_BOUNCE_BYTES (64 * KiB)
#define ATA_BOUNCE_PAGES (ATA_BOUNCE_BYTES / PAGE_SIZE)
_Static_assert(ATA_BOUNCE_BYTES % 4096 == 0, "whole sectors of either size");

/* Fills d's PRD table from segments below 4 GiB, splitting each at 64 KiB
 * boundaries.  Returns the number of PRDs or -E_INVAL. */
int ata_fill_prdt(struct ata_disk *d, const struct blk_seg *segs, unsigned nseg);
/* One bus-master DMA command over the PRD table ata_fill_prdt built. */
int ata_dma(struct ata_disk *d, u8 command, u64 lba, u32 count, bool write);
/* A request with memory above 4 GiB, by DMA through d's bounce buffer,
 * one command per ATA_BOUNCE_BYTES. */
int ata_dma_bounce(struct ata_disk *d, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg, bool write);

#endif
