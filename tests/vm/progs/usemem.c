// SPDX-License-Identifier: GPL-2.0
/*
 * usemem MIB: the usemem of the original zcache thread (an OOM report in
 * 2010: zcache held memory that the kernel could not get back), made
 * checkable. Locks all its memory (mlockall(MCL_CURRENT | MCL_FUTURE), so
 * nothing it gets can be reclaimed or swapped), mallocs MIB MiB in 32 chunks,
 * touches every page, writes a pattern to every page and reads it back.
 * Prints "usemem: ok MIB MiB in T ms" and exits 0 if it got and kept all of
 * it; exits 1 on any failure. A process that is OOM-killed prints nothing.
 * Used by tests/vm/usemem.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define CHUNKS 32
#define PAGE 4096UL

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char *argv[])
{
	unsigned long mb, len[CHUNKS], off, bad = 0;
	char *buf[CHUNKS], *end;
	double t0;
	int i;

	if (argc != 2) {
		fprintf(stderr, "usage: usemem MIB\n");
		return 2;
	}
	mb = strtoul(argv[1], &end, 10);
	if (*end || mb == 0) {
		fprintf(stderr, "usemem: bad size '%s'\n", argv[1]);
		return 2;
	}
	t0 = now_ms();
	if (mlockall(MCL_CURRENT | MCL_FUTURE)) {
		perror("usemem: mlockall");
		return 1;
	}
	for (i = 0; i < CHUNKS; i++) {
		len[i] = (mb / CHUNKS + (i < (int)(mb % CHUNKS))) << 20;
		buf[i] = NULL;
		if (!len[i])
			continue;
		buf[i] = malloc(len[i]);
		if (!buf[i]) {
			fprintf(stderr, "usemem: malloc failure at chunk %d\n", i);
			return 1;
		}
	}
	for (i = 0; i < CHUNKS; i++)
		if (buf[i])
			memset(buf[i], 0, len[i]);
	for (i = 0; i < CHUNKS; i++)
		for (off = 0; off < len[i]; off += PAGE)
			*(unsigned long *)(buf[i] + off) = (unsigned long)i << 40 | off;
	for (i = 0; i < CHUNKS; i++)
		for (off = 0; off < len[i]; off += PAGE)
			if (*(unsigned long *)(buf[i] + off) != ((unsigned long)i << 40 | off) ||
			    buf[i][off + PAGE - 1] != 0)
				bad++;
	if (bad) {
		fprintf(stderr, "usemem: %lu pages read back wrong\n", bad);
		return 1;
	}
	printf("usemem: ok %lu MiB in %.0f ms\n", mb, now_ms() - t0);
	return 0;
}
