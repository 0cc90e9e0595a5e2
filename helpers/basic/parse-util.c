/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>

#include "parse-util.h"

int parse_u64_at(const char **p, uint64_t *ret)
{
	uint64_t n = 0;

	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	for (; isdigit((unsigned char)**p); (*p)++) {
		unsigned d = (unsigned)(**p - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	*ret = n;
	return 0;
}

int parse_u64(const char *s, uint64_t *ret)
{
	uint64_t n;
	int r = parse_u64_at(&s, &n);

	if (r < 0)
		return r;
	if (*s)
		return -EINVAL;
	*ret = n;
	return 0;
}
