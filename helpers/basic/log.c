/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
/* We pass CODE_FILE/LINE/FUNC of the caller ourselves. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "log.h"

static const char *log_ident = "nvmf-raid";
static enum log_target log_target = LOG_TARGET_AUTO;
static int log_max_level = LOG_INFO;

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg",	   [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
	[LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

int log_parse_level(const char *s)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < LOG_EMERG || v > LOG_DEBUG)
		return -EINVAL;
	return (int)v;
}

void log_setup(const char *ident)
{
	const char *e;
	int l;

	if (ident)
		log_ident = ident;
	e = getenv("NVMF_RAID_LOG_LEVEL");
	l = log_parse_level(e);
	if (l >= 0)
		log_max_level = l;
}

void log_set_target(enum log_target target)
{
	log_target = target;
}

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

/* systemd sets $JOURNAL_STREAM to "dev:ino" of the stream it connected to
 * stdout/stderr; only if stderr still is that stream do we talk to the
 * journal directly (and gain structured fields such as MESSAGE_ID). */
static int stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return st.st_dev == dev && st.st_ino == ino;
}

static int use_journal(void)
{
	static int cached = -1;

	switch (log_target) {
	case LOG_TARGET_CONSOLE:
		return 0;
	case LOG_TARGET_JOURNAL:
		return 1;
	default:
		if (cached < 0)
			cached = stderr_is_journal();
		return cached;
	}
}

int log_internal(int level, int error, const char *message_id, const char *file, int line,
		 const char *func, const char *format, ...)
{
	char buf[2048];
	va_list ap;
	int saved = errno;

	if (error < 0)
		error = -error;
	if (level > log_max_level)
		goto out;

	/* %m in the format refers to the error we were handed. */
	errno = error;
	va_start(ap, format);
	vsnprintf(buf, sizeof(buf), format, ap);
	va_end(ap);

	if (use_journal()) {
		char f[8][2200];
		struct iovec iov[8];
		size_t n = 0;

		snprintf(f[n++], sizeof(f[0]), "MESSAGE=%s", buf);
		snprintf(f[n++], sizeof(f[0]), "PRIORITY=%d", level);
		snprintf(f[n++], sizeof(f[0]), "SYSLOG_IDENTIFIER=%s", log_ident);
		snprintf(f[n++], sizeof(f[0]), "CODE_FILE=%s", file);
		snprintf(f[n++], sizeof(f[0]), "CODE_LINE=%d", line);
		snprintf(f[n++], sizeof(f[0]), "CODE_FUNC=%s", func);
		if (error)
			snprintf(f[n++], sizeof(f[0]), "ERRNO=%d", error);
		if (message_id)
			snprintf(f[n++], sizeof(f[0]), "MESSAGE_ID=%s", message_id);
		for (size_t i = 0; i < n; i++)
			iov[i] = (struct iovec){ .iov_base = f[i], .iov_len = strlen(f[i]) };
		sd_journal_sendv(iov, (int)n);
	} else {
		fprintf(stderr, "%s: %s\n", log_ident, buf);
	}
out:
	errno = saved;
	return -error;
}
