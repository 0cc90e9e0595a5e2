/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

/* Runs fn with stderr redirected into a buffer; returns what it printed. */
static char *capture_stderr(int (*fn)(void), int *ret)
{
	static char buf[4096];
	struct capture c;

	capture_begin(&c, STDERR_FILENO);
	*ret = fn();
	capture_end(&c, buf, sizeof(buf));
	return buf;
}

static int emit_error(void)
{
	return log_error_errno(ENOENT, "Failed to open %s: %m", "x.conf");
}

static int emit_positive_errno(void)
{
	/* Either sign is accepted, the return is always negative. */
	return log_error_errno(-EACCES, "denied: %m");
}

static int emit_debug(void)
{
	return log_debug("hidden %d", 1);
}

int main(void)
{
	char *out;
	int r;

	log_setup("test-log");
	log_set_target(LOG_TARGET_CONSOLE);

	out = capture_stderr(emit_error, &r);
	is_int(r, -ENOENT, "log_error_errno returns -errno");
	is_str(out, "test-log: Failed to open x.conf: No such file or directory\n",
	       "%m expands to the error handed in, prefixed by the ident");

	out = capture_stderr(emit_positive_errno, &r);
	is_int(r, -EACCES, "negative error is normalised");
	is_str(out, "test-log: denied: Permission denied\n", "%m with a negative error");

	out = capture_stderr(emit_debug, &r);
	is_int(r, 0, "log without error returns 0");
	is_str(out, "", "debug suppressed at the default level");

	log_set_max_level(LOG_DEBUG);
	out = capture_stderr(emit_debug, &r);
	is_str(out, "test-log: hidden 1\n", "debug shown at debug level");

	errno = EBUSY;
	log_info("keeps errno");
	is_int(errno, EBUSY, "logging preserves errno");

	is_int(log_parse_level("debug"), LOG_DEBUG, "parse level name");
	is_int(log_parse_level("3"), LOG_ERR, "parse level number");
	is_int(log_parse_level("8"), -EINVAL, "level out of range refused");
	is_int(log_parse_level("loud"), -EINVAL, "unknown level refused");
	is_int(log_parse_level(""), -EINVAL, "empty level refused");

	return tap_done();
}
