// SPDX-License-Identifier: GPL-2.0
/*
 * zc_reread: the re-read passes of the zcache demo (tests/vm/demo.sh), timed
 * and verified. LIST is an MD5SUMS-format file ("<md5>  <path>", paths
 * relative to the current directory): the working set, in order.
 *
 *   zc_reread seq LIST             read every file from start to end, in
 *                                  LIST order (1 MiB read() calls); check
 *                                  the MD5 of each file against LIST
 *   zc_reread rand LIST BLK SEED [COUNT]
 *                                  read every 4 KiB block of the working set
 *                                  once (or the first COUNT of them), in an
 *                                  order permuted from SEED (pread(),
 *                                  readahead off: POSIX_FADV_RANDOM); check
 *                                  each block against BLK
 *   zc_reread blocks LIST BLK      write BLK: a 64-bit hash of every 4 KiB
 *                                  block (the tail zero-padded), in order
 *                                  (run on the host, on the source files)
 *   zc_reread hold LIST            open every file and wait for a signal
 *
 * Only the read()/pread() calls are timed; hashing happens between them.
 * Output: one line "seq|rand files=.. bytes=.. ns=.. MBps=.. bad=..".
 * Exit status 1 if any file or block did not match.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLK 4096
#define CHUNK (1 << 20)

static void die(const char *what)
{
	fprintf(stderr, "zc_reread: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* --- MD5 (RFC 1321) ------------------------------------------------------ */

struct md5 {
	uint32_t h[4];
	uint64_t len;
	unsigned char buf[64];
};

static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
	0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
	0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
	0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
	0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
	0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
	0xeb86d391,
};
static const unsigned char md5_r[64] = {
	7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9,  14, 20, 5, 9,
	14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
	4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

static void md5_block(struct md5 *m, const unsigned char *p)
{
	uint32_t w[16], a = m->h[0], b = m->h[1], c = m->h[2], d = m->h[3];
	int i;

	for (i = 0; i < 16; i++)
		w[i] = p[i * 4] | p[i * 4 + 1] << 8 | p[i * 4 + 2] << 16 | (uint32_t)p[i * 4 + 3] << 24;
	for (i = 0; i < 64; i++) {
		uint32_t f, t;
		int g;

		if (i < 16)
			f = (b & c) | (~b & d), g = i;
		else if (i < 32)
			f = (d & b) | (~d & c), g = (5 * i + 1) & 15;
		else if (i < 48)
			f = b ^ c ^ d, g = (3 * i + 5) & 15;
		else
			f = c ^ (b | ~d), g = (7 * i) & 15;
		t = d;
		d = c;
		c = b;
		f += a + md5_k[i] + w[g];
		b += f << md5_r[i] | f >> (32 - md5_r[i]);
		a = t;
	}
	m->h[0] += a;
	m->h[1] += b;
	m->h[2] += c;
	m->h[3] += d;
}

static void md5_init(struct md5 *m)
{
	m->h[0] = 0x67452301;
	m->h[1] = 0xefcdab89;
	m->h[2] = 0x98badcfe;
	m->h[3] = 0x10325476;
	m->len = 0;
}

static void md5_update(struct md5 *m, const unsigned char *p, size_t n)
{
	size_t fill = m->len & 63;

	m->len += n;
	if (fill) {
		size_t take = 64 - fill < n ? 64 - fill : n;

		memcpy(m->buf + fill, p, take);
		p += take;
		n -= take;
		if (fill + take < 64)
			return;
		md5_block(m, m->buf);
	}
	for (; n >= 64; p += 64, n -= 64)
		md5_block(m, p);
	memcpy(m->buf, p, n);
}

static void md5_hex(struct md5 *m, char *out)
{
	static const unsigned char pad[64] = { 0x80 };
	uint64_t bits = m->len * 8;
	unsigned char l[8];
	int i;

	for (i = 0; i < 8; i++)
		l[i] = bits >> (8 * i);
	md5_update(m, pad, 1 + ((55 - m->len % 64) & 63));
	md5_update(m, l, 8);
	for (i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", (m->h[i / 4] >> (8 * (i % 4))) & 0xff);
}

/* --- the working set ------------------------------------------------------- */

struct file {
	char *path;
	char md5[33];
	uint64_t size;
	uint64_t first_block; /* index of its first block in the block table */
	int fd;
};

static struct file *files;
static size_t nfiles;
static uint64_t nblocks;

static void read_list(const char *list)
{
	char line[8192];
	size_t cap = 0;
	FILE *f = fopen(list, "r");

	if (!f)
		die(list);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "  ");
		struct stat st;

		if (!p || p - line != 32)
			continue;
		p += 2;
		p[strcspn(p, "\n")] = 0;
		if (nfiles == cap) {
			cap = cap ? 2 * cap : 4096;
			files = realloc(files, cap * sizeof(*files));
			if (!files)
				die("realloc");
		}
		memcpy(files[nfiles].md5, line, 32);
		files[nfiles].md5[32] = 0;
		files[nfiles].path = strdup(p);
		if (stat(p, &st))
			die(p);
		files[nfiles].size = st.st_size;
		files[nfiles].first_block = nblocks;
		files[nfiles].fd = -1;
		nblocks += (st.st_size + BLK - 1) / BLK;
		nfiles++;
	}
	fclose(f);
}

static void open_all(int flags_advice)
{
	struct rlimit rl = { nfiles + 64, nfiles + 64 };
	size_t i;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < nfiles + 64) {
		rl.rlim_cur = rl.rlim_max = nfiles + 64;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			die("setrlimit(RLIMIT_NOFILE)");
	}
	for (i = 0; i < nfiles; i++) {
		files[i].fd = open(files[i].path, O_RDONLY);
		if (files[i].fd < 0)
			die(files[i].path);
		if (flags_advice)
			posix_fadvise(files[i].fd, 0, 0, POSIX_FADV_RANDOM);
	}
}

/* 64-bit hash of a 4 KiB block (FNV-1a over 64-bit words, then mixed). */
static uint64_t block_hash(const unsigned char *p)
{
	uint64_t h = 0xcbf29ce484222325ull, w;
	int i;

	for (i = 0; i < BLK; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static void report(const char *mode, uint64_t bytes, uint64_t ns, uint64_t wall, uint64_t ops,
		   uint64_t bad)
{
	printf("%s files=%zu bytes=%llu ops=%llu ns=%llu wall_ns=%llu MBps=%.2f us_per_op=%.1f bad=%llu\n",
	       mode, nfiles, (unsigned long long)bytes, (unsigned long long)ops,
	       (unsigned long long)ns, (unsigned long long)wall, ns ? bytes * 1e3 / ns : 0.0,
	       ops ? ns / 1e3 / ops : 0.0, (unsigned long long)bad);
}

static int cmd_seq(void)
{
	unsigned char *buf = aligned_alloc(BLK, CHUNK);
	uint64_t bytes = 0, ns = 0, ops = 0, bad = 0, w0 = now_ns();
	size_t i;

	for (i = 0; i < nfiles; i++) {
		struct md5 m;
		char hex[33];
		int fd = open(files[i].path, O_RDONLY);

		if (fd < 0)
			die(files[i].path);
		md5_init(&m);
		for (;;) {
			uint64_t t0 = now_ns();
			ssize_t r = read(fd, buf, CHUNK);

			ns += now_ns() - t0;
			if (r < 0)
				die(files[i].path);
			if (r == 0)
				break;
			ops++;
			bytes += r;
			md5_update(&m, buf, r);
		}
		close(fd);
		md5_hex(&m, hex);
		if (strcmp(hex, files[i].md5)) {
			bad++;
			fprintf(stderr, "zc_reread: MD5 mismatch: %s\n", files[i].path);
		}
	}
	report("seq", bytes, ns, now_ns() - w0, ops, bad);
	return bad ? 1 : 0;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t *load_blocks(const char *path)
{
	uint64_t *h = malloc(nblocks * 8 + 8);
	int fd = open(path, O_RDONLY);

	if (!h || fd < 0)
		die(path);
	if (read(fd, h, nblocks * 8) != (ssize_t)(nblocks * 8)) {
		fprintf(stderr, "zc_reread: %s does not match the list (%llu blocks)\n", path,
			(unsigned long long)nblocks);
		exit(2);
	}
	close(fd);
	return h;
}

static int cmd_rand(const char *blkfile, uint64_t seed, uint64_t count)
{
	uint64_t *want = load_blocks(blkfile), *order = malloc(nblocks * 8 + 8);
	uint64_t i, bytes = 0, ns = 0, bad = 0, w0;
	unsigned char *buf = aligned_alloc(BLK, BLK);
	size_t f = 0;

	if (!order)
		die("malloc");
	open_all(1);
	/* order[i] = file index << 32 | block index within the file */
	for (i = 0; i < nblocks; i++) {
		while (files[f].first_block + (files[f].size + BLK - 1) / BLK <= i)
			f++;
		order[i] = (uint64_t)f << 32 | (i - files[f].first_block);
	}
	rng_state = seed ? seed : 1;
	for (i = nblocks; i > 1; i--) {
		uint64_t j = rng() % i, t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	if (!count || count > nblocks)
		count = nblocks;
	w0 = now_ns();
	for (i = 0; i < count; i++) {
		struct file *fl = &files[order[i] >> 32];
		uint64_t b = order[i] & 0xffffffffu, t0;
		ssize_t r;

		memset(buf, 0, BLK);
		t0 = now_ns();
		r = pread(fl->fd, buf, BLK, b * BLK);
		ns += now_ns() - t0;
		if (r <= 0)
			die(fl->path);
		bytes += r;
		if (block_hash(buf) != want[fl->first_block + b]) {
			if (bad++ < 10)
				fprintf(stderr, "zc_reread: block %llu of %s does not match\n",
					(unsigned long long)b, fl->path);
		}
	}
	report("rand", bytes, ns, now_ns() - w0, count, bad);
	return bad ? 1 : 0;
}

static int cmd_blocks(const char *out)
{
	unsigned char *buf = aligned_alloc(BLK, BLK);
	FILE *o = fopen(out, "w");
	size_t i;

	if (!o)
		die(out);
	for (i = 0; i < nfiles; i++) {
		int fd = open(files[i].path, O_RDONLY);
		ssize_t r;

		if (fd < 0)
			die(files[i].path);
		for (;;) {
			uint64_t h;

			memset(buf, 0, BLK);
			r = read(fd, buf, BLK);
			if (r < 0)
				die(files[i].path);
			if (r == 0)
				break;
			h = block_hash(buf);
			fwrite(&h, 8, 1, o);
			if (r < BLK)
				break;
		}
		close(fd);
	}
	if (fclose(o))
		die(out);
	printf("blocks files=%zu blocks=%llu\n", nfiles, (unsigned long long)nblocks);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: zc_reread seq LIST | rand LIST BLK SEED [COUNT] | blocks LIST BLK | "
				"hold LIST\n");
		return 2;
	}
	read_list(argv[2]);
	if (!strcmp(argv[1], "seq"))
		return cmd_seq();
	if (!strcmp(argv[1], "rand") && (argc == 5 || argc == 6))
		return cmd_rand(argv[3], strtoull(argv[4], NULL, 0),
				argc == 6 ? strtoull(argv[5], NULL, 0) : 0);
	if (!strcmp(argv[1], "blocks") && argc == 4)
		return cmd_blocks(argv[3]);
	if (!strcmp(argv[1], "hold")) {
		open_all(0);
		signal(SIGTERM, on_signal);
		pause();
		return 0;
	}
	fprintf(stderr, "zc_reread: bad arguments\n");
	return 2;
}
