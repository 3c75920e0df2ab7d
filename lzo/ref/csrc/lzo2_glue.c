// SPDX-License-Identifier: GPL-2.0-only
/*
 * Glue for calling liblzo2 from Rust tests and benches: lzo_init() is a
 * macro over __lzo_init_v2() with sizeof() arguments that are easiest to get
 * right in C, and the memory sizes are macros too.
 */
#include <lzo/lzo1x.h>

int lzo_ref_init(void)
{
	return lzo_init();
}

unsigned long lzo_ref_lzo1x_1_mem_compress(void)
{
	return LZO1X_1_MEM_COMPRESS;
}

unsigned long lzo_ref_lzo1x_999_mem_compress(void)
{
	return LZO1X_999_MEM_COMPRESS;
}
