// SPDX-License-Identifier: GPL-2.0
/*
 * zc_torture: data-integrity torture of the page cache path that zcache sits
 * in (tests/vm/torture.sh runs it while memlimits change, caches are
 * dropped, memory runs short, the filesystem is remounted and zcache is
 * unloaded and reloaded).
 *
 * usage: zc_torture [-p PROCS] [-f FILES] [-m MAX_KIB] [-s SECONDS] [-S SEED]
 *                   [-c CORPUS_DIR] DIR
 *
 * PROCS worker processes each own FILES files DIR/torture.<w>.<f> (at most
 * MAX_KIB KiB each), seeded with real data read from CORPUS_DIR (the data
 * disk's files/), and keep their expected content in memory. Until SECONDS
 * have passed, each worker runs random operations on its files: pread and
 * verify, pwrite (random sizes and offsets, unaligned, past the end too),
 * O_DIRECT aligned writes and verified reads, ftruncate down and up,
 * fallocate(PUNCH_HOLE|KEEP_SIZE) and ZERO_RANGE, mmap reads (verified) and
 * writes, fsync/fdatasync, and fsync + posix_fadvise(DONTNEED), which drops
 * the clean pages (handing them to cleancache) so that later reads are
 * served by zcache (kernels without fadvise: drop_caches, rate-limited). Written data is a mix of real file data (compressible),
 * zeros (zero pages) and random bytes (incompressible). Every read is
 * compared with the expected content; a mismatch prints the file, offset,
 * expected and read bytes and the last operation that wrote that page, and
 * is counted. At the end every file is written back, dropped from the page
 * cache and verified once more in full.
 *
 * The last line is machine-readable:
 *   torture: procs P files F seconds S ops N bytes_verified B mismatches M errors E
 * Exit status 0 when mismatches and errors are both 0. Seeds are
 * deterministic (SEED + worker number): the operation sequence of a worker
 * depends only on them (timing decides only how far it gets).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif

#define PG 4096UL
#define MAX_PRINT 12

enum op {
	OP_SEED, OP_READ, OP_WRITE, OP_DIO_WRITE, OP_DIO_READ, OP_TRUNCATE,
	OP_PUNCH, OP_ZERO, OP_MMAP_READ, OP_MMAP_WRITE, OP_FSYNC, OP_DROP,
	OP_FULL, OP_REOPEN, NR_OPS
};
static const char *const op_name[NR_OPS] = {
	"seed", "read", "write", "dio_write", "dio_read", "truncate", "punch",
	"zero_range", "mmap_read", "mmap_write", "fsync", "drop", "full_verify",
	"reopen",
};
/* Relative frequency of each operation. */
static const unsigned op_weight[NR_OPS] = {
	[OP_READ] = 26, [OP_WRITE] = 16, [OP_DIO_WRITE] = 6, [OP_DIO_READ] = 6,
	[OP_TRUNCATE] = 4, [OP_PUNCH] = 5, [OP_ZERO] = 3, [OP_MMAP_READ] = 6,
	[OP_MMAP_WRITE] = 3, [OP_FSYNC] = 5, [OP_DROP] = 10, [OP_FULL] = 3,
	[OP_REOPEN] = 1,
};

/* Results of one worker, in memory shared with the parent. */
struct result {
	uint64_t ops, bytes_verified, mismatches, errors;
	uint64_t per_op[NR_OPS];
	int done;
};

struct tfile {
	char path[512];
	int fd, dfd;		/* buffered and O_DIRECT descriptors */
	size_t size;		/* current file size */
	unsigned char *exp;	/* expected content; zero beyond size */
	uint32_t *last_op;	/* per page: (op number << 4) | op type */
};

static size_t cap;			/* bytes per file at most */
static unsigned char *src;		/* real data to write (corpus) */
static size_t src_len;
static struct result *res;		/* this worker's result slot */
static unsigned worker;
static uint64_t rng;
static unsigned printed;
static unsigned char *iobuf;		/* PG-aligned, cap + 2 pages */

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...)
{
	va_list ap;

	if (printed >= MAX_PRINT)
		return;
	printed++;
	va_start(ap, fmt);
	printf("torture[%u]: ", worker);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

static void error(struct tfile *f, const char *what)
{
	res->errors++;
	say("ERROR %s on %s: %s (size %zu)", what, f->path, strerror(errno), f->size);
}

/* Fills buf with data of a random kind: real, zero, random or a pattern. */
static void fill(unsigned char *buf, size_t len)
{
	size_t i, k = below(10);

	if (k < 6) {
		size_t off = below(src_len - len);

		memcpy(buf, src + off, len);
	} else if (k < 8) {
		memset(buf, 0, len);
	} else if (k < 9) {
		for (i = 0; i + 8 <= len; i += 8) {
			uint64_t v = rnd();

			memcpy(buf + i, &v, 8);
		}
		for (; i < len; i++)
			buf[i] = (unsigned char)rnd();
	} else {
		unsigned char c = (unsigned char)rnd();

		for (i = 0; i < len; i++)
			buf[i] = (unsigned char)(c + i / 512);
	}
}

static void mark(struct tfile *f, size_t off, size_t len, enum op op)
{
	size_t p;

	if (!len)
		return;
	for (p = off / PG; p <= (off + len - 1) / PG && p < cap / PG; p++)
		f->last_op[p] = (uint32_t)(res->ops << 4) | op;
}

/*
 * Compares len bytes read at off with the expected content; counts and
 * reports a mismatch.
 */
static void verify(struct tfile *f, const unsigned char *got, size_t off, size_t len,
		   enum op op)
{
	size_t i, first, ndiff = 0;

	if (!memcmp(got, f->exp + off, len)) {
		res->bytes_verified += len;
		return;
	}
	for (i = 0; i < len; i++)
		if (got[i] != f->exp[off + i])
			ndiff++;
	for (first = 0; got[first] == f->exp[off + first]; first++)
		;
	res->mismatches++;
	{
		size_t at = off + first, p = at / PG;
		uint32_t lo = f->last_op[p];
		char e[3 * 16 + 1] = "", g[3 * 16 + 1] = "";

		for (i = 0; i < 16 && first + i < len; i++) {
			sprintf(e + 3 * i, " %02x", f->exp[at + i]);
			sprintf(g + 3 * i, " %02x", got[first + i]);
		}
		say("MISMATCH %s %s off %zu len %zu: first bad byte at %zu (page %zu), %zu bytes differ;"
		    " expected%s; got%s; page last written by op #%u (%s); file size %zu",
		    op_name[op], f->path, off, len, at, p, ndiff, e, g, lo >> 4,
		    op_name[lo & 15], f->size);
	}
}

static int open_file(struct tfile *f, int create)
{
	int fl = O_RDWR | (create ? O_CREAT | O_TRUNC : 0);

	f->fd = open(f->path, fl, 0644);
	if (f->fd < 0)
		return -1;
	f->dfd = open(f->path, O_RDWR | O_DIRECT);
	if (f->dfd < 0)
		return -1;
	return 0;
}

static int full_write(int fd, const unsigned char *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* pread until len bytes or EOF; returns the bytes read or -1. */
static ssize_t full_read(int fd, unsigned char *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, off + got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

static void set_size(struct tfile *f, size_t size)
{
	if (size < f->size)
		memset(f->exp + size, 0, f->size - size);
	f->size = size;
}

/* Random range [off, off + len) inside [0, limit), len <= maxlen. */
static void range(size_t limit, size_t maxlen, size_t *off, size_t *len)
{
	*off = below(limit);
	*len = 1 + below(maxlen);
	if (*off + *len > limit)
		*len = limit - *off;
}

static void op_read(struct tfile *f, enum op op)
{
	size_t off, len, want;
	ssize_t n;

	if (op == OP_FULL) {
		off = 0;
		len = cap;
	} else {
		/* Past the end sometimes: the read must stop at the size. */
		range(f->size + PG, 256 << 10, &off, &len);
	}
	want = off >= f->size ? 0 : (off + len > f->size ? f->size - off : len);
	n = full_read(f->fd, iobuf, len, off);
	if (n < 0) {
		error(f, "pread");
		return;
	}
	if ((size_t)n != want) {
		res->mismatches++;
		say("MISMATCH %s %s: read %zd bytes at %zu, expected %zu (size %zu)",
		    op_name[op], f->path, n, off, want, f->size);
		if ((size_t)n > want)
			n = want;
	}
	verify(f, iobuf, off, n, op);
}

static void op_write(struct tfile *f)
{
	size_t off, len;

	range(cap, 64 << 10, &off, &len);
	if (below(4) == 0) {
		/* Append or write just past the end (a small hole). */
		off = f->size + below(2 * PG);
		if (off >= cap)
			off = below(cap);
		if (off + len > cap)
			len = cap - off;
	}
	fill(iobuf, len);
	if (full_write(f->fd, iobuf, len, off)) {
		error(f, "pwrite");
		return;
	}
	memcpy(f->exp + off, iobuf, len);
	if (off + len > f->size)
		f->size = off + len;
	mark(f, off, len, OP_WRITE);
}

static void op_dio_write(struct tfile *f)
{
	size_t off = below(cap / PG) * PG, len = (1 + below(16)) * PG;
	ssize_t n;

	if (off + len > cap)
		len = cap - off;
	fill(iobuf, len);
	n = pwrite(f->dfd, iobuf, len, off);
	if (n != (ssize_t)len) {
		error(f, "O_DIRECT pwrite");
		return;
	}
	memcpy(f->exp + off, iobuf, len);
	if (off + len > f->size)
		f->size = off + len;
	mark(f, off, len, OP_DIO_WRITE);
}

static void op_dio_read(struct tfile *f)
{
	size_t limit = (f->size + PG - 1) / PG + 1;
	size_t off = below(limit) * PG, len = (1 + below(32)) * PG, want;
	ssize_t n;

	if (off + len > cap + PG)
		len = cap + PG - off;
	want = off >= f->size ? 0 : (off + len > f->size ? f->size - off : len);
	n = pread(f->dfd, iobuf, len, off);
	if (n < 0) {
		error(f, "O_DIRECT pread");
		return;
	}
	if ((size_t)n != want) {
		res->mismatches++;
		say("MISMATCH dio_read %s: read %zd bytes at %zu, expected %zu (size %zu)",
		    f->path, n, off, want, f->size);
		if ((size_t)n > want)
			n = want;
	}
	verify(f, iobuf, off, n, OP_DIO_READ);
}

static void op_truncate(struct tfile *f)
{
	size_t size = below(4) ? below(cap + 1) : f->size / 2;

	if (ftruncate(f->fd, size)) {
		error(f, "ftruncate");
		return;
	}
	set_size(f, size);
	if (size)
		mark(f, size - 1, 1, OP_TRUNCATE);
}

static void op_falloc(struct tfile *f, enum op op)
{
	size_t off, len, end;
	int mode = op == OP_PUNCH ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
				  : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

	if (!f->size)
		return;
	range(f->size + PG, 128 << 10, &off, &len);
	if (below(2)) {
		/* Page-aligned too, so whole pages go. */
		off &= ~(PG - 1);
		len = (len + PG - 1) & ~(PG - 1);
	}
	if (fallocate(f->fd, mode, off, len)) {
		error(f, op_name[op]);
		return;
	}
	end = off + len < f->size ? off + len : f->size;
	if (off < end) {
		memset(f->exp + off, 0, end - off);
		mark(f, off, end - off, op);
	}
}

static void op_mmap(struct tfile *f, enum op op)
{
	size_t off, len;
	unsigned char *m;
	int prot = op == OP_MMAP_READ ? PROT_READ : PROT_READ | PROT_WRITE;

	if (!f->size)
		return;
	range(f->size, 128 << 10, &off, &len);
	m = mmap(NULL, f->size, prot, MAP_SHARED, f->fd, 0);
	if (m == MAP_FAILED) {
		error(f, "mmap");
		return;
	}
	if (op == OP_MMAP_READ) {
		verify(f, m + off, off, len, op);
	} else {
		fill(iobuf, len);
		memcpy(m + off, iobuf, len);
		memcpy(f->exp + off, iobuf, len);
		mark(f, off, len, op);
		if (below(2) && msync(m, f->size, MS_SYNC))
			error(f, "msync");
	}
	if (munmap(m, f->size))
		error(f, "munmap");
}

/*
 * After fsync the pages are clean: dropping them hands them to cleancache,
 * and the next reads of the file are served from it. Kernels without
 * CONFIG_ADVISE_SYSCALLS (tinyconfig) have no fadvise: then the whole page
 * cache is dropped instead, at most every 500 ms per worker.
 */
static void drop(struct tfile *f)
{
	static int no_fadvise;
	static double last;
	int e, fd;

	if (!no_fadvise) {
		e = posix_fadvise(f->fd, 0, 0, POSIX_FADV_DONTNEED);
		if (!e)
			return;
		if (e != ENOSYS) {
			errno = e;
			error(f, "fadvise");
			return;
		}
		no_fadvise = 1;
		if (worker == 0)
			say("no fadvise (ENOSYS): dropping caches through /proc/sys/vm/drop_caches");
	}
	if (now() - last < 0.5)
		return;
	last = now();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1)
		error(f, "drop_caches");
	if (fd >= 0)
		close(fd);
}

static void op_sync(struct tfile *f, enum op op)
{
	if ((below(2) ? fsync(f->fd) : fdatasync(f->fd))) {
		error(f, "fsync");
		return;
	}
	if (op == OP_DROP)
		drop(f);
}

static int seed_file(struct tfile *f)
{
	size_t size = cap / 4 + below(cap / 2);

	if (open_file(f, 1)) {
		error(f, "open");
		return -1;
	}
	memcpy(f->exp, src + below(src_len - size), size);
	/* A run of zero pages in some files. */
	if (below(2))
		memset(f->exp + below(size / 2), 0, size / 4);
	f->size = size;
	mark(f, 0, size, OP_SEED);
	if (full_write(f->fd, f->exp, size, 0) || fsync(f->fd)) {
		error(f, "seed write");
		return -1;
	}
	drop(f);
	return 0;
}

static void run_worker(const char *dir, unsigned nfiles, double deadline)
{
	struct tfile *files = calloc(nfiles, sizeof(*files));
	unsigned i, total = 0;

	for (i = 0; i < NR_OPS; i++)
		total += op_weight[i];
	if (!files || posix_memalign((void **)&iobuf, PG, cap + 2 * PG)) {
		res->errors++;
		return;
	}
	for (i = 0; i < nfiles; i++) {
		struct tfile *f = &files[i];

		snprintf(f->path, sizeof(f->path), "%s/torture.%u.%u", dir, worker, i);
		f->exp = calloc(1, cap);
		f->last_op = calloc(cap / PG + 1, sizeof(*f->last_op));
		if (!f->exp || !f->last_op) {
			res->errors++;
			return;
		}
		if (seed_file(f))
			return;
	}
	while (now() < deadline) {
		struct tfile *f = &files[below(nfiles)];
		unsigned w = below(total);
		enum op op;

		for (op = 0; w >= op_weight[op]; op++)
			w -= op_weight[op];
		res->ops++;
		res->per_op[op]++;
		switch (op) {
		case OP_READ:
		case OP_FULL:
			op_read(f, op);
			break;
		case OP_WRITE:
			op_write(f);
			break;
		case OP_DIO_WRITE:
			op_dio_write(f);
			break;
		case OP_DIO_READ:
			op_dio_read(f);
			break;
		case OP_TRUNCATE:
			op_truncate(f);
			break;
		case OP_PUNCH:
		case OP_ZERO:
			op_falloc(f, op);
			break;
		case OP_MMAP_READ:
		case OP_MMAP_WRITE:
			op_mmap(f, op);
			break;
		case OP_FSYNC:
		case OP_DROP:
			op_sync(f, op);
			break;
		case OP_REOPEN:
			close(f->fd);
			close(f->dfd);
			if (open_file(f, 0))
				error(f, "reopen");
			break;
		default:
			break;
		}
	}
	/* Final check: written back, dropped, every byte read again. */
	for (i = 0; i < nfiles; i++) {
		struct tfile *f = &files[i];
		struct stat st;

		op_sync(f, OP_DROP);
		if (fstat(f->fd, &st) || (size_t)st.st_size != f->size) {
			res->mismatches++;
			say("MISMATCH %s: size %lld, expected %zu", f->path,
			    (long long)st.st_size, f->size);
		}
		op_read(f, OP_FULL);
		close(f->fd);
		close(f->dfd);
	}
}

/* Reads up to want bytes of the regular files of dir into src. */
static void load_corpus(const char *dir, size_t want)
{
	struct dirent **names;
	int n, i;

	src = malloc(want);
	if (!src) {
		perror("malloc");
		exit(2);
	}
	n = scandir(dir, &names, NULL, alphasort);
	for (i = 0; i < n && src_len < want; i++) {
		char p[1024];
		int fd;
		ssize_t r;

		snprintf(p, sizeof(p), "%s/%s", dir, names[i]->d_name);
		fd = open(p, O_RDONLY);
		if (fd < 0)
			continue;
		while (src_len < want && (r = read(fd, src + src_len, want - src_len)) > 0)
			src_len += r;
		close(fd);
	}
	if (src_len < want) {
		fprintf(stderr, "zc_torture: only %zu bytes of data in %s, need %zu\n",
			src_len, dir, want);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	unsigned procs = 4, nfiles = 3, seconds = 30, i;
	unsigned long long seed = 1;
	const char *corpus = "/mnt/data/files";
	struct result sum = {0};
	double t0, deadline;
	int c, bad = 0;

	while ((c = getopt(argc, argv, "p:f:m:s:S:c:")) != -1) {
		switch (c) {
		case 'p': procs = strtoul(optarg, NULL, 0); break;
		case 'f': nfiles = strtoul(optarg, NULL, 0); break;
		case 'm': cap = strtoul(optarg, NULL, 0) << 10; break;
		case 's': seconds = strtoul(optarg, NULL, 0); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'c': corpus = optarg; break;
		default: goto usage;
		}
	}
	if (optind != argc - 1 || !procs || !nfiles) {
usage:
		fprintf(stderr, "usage: zc_torture [-p PROCS] [-f FILES] [-m MAX_KIB] [-s SECONDS] [-S SEED] [-c CORPUS_DIR] DIR\n");
		return 2;
	}
	if (!cap)
		cap = 2 << 20;
	cap = (cap + PG - 1) & ~(PG - 1);
	/* Reads are up to 256 KiB long, into a buffer of cap + 2 pages. */
	if (cap < 64 * PG)
		cap = 64 * PG;
	load_corpus(corpus, 2 * cap);
	res = mmap(NULL, procs * sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	memset(res, 0, procs * sizeof(*res));
	setvbuf(stdout, NULL, _IOLBF, 0);
	t0 = now();
	deadline = t0 + seconds;
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			worker = i;
			res = &res[i];
			rng = (seed + i) * 0x9E3779B97F4A7C15ULL | 1;
			run_worker(argv[optind], nfiles, deadline);
			res->done = 1;
			_exit(0);
		}
	}
	for (i = 0; i < procs; i++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			printf("torture: a worker died (status 0x%x)\n", st);
			bad = 1;
		}
	}
	for (i = 0; i < procs; i++) {
		unsigned k;

		if (!res[i].done) {
			printf("torture: worker %u did not finish\n", i);
			bad = 1;
		}
		sum.ops += res[i].ops;
		sum.bytes_verified += res[i].bytes_verified;
		sum.mismatches += res[i].mismatches;
		sum.errors += res[i].errors;
		for (k = 0; k < NR_OPS; k++)
			sum.per_op[k] += res[i].per_op[k];
	}
	printf("torture: ops by type:");
	for (i = 1; i < NR_OPS; i++)
		printf(" %s %llu", op_name[i], (unsigned long long)sum.per_op[i]);
	printf("\n");
	printf("torture: procs %u files %u seconds %.0f ops %llu bytes_verified %llu mismatches %llu errors %llu\n",
	       procs, nfiles, now() - t0, (unsigned long long)sum.ops,
	       (unsigned long long)sum.bytes_verified, (unsigned long long)sum.mismatches,
	       (unsigned long long)(sum.errors + bad));
	return sum.mismatches || sum.errors || bad;
}
