// SPDX-License-Identifier: GPL-2.0
/*
 * zc_write FILE VALUE [REPEAT]: writes VALUE, repeated REPEAT times (default
 * 1), to FILE with a single open(O_WRONLY) and a single write(), as a sysfs
 * store sees it, and prints what happened:
 *
 *   ok N              the write returned N (the whole value)
 *   short N           the write returned N < the value's length
 *   open EACCES ...   open() failed (errno name, then strerror)
 *   write EINVAL ...  write() failed
 *
 * VALUE takes C escapes, so that any byte can be written: \n \t \r \v \f
 * \0 \\ and \xHH. Exit status 0 for "ok", 1 otherwise, 2 for bad usage.
 * Used by tests/vm/badinput.sh (busybox echo cannot write a NUL byte nor
 * control exactly how many bytes one write() carries).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case ENOENT: return "ENOENT";
	case ENODEV: return "ENODEV";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case ERANGE: return "ERANGE";
	default: return "E?";
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the escapes of s into out (at most strlen(s) bytes); returns the length or -1. */
static long unescape(const char *s, char *out)
{
	long n = 0;

	while (*s) {
		if (*s != '\\') {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case 'r': out[n++] = '\r'; break;
		case 'v': out[n++] = '\v'; break;
		case 'f': out[n++] = '\f'; break;
		case '0': out[n++] = '\0'; break;
		case '\\': out[n++] = '\\'; break;
		case 'x':
			if (hexval(s[1]) < 0 || hexval(s[2]) < 0)
				return -1;
			out[n++] = (char)(hexval(s[1]) << 4 | hexval(s[2]));
			s += 2;
			break;
		default:
			return -1;
		}
		s++;
	}
	return n;
}

int main(int argc, char **argv)
{
	long len, repeat = 1, i;
	char *one, *buf;
	ssize_t r;
	int fd;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: zc_write FILE VALUE [REPEAT]\n");
		return 2;
	}
	if (argc == 4)
		repeat = strtol(argv[3], NULL, 10);
	one = malloc(strlen(argv[2]) + 1);
	len = one ? unescape(argv[2], one) : -1;
	if (len < 0 || repeat < 1 || repeat > (1L << 24) / (len ? len : 1)) {
		fprintf(stderr, "zc_write: bad VALUE or REPEAT\n");
		return 2;
	}
	buf = malloc(len * repeat + 1);
	if (!buf)
		return 2;
	for (i = 0; i < repeat; i++)
		memcpy(buf + i * len, one, len);
	fd = open(argv[1], O_WRONLY);
	if (fd < 0) {
		printf("open %s %s\n", errname(errno), strerror(errno));
		return 1;
	}
	r = write(fd, buf, len * repeat);
	if (r < 0) {
		printf("write %s %s\n", errname(errno), strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	if (r != len * repeat) {
		printf("short %zd\n", r);
		return 1;
	}
	printf("ok %zd\n", r);
	return 0;
}
