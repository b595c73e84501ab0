/* MSI-X table, PBA and masking (msix.h). */
#include "msix.h"

void msix_init(struct msix *m, unsigned n, int (*send)(u64 addr, u32 data))
{
	*m = (struct msix){ .n = MIN(MAX(n, 1u), (unsigned)MSIX_MAX_VECTORS), .send = send };
	for (unsigned i = 0; i < MSIX_MAX_VECTORS; i++)
		m->e[i].ctrl = MSIX_CTRL_MASKED;
}

static bool masked(const struct msix *m, unsigned v) { return m->mask_all || (m->e[v].ctrl & MSIX_CTRL_MASKED); }

static void send(struct msix *m, unsigned v)
{
	const struct msix_entry *e = &m->e[v];
	int rc = m->send ? m->send((u64)e->addr_hi << 32 | e->addr_lo, e->data) : -E_NOTSUP;
	if (rc < 0) {
		m->refused++;
		m->last_refusal = rc;
	} else {
		m->sent++;
	}
}

/* Sends what is pending and no longer masked. */
static void flush_pending(struct msix *m)
{
	if (!m->enabled)
		return;
	for (unsigned v = 0; v < m->n; v++)
		if ((m->pending & BIT(v)) && !masked(m, v)) {
			m->pending &= ~(u32)BIT(v);
			send(m, v);
		}
}

void msix_signal(struct msix *m, unsigned vector)
{
	if (!m->enabled || vector >= m->n) {
		m->dropped++;
		return;
	}
	if (masked(m, vector)) {
		m->pending |= (u32)BIT(vector);
		m->latched++;
		return;
	}
	send(m, vector);
}

void msix_control(struct msix *m, bool enable, bool mask_all)
{
	m->enabled = enable;
	m->mask_all = mask_all;
	flush_pending(m);
}

static bool access_ok(u64 off, unsigned size, u64 limit)
{
	return (size == 4 || size == 8) && off % size == 0 && off + size <= limit;
}

static u32 *word(struct msix *m, u64 off) { return &m->e[off / MSIX_ENTRY_SIZE].addr_lo + (off % MSIX_ENTRY_SIZE) / 4; }
static const u32 *word_ro(const struct msix *m, u64 off)
{
	return &m->e[off / MSIX_ENTRY_SIZE].addr_lo + (off % MSIX_ENTRY_SIZE) / 4;
}

u64 msix_table_read(const struct msix *m, u64 off, unsigned size)
{
	if (!access_ok(off, size, (u64)m->n * MSIX_ENTRY_SIZE))
		return 0;
	u64 v = *word_ro(m, off);
	if (size == 8)
		v |= (u64)*word_ro(m, off + 4) << 32;
	return v;
}

static void write_word(struct msix *m, u64 off, u32 v)
{
	if (off % MSIX_ENTRY_SIZE != MSIX_ENTRY_CTRL) {
		*word(m, off) = v;
		return;
	}
	/* Vector control: only the mask bit is defined; an unmask sends what
	 * was latched. */
	*word(m, off) = v & MSIX_CTRL_MASKED;
	flush_pending(m);
}

void msix_table_write(struct msix *m, u64 off, unsigned size, u64 val)
{
	if (!access_ok(off, size, (u64)m->n * MSIX_ENTRY_SIZE))
		return;
	write_word(m, off, (u32)val);
	if (size == 8)
		write_word(m, off + 4, (u32)(val >> 32));
}

u64 msix_pba_read(const struct msix *m, u64 off, unsigned size)
{
	if (!access_ok(off, size, 8))
		return 0;
	return off ? 0 : size == 8 ? m->pending : (u32)m->pending;
}
