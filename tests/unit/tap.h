/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A minimal TAP producer for the host unit tests: automake's tap-driver.sh
 * counts every check, so `make check` and tests/run report cases, not
 * programs.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tap_n, tap_failed;

static inline void tap_vresult(int ok, const char *file, int line, const char *fmt, va_list ap)
{
	printf("%s %d - ", ok ? "ok" : "not ok", ++tap_n);
	vprintf(fmt, ap);
	printf("\n");
	if (!ok) {
		printf("#   failed at %s:%d\n", file, line);
		tap_failed++;
	}
	fflush(stdout);
}

static inline int tap_result(int ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int tap_result(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vresult(ok, file, line, fmt, ap);
	va_end(ap);
	return ok;
}

#define ok(cond, ...) tap_result(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, name) \
	({ \
		long long _g = (got), _w = (want); \
		int _r = tap_result(_g == _w, __FILE__, __LINE__, "%s", name); \
		if (!_r) \
			printf("#   got %lld, want %lld\n", _g, _w); \
		_r; \
	})
#define is_str(got, want, name) \
	({ \
		const char *_g = (got), *_w = (want); \
		int _r = tap_result(_g && _w && strcmp(_g, _w) == 0, __FILE__, __LINE__, "%s", name); \
		if (!_r) \
			printf("#   got \"%s\", want \"%s\"\n", _g ? _g : "(null)", _w ? _w : "(null)"); \
		_r; \
	})

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

/* What the tests share besides TAP itself. */

/* A fixture step the checks after it rely on (a planted symlink, a mode):
 * when it fails they would test something else, so the program bails out
 * (TAP "Bail out!") naming the step and errno.  It also uses the return
 * value that glibc's fortified headers want checked (warn_unused_result). */
#define fixture(expr) \
	do { \
		if ((expr) < 0) { \
			printf("Bail out! %s:%d: %s: %s\n", __FILE__, __LINE__, #expr, strerror(errno)); \
			exit(1); \
		} \
	} while (0)

/* Redirects @target (e.g. STDERR_FILENO) into a temporary file until
 * capture_end(), which copies what was written into @buf. */
struct capture {
	int target, saved, fd;
};

static inline void capture_begin(struct capture *c, int target)
{
	char path[] = "/tmp/nvmf-raid-test-capture.XXXXXX";

	fflush(stdout);
	fflush(stderr);
	c->target = target;
	c->fd = mkstemp(path);
	if (c->fd < 0)
		abort();
	unlink(path);
	c->saved = dup(target);
	dup2(c->fd, target);
}

static inline void capture_end(struct capture *c, char *buf, size_t size)
{
	ssize_t n;

	fflush(stdout);
	fflush(stderr);
	dup2(c->saved, c->target);
	close(c->saved);
	n = pread(c->fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	close(c->fd);
}

static inline char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}
