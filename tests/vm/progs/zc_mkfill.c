// SPDX-License-Identifier: GPL-2.0
/*
 * zc_mkfill [-c] FILE MIB [RAND]: writes a file of MIB MiB whose every 4 KiB page
 * holds RAND (default 1792) pseudo-random bytes followed by zeros, so that
 * each page compresses (LZO1X-1) to a little more than RAND bytes: just
 * under zcache's PAGE_SIZE/2 limit, the most memory a page of the file can
 * take in zcache. The content is deterministic (seeded by the page index)
 * and differs from page to page. Used by tests/vm/usemem.sh to fill zcache
 * with tens of MiB from a modest file (the corpus of real files is mostly
 * incompressible). With -c, reads FILE instead and checks that it holds
 * exactly that content: exit 0 if it does, 1 (naming the first bad page) if
 * not.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096

int main(int argc, char **argv)
{
	unsigned long mib, rnd = 1792, pages, p, i;
	unsigned char page[PAGE], got[PAGE];
	int fd, check = 0;
	uint64_t x;

	if (argc > 1 && !strcmp(argv[1], "-c")) {
		check = 1;
		argc--;
		argv++;
	}
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: zc_mkfill [-c] FILE MIB [RAND]\n");
		return 2;
	}
	mib = strtoul(argv[2], NULL, 10);
	if (argc == 4)
		rnd = strtoul(argv[3], NULL, 10);
	if (rnd > PAGE) {
		fprintf(stderr, "zc_mkfill: RAND must be at most %d\n", PAGE);
		return 2;
	}
	fd = check ? open(argv[1], O_RDONLY) : open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror("zc_mkfill: open");
		return 1;
	}
	pages = mib << 8;
	memset(page, 0, sizeof(page));
	for (p = 0; p < pages; p++) {
		x = (p + 1) * 0x9e3779b97f4a7c15ULL;
		for (i = 0; i + 8 <= rnd; i += 8) {
			/* xorshift64 */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(page + i, &x, 8);
		}
		if (check) {
			if (read(fd, got, PAGE) != PAGE || memcmp(got, page, PAGE)) {
				fprintf(stderr, "zc_mkfill: %s: page %lu differs\n", argv[1], p);
				return 1;
			}
			continue;
		}
		if (write(fd, page, PAGE) != PAGE) {
			perror("zc_mkfill: write");
			return 1;
		}
	}
	if (check && read(fd, got, 1) != 0) {
		fprintf(stderr, "zc_mkfill: %s is longer than %lu MiB\n", argv[1], mib);
		return 1;
	}
	if (close(fd)) {
		perror("zc_mkfill: close");
		return 1;
	}
	return 0;
}
