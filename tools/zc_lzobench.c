// SPDX-License-Identifier: GPL-2.0
/*
 * zc_lzobench: LZO1X-1 on 4 KiB pages of the demo's corpus, the same program
 * on the host and in the VM (static), so that the demo can measure how much
 * slower the guest CPU is (TCG) on the very work zcache does, and how well
 * the working set compresses. The codec is zcache's own: lzo-rs, compiled
 * from the module's source (lzo/src/lzo1x/) by tools/zc_lzo_rs.rs. liblzo2
 * is linked as the reference: "bench" checks that it decompresses every
 * lzo-rs stream to the original page, and prints its decompression rate too
 * (ref_decompress_*), for comparison.
 *
 *   zc_lzobench scan [-f] DIR [MAXMIB]
 *                                     every page of the files listed in
 *                                     DIR/MD5SUMS (in order, the first MAXMIB
 *                                     MiB): zero pages, pages that compress
 *                                     to <= PAGE_SIZE/2 (what zcache keeps),
 *                                     rejected ones, and the ratio, split by
 *                                     ELF / other files; -f: also one line
 *                                     per file ("file N pages= kept= compr=")
 *   zc_lzobench sample DIR MAXMIB NPAGES OUT
 *                                     NPAGES pages spread evenly over the
 *                                     first MAXMIB MiB, written to OUT
 *   zc_lzobench bench FILE [MS] [ROUNDS]
 *                                     compress every page of FILE, then time
 *                                     lzo-rs's LZO1X-1 compression and safe
 *                                     decompression of the pages zcache would
 *                                     keep, for MS milliseconds of CPU time per
 *                                     round (default 1000), best of ROUNDS (3);
 *                                     and the rate of 4 KiB pread() calls
 *                                     on FILE once cached (the kernel's
 *                                     side of a page-cache hit)
 *
 * Output: "key=value" words on one line, prefixed with the mode.
 * Built by scripts/lib-model.sh (zc_lzobench_build) into tools/bin/ (vm-run.sh
 * copies it to /zc/bin):
 *   rustc ... --crate-type staticlib -o tools/bin/libzc_lzo_rs.a tools/zc_lzo_rs.rs
 *   gcc -static -O2 tools/zc_lzobench.c tools/bin/libzc_lzo_rs.a \
 *       /usr/lib/x86_64-linux-gnu/liblzo2.a
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <lzo/lzo1x.h>

/* tools/zc_lzo_rs.rs: 0 on success, -1 on error; *dst_len in and out. */
size_t zc_lzo_rs_wrkmem_size(void);
int zc_lzo_rs_compress(const unsigned char *src, size_t src_len, unsigned char *dst,
		       size_t *dst_len, unsigned char *wrk);
int zc_lzo_rs_decompress_safe(const unsigned char *src, size_t src_len, unsigned char *dst,
			      size_t *dst_len);

#define PG 4096
#define KEEP_MAX (PG / 2)
#define OUT_MAX (PG + PG / 16 + 64 + 3)

/* lzo-rs's working memory (16 KiB; checked against its size in main()). */
static unsigned char wrk[LZO1X_1_MEM_COMPRESS] __attribute__((aligned(16)));

/*
 * CPU time of this process: the rate of the work itself, whatever else runs
 * on a shared host. (In the guest, a vCPU the host does not run still counts
 * as running, so the guest's figure includes the host's contention: that is
 * the speed its disk model must be scaled to.)
 */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "zc_lzobench: %s: %s\n", what, strerror(errno));
	exit(1);
}

struct flist {
	char **path;
	size_t n;
};

/* The files of DIR/MD5SUMS ("<md5>  <path>" lines), in order. */
static struct flist read_list(const char *dir)
{
	struct flist l = { 0 };
	size_t cap = 0;
	char line[4096], name[4096 + 64];
	FILE *f;

	snprintf(name, sizeof(name), "%s/MD5SUMS", dir);
	f = fopen(name, "r");
	if (!f)
		die(name);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "  ");

		if (!p)
			continue;
		p += 2;
		p[strcspn(p, "\n")] = 0;
		if (l.n == cap) {
			cap = cap ? cap * 2 : 1024;
			l.path = realloc(l.path, cap * sizeof(*l.path));
			if (!l.path)
				die("realloc");
		}
		snprintf(name, sizeof(name), "%s/%s", dir, p);
		l.path[l.n++] = strdup(name);
	}
	fclose(f);
	return l;
}

static int is_zero(const unsigned char *p)
{
	static const unsigned char z[PG];

	return !memcmp(p, z, PG);
}

static size_t compress_page(const unsigned char *in, unsigned char *out)
{
	size_t olen = OUT_MAX;

	if (zc_lzo_rs_compress(in, PG, out, &olen, wrk)) {
		fprintf(stderr, "zc_lzobench: compression failed\n");
		exit(1);
	}
	return olen;
}

struct tally {
	uint64_t pages, zero, kept, rejected, orig, compr;
};

static void tally_page(struct tally *t, const unsigned char *pg)
{
	static unsigned char out[OUT_MAX];
	size_t c;

	t->pages++;
	if (is_zero(pg)) {
		t->zero++;
		return;
	}
	c = compress_page(pg, out);
	if (c > KEEP_MAX) {
		t->rejected++;
		return;
	}
	t->kept++;
	t->orig += PG;
	t->compr += c;
}

static void print_tally(const char *tag, const struct tally *t)
{
	printf(" %s_pages=%llu %s_zero=%llu %s_kept=%llu %s_rejected=%llu %s_ratio=%.3f", tag,
	       (unsigned long long)t->pages, tag, (unsigned long long)t->zero, tag,
	       (unsigned long long)t->kept, tag, (unsigned long long)t->rejected, tag,
	       t->compr ? (double)t->orig / t->compr : 0.0);
}

static int cmd_scan(const char *dir, uint64_t maxbytes, int per_file)
{
	struct flist l = read_list(dir);
	struct tally all = { 0 }, elf = { 0 }, other = { 0 };
	unsigned char *pg = aligned_alloc(PG, PG);
	uint64_t done = 0;
	size_t i;

	for (i = 0; i < l.n && done < maxbytes; i++) {
		int fd = open(l.path[i], O_RDONLY), first = 1, iself = 0;
		struct tally before = all;
		ssize_t r;

		if (fd < 0)
			die(l.path[i]);
		for (;;) {
			memset(pg, 0, PG);
			r = read(fd, pg, PG);
			if (r < 0)
				die(l.path[i]);
			if (r == 0)
				break;
			if (first)
				iself = r >= 4 && !memcmp(pg, "\177ELF", 4);
			first = 0;
			/* The tail of a file is a page padded with zeros. */
			tally_page(&all, pg);
			tally_page(iself ? &elf : &other, pg);
			done += r;
			if (r < PG)
				break;
		}
		close(fd);
		if (per_file)
			printf("file %zu pages=%llu kept=%llu compr=%llu zero=%llu\n", i + 1,
			       (unsigned long long)(all.pages - before.pages),
			       (unsigned long long)(all.kept - before.kept),
			       (unsigned long long)(all.compr - before.compr),
			       (unsigned long long)(all.zero - before.zero));
	}
	printf("scan files=%zu bytes=%llu", i, (unsigned long long)done);
	print_tally("all", &all);
	print_tally("elf", &elf);
	print_tally("other", &other);
	/* Bytes zcache needs for the kept pages (compressed payload only). */
	printf(" kept_compr_bytes=%llu\n", (unsigned long long)all.compr);
	return 0;
}

static int cmd_sample(const char *dir, uint64_t maxbytes, uint64_t npages, const char *out)
{
	struct flist l = read_list(dir);
	unsigned char *pg = aligned_alloc(PG, PG);
	uint64_t total = 0, stride, idx = 0, written = 0;
	size_t i;
	int ofd;

	for (i = 0; i < l.n && total < maxbytes; i++) {
		struct stat st;

		if (stat(l.path[i], &st))
			die(l.path[i]);
		total += (st.st_size + PG - 1) / PG;
	}
	stride = total / npages ? total / npages : 1;
	ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (ofd < 0)
		die(out);
	for (i = 0; i < l.n && written < npages; i++) {
		int fd = open(l.path[i], O_RDONLY);
		ssize_t r;

		if (fd < 0)
			die(l.path[i]);
		for (;;) {
			memset(pg, 0, PG);
			r = read(fd, pg, PG);
			if (r <= 0)
				break;
			if (idx++ % stride == 0 && written < npages) {
				if (write(ofd, pg, PG) != PG)
					die(out);
				written++;
			}
			if (r < PG)
				break;
		}
		close(fd);
	}
	close(ofd);
	printf("sample pages=%llu stride=%llu of=%llu\n", (unsigned long long)written,
	       (unsigned long long)stride, (unsigned long long)total);
	return 0;
}

/* A safe decompression of one page: 0 on success, *olen in and out. */
typedef int (*decompress_fn)(const unsigned char *in, size_t len, unsigned char *out,
			     size_t *olen);

static int decompress_ref(const unsigned char *in, size_t len, unsigned char *out, size_t *olen)
{
	lzo_uint l = *olen;
	int ret = lzo1x_decompress_safe(in, len, out, &l, NULL);

	*olen = l;
	return ret == LZO_E_OK ? 0 : -1;
}

/*
 * Bytes per second of CPU time that @fn decompresses, over the @n pages of
 * @cbuf/@clen, repeated for at least @ms milliseconds.
 */
static double decompress_rate(decompress_fn fn, unsigned char **cbuf, const size_t *clen,
			      size_t n, unsigned char *out, unsigned ms)
{
	double t0 = now(), t;
	size_t i, bytes = 0;

	do {
		for (i = 0; i < n; i++) {
			size_t olen = PG;

			fn(cbuf[i], clen[i], out, &olen);
			bytes += olen;
		}
		t = now() - t0;
	} while (t * 1000 < ms);
	return bytes / t;
}

static int cmd_bench(const char *file, unsigned ms, unsigned rounds)
{
	unsigned char *data, **cbuf, *tmp, *out;
	size_t *clen, n, kept = 0, i, bytes;
	double best_d = 0, best_c = 0, best_p = 0, best_r = 0;
	struct stat st;
	unsigned r;
	int fd;

	fd = open(file, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die(file);
	n = st.st_size / PG;
	data = aligned_alloc(PG, n * PG + PG);
	if (!data)
		die("alloc");
	if (read(fd, data, n * PG) != (ssize_t)(n * PG))
		die(file);
	close(fd);
	cbuf = calloc(n, sizeof(*cbuf));
	clen = calloc(n, sizeof(*clen));
	tmp = malloc(OUT_MAX);
	out = aligned_alloc(PG, PG);
	/* The pages zcache would keep: non-zero, compressed to <= PAGE_SIZE/2. */
	for (i = 0; i < n; i++) {
		unsigned char *pg = data + i * PG;
		size_t c;

		if (is_zero(pg))
			continue;
		c = compress_page(pg, tmp);
		if (c > KEEP_MAX)
			continue;
		cbuf[kept] = malloc(c);
		memcpy(cbuf[kept], tmp, c);
		clen[kept] = c;
		/* Keep the originals of kept pages first, for the check below. */
		memmove(data + kept * PG, pg, PG);
		kept++;
	}
	if (!kept) {
		fprintf(stderr, "zc_lzobench: no compressible page in %s\n", file);
		return 1;
	}
	for (i = 0; i < kept; i++) {
		size_t olen = PG, rlen = PG;

		if (zc_lzo_rs_decompress_safe(cbuf[i], clen[i], out, &olen) || olen != PG ||
		    memcmp(out, data + i * PG, PG)) {
			fprintf(stderr, "zc_lzobench: round trip failed on page %zu\n", i);
			return 1;
		}
		memset(out, 0, PG);
		if (decompress_ref(cbuf[i], clen[i], out, &rlen) || rlen != PG ||
		    memcmp(out, data + i * PG, PG)) {
			fprintf(stderr, "zc_lzobench: liblzo2 cannot decompress page %zu\n", i);
			return 1;
		}
	}
	for (r = 0; r < rounds; r++) {
		double t0, t, rate;

		rate = decompress_rate(zc_lzo_rs_decompress_safe, cbuf, clen, kept, out, ms);
		if (rate > best_d)
			best_d = rate;
		/* The reference, for comparison only. */
		rate = decompress_rate(decompress_ref, cbuf, clen, kept, out, ms / 2);
		if (rate > best_r)
			best_r = rate;
		t0 = now();
		bytes = 0;
		do {
			for (i = 0; i < kept; i++) {
				compress_page(data + i * PG, tmp);
				bytes += PG;
			}
			t = now() - t0;
		} while (t * 1000 < ms / 2);
		if (bytes / t > best_c)
			best_c = bytes / t;
	}
	/*
	 * The kernel's side of a page-cache hit: 4 KiB pread() calls at
	 * pseudo-random offsets of FILE, which is cached by now (read above).
	 */
	fd = open(file, O_RDONLY);
	if (fd < 0)
		die(file);
	for (r = 0; r < rounds; r++) {
		double t0 = now(), t;
		uint64_t x = 88172645463325252ull, ops = 0;

		do {
			for (i = 0; i < 256; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				if (pread(fd, out, PG, (off_t)(x % n) * PG) != PG)
					die(file);
			}
			ops += 256;
			t = now() - t0;
		} while (t * 1000 < ms / 2);
		if (ops * PG / t > best_p)
			best_p = ops * PG / t;
	}
	close(fd);
	printf("bench codec=lzo-rs pages=%zu kept=%zu decompress_MBps=%.1f compress_MBps=%.1f "
	       "decompress_ns_per_page=%.0f pcread_MBps=%.1f pcread_ns_per_page=%.0f "
	       "ref_decompress_MBps=%.1f ref_decompress_ns_per_page=%.0f\n",
	       n, kept, best_d / 1e6, best_c / 1e6, PG / best_d * 1e9, best_p / 1e6,
	       PG / best_p * 1e9, best_r / 1e6, PG / best_r * 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	if (lzo_init() != LZO_E_OK) {
		fprintf(stderr, "zc_lzobench: lzo_init failed\n");
		return 1;
	}
	if (zc_lzo_rs_wrkmem_size() > sizeof(wrk)) {
		fprintf(stderr, "zc_lzobench: lzo-rs needs %zu bytes of working memory\n",
			zc_lzo_rs_wrkmem_size());
		return 1;
	}
	if (argc >= 4 && !strcmp(argv[1], "scan") && !strcmp(argv[2], "-f"))
		return cmd_scan(argv[3], argc > 4 ? strtoull(argv[4], NULL, 10) << 20 : UINT64_MAX, 1);
	if (argc >= 3 && !strcmp(argv[1], "scan"))
		return cmd_scan(argv[2], argc > 3 ? strtoull(argv[3], NULL, 10) << 20 : UINT64_MAX, 0);
	if (argc == 6 && !strcmp(argv[1], "sample"))
		return cmd_sample(argv[2], strtoull(argv[3], NULL, 10) << 20,
				  strtoull(argv[4], NULL, 10), argv[5]);
	if (argc >= 3 && !strcmp(argv[1], "bench"))
		return cmd_bench(argv[2], argc > 3 ? atoi(argv[3]) : 1000,
				 argc > 4 ? atoi(argv[4]) : 3);
	fprintf(stderr, "usage: zc_lzobench scan [-f] DIR [MAXMIB] | sample DIR MAXMIB NPAGES OUT | "
			"bench FILE [MS] [ROUNDS]\n");
	return 2;
}
