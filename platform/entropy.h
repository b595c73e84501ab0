/* Values that differ on every boot, for the protocols' session values
 * (net/: the session, and through it the handshake keys, the cookie
 * secret and the nonces' uniqueness across boots; docs/protocol.md). */
#ifndef FERRY_ENTROPY_H
#define FERRY_ENTROPY_H

#include "lib/types.h"

/* 32 bytes for this boot and purpose: SHA-256 over the CPU's random
 * number generator (RDSEED, else RDRAND), the TSC, the jitter of timed
 * port reads and ctx.  Without RDRAND and RDSEED it says once that the
 * value rests on timing alone, which a deterministic machine (an
 * emulator replaying a boot) repeats. */
void entropy_get(const void *ctx, size_t ctx_len, u8 out[32]);

#endif
