/* The logical block device (register interface: lib/guest_abi.h,
 * docs/logical-device.md). */
#ifndef FERRY_LBD_H
#define FERRY_LBD_H

#include "vm/vm.h"
#include "platform/blk.h"

struct lbd_stats {
	u64 commands, errors, bytes_read, bytes_written;
};

/* Places the register page at gpa (mapped read-only in the nested tables)
 * and serves commands with backend (NULL: every command fails with
 * LBD_ST_NO_DEVICE). */
int lbd_attach(struct vm *vm, gpa_t gpa, struct blk_dev *backend);
const struct lbd_stats *lbd_get_stats(void);

/* The command path (vdev/lbd_cmd.c): executes the
 * descriptor at desc_gpa against the guest memory `ram` and returns the
 * LBD_ST_* status it also stores in the descriptor when it can. */
u32 lbd_execute(const struct gmem *ram, struct blk_dev *dev, gpa_t desc_gpa, struct lbd_stats *stats);

#endif
