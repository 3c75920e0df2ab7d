/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel's headers to compile lib/lzo/*.c as userspace
 * code for the lzo-rs benchmarks and tests. Force-included before each
 * file; linux/{module,kernel,unaligned,lzo}.h are made to resolve to empty
 * files or a copy of the kernel's own include/linux/lzo.h (see build.rs).
 *
 * The exported functions are renamed with a kernel_ prefix so that they do
 * not clash with liblzo2's functions of the same names in one binary.
 */
#ifndef LZO_REF_KSHIM_H
#define LZO_REF_KSHIM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#if defined(__x86_64__)
#define CONFIG_X86_64 1
#define CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS 1
#elif defined(__aarch64__)
#define CONFIG_ARM64 1
#define CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS 1
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define __LITTLE_ENDIAN 1234
#else
#define __BIG_ENDIAN 4321
#endif

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define noinline	__attribute__((__noinline__))

#define min(a, b)		((a) < (b) ? (a) : (b))
#define min_t(type, a, b)	((type)(a) < (type)(b) ? (type)(a) : (type)(b))
#define BUILD_BUG_ON(c)		_Static_assert(!(c), #c)
#define ALIGN(x, a)		(((x) + ((a) - 1)) & ~((uintptr_t)(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((uintptr_t)(a) - 1)) == 0)

#define EXPORT_SYMBOL_GPL(sym)
#define MODULE_LICENSE(s)
#define MODULE_DESCRIPTION(s)

/* include/linux/unaligned.h, via memcpy like the kernel's packed structs. */
#define get_unaligned(ptr) ({					\
	__typeof__(*(ptr)) __gu_v;				\
	memcpy(&__gu_v, (ptr), sizeof(__gu_v));			\
	__gu_v; })
#define put_unaligned(val, ptr) do {				\
	__typeof__(*(ptr)) __pu_v = (val);			\
	memcpy((ptr), &__pu_v, sizeof(__pu_v));			\
} while (0)

static inline u16 get_unaligned_le16(const void *p)
{
	const u8 *b = p;
	return (u16)(b[0] | b[1] << 8);
}

static inline u32 get_unaligned_le32(const void *p)
{
	u32 v;
	memcpy(&v, p, 4);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline void put_unaligned_le32(u32 v, void *p)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	memcpy(p, &v, 4);
}

#define lzo1x_1_compress		kernel_lzo1x_1_compress
#define lzo1x_1_compress_safe		kernel_lzo1x_1_compress_safe
#define lzorle1x_1_compress		kernel_lzorle1x_1_compress
#define lzorle1x_1_compress_safe	kernel_lzorle1x_1_compress_safe
#define lzo1x_decompress_safe		kernel_lzo1x_decompress_safe

#endif /* LZO_REF_KSHIM_H */
