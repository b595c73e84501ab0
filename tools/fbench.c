/* fbench: the workloads of tools/bench_remote.py that busybox cannot run,
 * built static on the host and put into the Linux guest's initramfs.
 *
 *   fbench qd DEVICE THREADS KIB SECONDS
 *       THREADS threads each read KIB-sized, KIB-aligned blocks at random
 *       offsets of DEVICE with O_DIRECT, one at a time, for SECONDS: a
 *       queue THREADS deep at the block layer.  Prints
 *       "fbench qd: N reads, X MiB/s, Y IOPS, Z s", and ", E exits" under
 *       ferry: its VM exits over the run (CPUID leaf 0x40000003,
 *       lib/guest_abi.h), for exits per request, then a line
 *       "fbench qd exits: ..." with them by cause (leaf 0x40000004).
 *   fbench spin SECONDS
 *       Counts turns of a loop for SECONDS of wall time and prints
 *       "fbench spin: N Mturns/s": the CPU left to the guest (run it alone
 *       and beside I/O).
 *
 * Time is CLOCK_MONOTONIC, the guest's own clock. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <cpuid.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* ferry's counts of VM exits so far (CPUID leaves 0x40000003-4,
 * lib/guest_abi.h): all of them, then by cause; all = -1 when not under
 * ferry (its signature "FerryHV" at leaf 0x40000000). */
struct exits {
	long long all;
	unsigned npf, io, hlt, poll, apic, intr;
	int by_cause; /* leaf 0x40000004 there (an older ferry lacks it) */
};

static struct exits ferry_exits(void)
{
	struct exits e = { .all = -1 };
	unsigned a, b, c, d;
	__cpuid(0x40000000, a, b, c, d);
	if (a < 0x40000003 || b != 0x72726546 || c != 0x00564879)
		return e;
	unsigned max = a;
	__cpuid(0x40000003, a, b, c, d);
	e.all = (long long)a | (long long)b << 32;
	e.npf = c, e.io = d;
	if (max >= 0x40000004) {
		__cpuid(0x40000004, a, b, c, d);
		e.hlt = a, e.poll = b, e.apic = c, e.intr = d;
		e.by_cause = 1;
	}
	return e;
}

struct qd {
	int fd;
	uint64_t blocks, bs;
	double end;
	uint64_t seed, reads;
	int failed;
};

static void *qd_thread(void *arg)
{
	struct qd *q = arg;
	void *buf;
	if (posix_memalign(&buf, 4096, q->bs)) {
		q->failed = 1;
		return NULL;
	}
	uint64_t x = q->seed;
	while (now() < q->end) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		off_t off = (off_t)((x % q->blocks) * q->bs);
		if (pread(q->fd, buf, q->bs, off) != (ssize_t)q->bs) {
			perror("fbench qd: pread");
			q->failed = 1;
			break;
		}
		q->reads++;
	}
	free(buf);
	return NULL;
}

static int qd(const char *dev, int threads, uint64_t kib, double secs)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);
	uint64_t size = 0;
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0) {
		perror(dev);
		return 1;
	}
	if (threads < 1 || threads > 256 || kib == 0 || size < kib * 1024) {
		fprintf(stderr, "fbench qd: bad arguments\n");
		return 1;
	}
	struct qd q[256];
	pthread_t t[256];
	struct exits e0 = ferry_exits();
	double start = now();
	for (int i = 0; i < threads; i++) {
		q[i] = (struct qd){ .fd = fd, .blocks = size / (kib * 1024), .bs = kib * 1024, .end = start + secs,
				    .seed = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) };
		if (pthread_create(&t[i], NULL, qd_thread, &q[i])) {
			perror("fbench qd: pthread_create");
			return 1;
		}
	}
	uint64_t reads = 0;
	int failed = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		reads += q[i].reads;
		failed |= q[i].failed;
	}
	double took = now() - start;
	struct exits e1 = ferry_exits();
	printf("fbench qd: %llu reads, %.2f MiB/s, %.0f IOPS, %.2f s", (unsigned long long)reads,
	       reads * (double)kib / 1024 / took, reads / took, took);
	if (e0.all >= 0 && e1.all >= 0)
		printf(", %lld exits", e1.all - e0.all);
	printf("\n");
	if (e0.by_cause && e1.by_cause)
		printf("fbench qd exits: npf %u (local APIC writes %u), io %u, hlt %u, poll %u, intr %u\n",
		       e1.npf - e0.npf, e1.apic - e0.apic, e1.io - e0.io, e1.hlt - e0.hlt, e1.poll - e0.poll,
		       e1.intr - e0.intr);
	return failed;
}

static int spin(double secs)
{
	volatile uint64_t turns = 0;
	double start = now(), t = start;
	while (t - start < secs) {
		for (int i = 0; i < 100000; i++)
			turns++;
		t = now();
	}
	printf("fbench spin: %.1f Mturns/s\n", turns / (t - start) / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "qd"))
		return qd(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 0), atof(argv[5]));
	if (argc == 3 && !strcmp(argv[1], "spin"))
		return spin(atof(argv[2]));
	fprintf(stderr, "usage: fbench qd DEVICE THREADS KIB SECONDS | fbench spin SECONDS\n");
	return 2;
}
