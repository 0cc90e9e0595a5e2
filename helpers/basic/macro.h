/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Small macros shared by every module: cleanup attributes, ownership
 * transfer and errno helpers, after systemd's alloc-util.h/fd-util.h.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _sentinel_ __attribute__((sentinel))
#define _pure_ __attribute__((pure))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

/* An assertion whose expression runs also with NDEBUG. */
#define assert_se(expr) \
	do { \
		if (_unlikely_(!(expr))) \
			abort(); \
	} while (0)

/* IN_SET(x, a, b, ...): x equals one of the constants. */
#define IN_SET(x, ...) \
	({ \
		const __typeof__(x) _in_set_v_[] = { __VA_ARGS__ }; \
		bool _in_set_r_ = false; \
		for (size_t _i_ = 0; _i_ < ELEMENTSOF(_in_set_v_); _i_++) \
			if (_in_set_v_[_i_] == (x)) \
				_in_set_r_ = true; \
		_in_set_r_; \
	})

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define STRLEN(x) (sizeof(x) - 1)

/* Hands a pointer's ownership on: the variable is left NULL so its cleanup
 * handler does nothing. */
#define TAKE_PTR(p) \
	({ \
		__typeof__(p) *_pp_ = &(p); \
		__typeof__(p) _ptr_ = *_pp_; \
		*_pp_ = NULL; \
		_ptr_; \
	})

#define TAKE_FD(fd) \
	({ \
		int *_fdp_ = &(fd); \
		int _fd_ = *_fdp_; \
		*_fdp_ = -EBADF; \
		_fd_; \
	})

/* Cleanup handler for a type whose destructor takes the object itself and
 * accepts no NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p) \
	{ \
		if (*p) \
			func(*p); \
	}

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* Closes fd and keeps errno, so it can sit in error paths. */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -EBADF;
}

static inline void closep(int *fd)
{
	safe_close(*fd);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* errno as a negative return value; never 0, so a caller that saw a failure
 * never reports success because a library forgot to set errno. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static inline const char *strna(const char *s)
{
	return s ? s : "n/a";
}

static inline int streq(const char *a, const char *b)
{
	return a && b && __builtin_strcmp(a, b) == 0;
}
