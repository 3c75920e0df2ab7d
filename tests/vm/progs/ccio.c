// SPDX-License-Identifier: GPL-2.0
/*
 * ccio: file operations that busybox lacks, for tests/vm/cleancache.sh.
 *
 *   ccio punch|zero|collapse|insert FILE OFFSET LENGTH   fallocate(2) modes
 *   ccio dio FILE OFFSET SRC                             O_DIRECT write of SRC
 *                                                        (a multiple of 4 KiB)
 *   ccio aio FILE OFFSET SRC                             the same through Linux AIO
 *   ccio mmapwrite FILE OFFSET SRC                       write SRC through a shared
 *                                                        mapping, then msync
 *   ccio bmap FILE                                       print the disk block of
 *                                                        the file's first block
 *   ccio hugeread FILE                                   read FILE through a
 *                                                        MADV_HUGEPAGE mapping, so
 *                                                        its page cache folios are
 *                                                        PMD-sized where they fit
 *   ccio hugepageout FILE                                the same, then have
 *                                                        reclaim evict them
 *                                                        (MADV_PAGEOUT)
 * Exit status 0 on success; errors go to stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/aio_abi.h>
#include <linux/falloc.h>
#include <linux/fs.h>

static int die(const char *what)
{
	fprintf(stderr, "ccio: %s: %s\n", what, strerror(errno));
	return 1;
}

static int do_fallocate(const char *mode, const char *path, off_t off, off_t len)
{
	int flags, fd;

	if (!strcmp(mode, "punch"))
		flags = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	else if (!strcmp(mode, "zero"))
		flags = FALLOC_FL_ZERO_RANGE;
	else if (!strcmp(mode, "collapse"))
		flags = FALLOC_FL_COLLAPSE_RANGE;
	else if (!strcmp(mode, "insert"))
		flags = FALLOC_FL_INSERT_RANGE;
	else
		return fprintf(stderr, "ccio: unknown mode %s\n", mode), 2;
	fd = open(path, O_RDWR);
	if (fd < 0)
		return die(path);
	if (fallocate(fd, flags, off, len))
		return die("fallocate");
	return close(fd) ? die("close") : 0;
}

/* Reads SRC (a multiple of 4 KiB) into a page-aligned buffer. */
static void *read_src(const char *src, size_t *len)
{
	struct stat st;
	void *buf;
	int sfd;

	sfd = open(src, O_RDONLY);
	if (sfd < 0 || fstat(sfd, &st))
		return die(src), NULL;
	if (st.st_size == 0 || st.st_size % 4096) {
		fprintf(stderr, "ccio: %s: size not a multiple of 4096\n", src);
		return NULL;
	}
	if (posix_memalign(&buf, 4096, st.st_size))
		return die("posix_memalign"), NULL;
	if (read(sfd, buf, st.st_size) != st.st_size)
		return die("read"), NULL;
	close(sfd);
	*len = st.st_size;
	return buf;
}

static int do_aio(const char *path, off_t off, const char *src)
{
	struct iocb cb = { 0 }, *cbs[1] = { &cb };
	struct io_event ev;
	aio_context_t ctx = 0;
	size_t len;
	void *buf;
	int fd;

	buf = read_src(src, &len);
	if (!buf)
		return 1;
	fd = open(path, O_WRONLY | O_DIRECT);
	if (fd < 0)
		return die(path);
	if (syscall(SYS_io_setup, 1, &ctx))
		return die("io_setup");
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PWRITE;
	cb.aio_buf = (unsigned long)buf;
	cb.aio_nbytes = len;
	cb.aio_offset = off;
	if (syscall(SYS_io_submit, ctx, 1, cbs) != 1)
		return die("io_submit");
	if (syscall(SYS_io_getevents, ctx, 1, 1, &ev, NULL) != 1)
		return die("io_getevents");
	if (ev.res != (long long)len) {
		errno = ev.res < 0 ? -ev.res : EIO;
		return die("aio write");
	}
	syscall(SYS_io_destroy, ctx);
	return close(fd) ? die("close") : 0;
}

static int do_mmapwrite(const char *path, off_t off, const char *src)
{
	size_t len;
	char *map;
	void *buf;
	int fd;

	buf = read_src(src, &len);
	if (!buf)
		return 1;
	fd = open(path, O_RDWR);
	if (fd < 0)
		return die(path);
	map = mmap(NULL, off + len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return die("mmap");
	memcpy(map + off, buf, len);
	if (msync(map, off + len, MS_SYNC))
		return die("msync");
	munmap(map, off + len);
	return close(fd) ? die("close") : 0;
}

static int do_bmap(const char *path)
{
	int fd, block = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return die(path);
	if (ioctl(fd, FIBMAP, &block))
		return die("FIBMAP");
	printf("%d\n", block);
	return close(fd) ? die("close") : 0;
}

static int do_dio(const char *path, off_t off, const char *src)
{
	size_t len;
	void *buf;
	int fd;

	buf = read_src(src, &len);
	if (!buf)
		return 1;
	fd = open(path, O_WRONLY | O_DIRECT);
	if (fd < 0)
		return die(path);
	if (pwrite(fd, buf, len, off) != (ssize_t)len)
		return die("pwrite O_DIRECT");
	free(buf);
	return close(fd) ? die("close") : 0;
}

static int do_hugeread(const char *path, int pageout)
{
	volatile unsigned char sum = 0;
	unsigned char *map;
	struct stat st;
	off_t i;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return die(path);
	if (fstat(fd, &st))
		return die("fstat");
	map = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return die("mmap");
	if (madvise(map, st.st_size, MADV_HUGEPAGE))
		return die("madvise MADV_HUGEPAGE");
	for (i = 0; i < st.st_size; i += 4096)
		sum += map[i];
	if (pageout && madvise(map, st.st_size, MADV_PAGEOUT))
		return die("madvise MADV_PAGEOUT");
	munmap(map, st.st_size);
	return close(fd) ? die("close") : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "hugeread"))
		return do_hugeread(argv[2], 0);
	if (argc == 3 && !strcmp(argv[1], "hugepageout"))
		return do_hugeread(argv[2], 1);
	if (argc == 3 && !strcmp(argv[1], "bmap"))
		return do_bmap(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "dio"))
		return do_dio(argv[2], atoll(argv[3]), argv[4]);
	if (argc == 5 && !strcmp(argv[1], "aio"))
		return do_aio(argv[2], atoll(argv[3]), argv[4]);
	if (argc == 5 && !strcmp(argv[1], "mmapwrite"))
		return do_mmapwrite(argv[2], atoll(argv[3]), argv[4]);
	if (argc == 5)
		return do_fallocate(argv[1], argv[2], atoll(argv[3]), atoll(argv[4]));
	fprintf(stderr, "usage: ccio punch|zero|collapse|insert FILE OFFSET LENGTH\n"
			"       ccio dio|aio|mmapwrite FILE OFFSET SRC\n"
			"       ccio bmap FILE\n"
			"       ccio hugeread|hugepageout FILE\n");
	return 2;
}
