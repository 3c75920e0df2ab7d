// SPDX-License-Identifier: GPL-2.0
/*
 * zc_memhog MIB: allocates MIB MiB of anonymous memory, touches every page
 * and holds it for a moment. Exits 0 if it got all of it (a process that is
 * OOM-killed never prints "ok"). Used by tests/vm/zcache.sh to check that
 * zcache gives memory back under pressure (its shrinker).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t mib, len, off;
	char *p;

	if (argc != 2) {
		fprintf(stderr, "usage: zc_memhog MIB\n");
		return 2;
	}
	mib = strtoul(argv[1], NULL, 10);
	len = mib << 20;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (off = 0; off < len; off += 4096)
		p[off] = (char)off | 1;
	sleep(1);
	printf("ok %zu MiB\n", mib);
	return 0;
}
