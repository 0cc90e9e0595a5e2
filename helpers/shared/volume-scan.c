/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading a volume file and pre-scanning it before iniparser sees it: see
 * volume-internal.h for why.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "macro.h"
#include "volume-internal.h"

enum {
	SCAN_NONE = -1, /* before the first section */
	SCAN_SKIP = -2, /* in a bad or duplicate section: its keys are dropped */
};

/* Keeps one message for the caller of vol_load_collect(); a message that
 * cannot be kept marks the list incomplete. */
_printf_(3, 4) static void keep(struct vol_problems *p, int error, const char *format, ...)
{
	struct vol_problem *list;
	char *m = NULL;
	va_list ap;
	int n;

	va_start(ap, format);
	n = vasprintf(&m, format, ap);
	va_end(ap);
	list = n < 0 ? NULL : reallocarray(p->list, p->n + 1, sizeof(*list));
	if (!list) {
		if (n >= 0)
			free(m);
		p->lost = true;
		return;
	}
	p->list = list;
	p->list[p->n++] = (struct vol_problem){ .error = error, .message = m };
}

int vol_err(struct vol_ctx *ctx, int error, unsigned line, const char *section, const char *key,
	    const char *format, ...)
{
	char where[16] = "", msg[1536];
	va_list ap;

	if (line > 0)
		snprintf(where, sizeof(where), ":%u", line);
	errno = error; /* for a %m in the format */
	va_start(ap, format);
	vsnprintf(msg, sizeof(msg), format, ap);
	va_end(ap);
	ctx->n_errors++;
	if (ctx->collect)
		keep(ctx->collect, error, "%s: %s%s%s%s%s%s%s: %s", ctx->volume, ctx->path, where,
		     section ? " [" : "", section ?: "", section ? "]" : "", key ? " " : "", key ?: "",
		     msg);
	else if (!ctx->quiet)
		log_full_errno(LOG_ERR, error, "%s: %s%s%s%s%s%s%s: %s", ctx->volume, ctx->path, where,
			       section ? " [" : "", section ?: "", section ? "]" : "", key ? " " : "",
			       key ?: "", msg);
	return error ? -abs(error) : -EINVAL;
}

void vol_problems_log(const struct vol_problems *p)
{
	for (unsigned i = 0; i < p->n; i++)
		log_full_errno(LOG_ERR, p->list[i].error, "%s", p->list[i].message);
	if (p->lost)
		log_oom();
}

void vol_problems_clear(struct vol_problems *p)
{
	for (unsigned i = 0; i < p->n; i++)
		free(p->list[i].message);
	free(p->list);
	*p = (struct vol_problems){};
}

char *vol_printable(const char *s)
{
	char *p = strdup(s);

	for (char *q = p; q && *q; q++)
		if (*q < ' ' || *q > '~')
			*q = '?';
	return p;
}

/* Reads at most VOL_FILE_SIZE_MAX bytes, even if the file grows meanwhile. */
static int read_bounded(int fd, size_t hint, char **ret_buf, size_t *ret_size)
{
	size_t size = 0, alloc = hint + 2; /* +2: the NUL, and room to see growth */
	_cleanup_free_ char *buf = malloc(alloc);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (size + 1 >= alloc) {
			char *b;

			if (alloc > VOL_FILE_SIZE_MAX + 1)
				return -EFBIG;
			alloc = alloc * 2 > VOL_FILE_SIZE_MAX + 2 ? VOL_FILE_SIZE_MAX + 2 : alloc * 2;
			b = realloc(buf, alloc);
			if (!b)
				return -ENOMEM;
			buf = b;
		}
		n = read(fd, buf + size, alloc - 1 - size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		size += (size_t)n;
	}
	buf[size] = 0;
	*ret_buf = TAKE_PTR(buf);
	*ret_size = size;
	return 0;
}

int vol_read_file(struct vol_ctx *ctx, const char *path, char **ret_buf, size_t *ret_size)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	/* O_NONBLOCK: a FIFO in place of the file must not hang us in open(). */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP)
		return vol_err(ctx, ELOOP, 0, NULL, NULL,
			       "is a symbolic link; refused, a volume file must be a regular file");
	if (fd < 0)
		return vol_err(ctx, errno, 0, NULL, NULL, "cannot open: %m");
	if (fstat(fd, &st) < 0)
		return vol_err(ctx, errno, 0, NULL, NULL, "cannot stat: %m");
	if (!S_ISREG(st.st_mode))
		return vol_err(ctx, EINVAL, 0, NULL, NULL, "not a regular file");
	if (st.st_size > VOL_FILE_SIZE_MAX)
		return vol_err(ctx, EFBIG, 0, NULL, NULL,
			       "too large (%lld bytes, at most %d); refused unread",
			       (long long)st.st_size, VOL_FILE_SIZE_MAX);
	r = read_bounded(fd, (size_t)st.st_size, ret_buf, ret_size);
	if (r == -EFBIG)
		return vol_err(ctx, EFBIG, 0, NULL, NULL, "grew beyond %d bytes while being read",
			       VOL_FILE_SIZE_MAX);
	if (r < 0)
		return vol_err(ctx, r, 0, NULL, NULL, "cannot read: %m");
	return 0;
}

static char *strip(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = 0;
	return s;
}

static bool is_printable_ascii(const char *s)
{
	for (; *s; s++)
		if (*s < ' ' || *s > '~')
			return false;
	return true;
}

/* Every line the scan produces is at most as long as the file's. */
static void text_add(struct vol_scan *scan, const char *s)
{
	size_t n = strlen(s);

	memcpy(scan->text + scan->text_len, s, n);
	scan->text[scan->text_len + n] = '\n';
	scan->text_len += n + 1;
}

static int grow(void **p, unsigned *alloc, unsigned n, size_t size)
{
	void *q;

	if (n < *alloc)
		return 0;
	q = reallocarray(*p, *alloc ? *alloc * 2 : 4, size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*alloc = *alloc ? *alloc * 2 : 4;
	return 0;
}

static int scan_section(struct vol_ctx *ctx, struct vol_scan *scan, char *s, unsigned line, int *cur)
{
	char *close = strchr(s, ']'), *rest, *name;
	struct vol_scan_section *sec;
	char header[VOL_LINE_MAX + 3];

	*cur = SCAN_SKIP; /* until it proves good, its keys belong nowhere */
	if (!close)
		return vol_err(ctx, 0, line, NULL, NULL, "section header without ']'");
	rest = strip(close + 1);
	/* iniparser 4.1 takes "[name] ; comment" for a key; we do not. */
	if (*rest && *rest != ';' && *rest != '#')
		return vol_err(ctx, 0, line, NULL, NULL, "text after the section header");
	*close = 0;
	name = strip(s + 1);
	if (!*name)
		return vol_err(ctx, 0, line, NULL, NULL, "empty section name");
	if (!is_printable_ascii(name))
		return vol_err(ctx, 0, line, NULL, NULL,
			       "control or non-ASCII character in the section name");
	for (unsigned i = 0; i < scan->n_sections; i++)
		if (strcasecmp(scan->sections[i].name, name) == 0)
			return vol_err(ctx, 0, line, name, NULL,
				       "duplicate section (first at line %u; names are not case-sensitive)",
				       scan->sections[i].line);
	if (grow((void **)&scan->sections, &scan->n_alloc, scan->n_sections, sizeof(*sec)) < 0)
		return -ENOMEM;
	sec = &scan->sections[scan->n_sections];
	*sec = (struct vol_scan_section){ .name = strdup(name), .line = line };
	if (!sec->name)
		return -ENOMEM;
	*cur = (int)scan->n_sections++;
	snprintf(header, sizeof(header), "[%s]", name);
	text_add(scan, header);
	return 0;
}

/* iniparser ends a value at the first ';' or '#', and ignores what follows
 * a closing quote: "portals = P1;P2" would silently lose P2.  A comment
 * after a value needs a blank before it. */
static int check_value(struct vol_ctx *ctx, const char *section, const char *key, unsigned line,
		       const char *v)
{
	v += strspn(v, " \t");
	if (*v == '"' || *v == '\'') {
		const char *close = strchr(v + 1, *v);

		/* iniparser would take the rest as the value, quote dropped. */
		if (!close)
			return vol_err(ctx, 0, line, section, key, "%c without its closing %c", *v, *v);
		close += 1 + strspn(close + 1, " \t");
		if (*close && *close != ';' && *close != '#')
			return vol_err(ctx, 0, line, section, key, "text after the quoted value");
		return 0;
	}
	for (const char *p = v; *p; p++) {
		if (*p != ';' && *p != '#')
			continue;
		if (p == v || p[-1] == ' ' || p[-1] == '\t')
			break; /* a comment */
		return vol_err(ctx, 0, line, section, key,
			       "'%c' inside the value; a comment needs a blank before it, or quote the value",
			       *p);
	}
	return 0;
}

static int scan_key(struct vol_ctx *ctx, struct vol_scan *scan, char *s, unsigned line, int cur)
{
	const char *eq = strchr(s, '=');
	struct vol_scan_section *sec;
	_cleanup_free_ char *key = NULL;
	char *name;

	if (!eq)
		return vol_err(ctx, 0, line, NULL, NULL,
			       "syntax error: neither \"[section]\", \"key = value\" nor a comment");
	if (s[strlen(s) - 1] == '\\')
		return vol_err(ctx, 0, line, NULL, NULL,
			       "continuation lines (ending in '\\') are not supported");
	if (cur == SCAN_SKIP)
		return -EINVAL; /* the section's error was reported */
	if (cur == SCAN_NONE)
		return vol_err(ctx, 0, line, NULL, NULL, "key outside any section");
	sec = &scan->sections[cur];
	key = strndup(s, (size_t)(eq - s));
	if (!key)
		return -ENOMEM;
	name = strip(key);
	if (!*name)
		return vol_err(ctx, 0, line, sec->name, NULL, "no key name before '='");
	if (!is_printable_ascii(name))
		return vol_err(ctx, 0, line, sec->name, NULL,
			       "control or non-ASCII character in a key name");
	for (unsigned i = 0; i < sec->n_keys; i++)
		if (strcasecmp(sec->keys[i].name, name) == 0)
			return vol_err(ctx, 0, line, sec->name, name,
				       "duplicate key (first at line %u)", sec->keys[i].line);
	if (grow((void **)&sec->keys, &sec->n_alloc, sec->n_keys, sizeof(*sec->keys)) < 0)
		return -ENOMEM;
	sec->keys[sec->n_keys] = (struct vol_scan_key){ .name = strdup(name), .line = line };
	if (!sec->keys[sec->n_keys].name)
		return -ENOMEM;
	/* Registered even if bad: a later duplicate is still one, and no
	 * "missing" follows. */
	if (check_value(ctx, sec->name, name, line, eq + 1) < 0) {
		sec->keys[sec->n_keys++].bad = true;
		return -EINVAL;
	}
	sec->n_keys++;
	text_add(scan, s);
	return 0;
}

static int scan_line(struct vol_ctx *ctx, struct vol_scan *scan, char *s, size_t len, unsigned line,
		     int *cur)
{
	int r = 0;

	if (len > VOL_LINE_MAX)
		r = vol_err(ctx, 0, line, NULL, NULL, "line too long (%zu bytes, at most %d)", len,
			    VOL_LINE_MAX);
	for (size_t i = 0; r == 0 && i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < ' ' && c != '\t') || c == 0x7f)
			r = vol_err(ctx, 0, line, NULL, NULL, "control character 0x%02x", c);
	}
	if (r == 0) {
		s = strip(s);
		if (!*s || *s == '#' || *s == ';')
			r = -EINVAL; /* nothing for iniparser, keep the line count */
		else if (*s == '[')
			r = scan_section(ctx, scan, s, line, cur);
		else
			r = scan_key(ctx, scan, s, line, *cur);
	}
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		text_add(scan, "");
	return 0;
}

int vol_scan(struct vol_ctx *ctx, char *buf, size_t size, struct vol_scan *scan)
{
	char *p = buf, *end = buf + size;
	int cur = SCAN_NONE, r;

	*scan = (struct vol_scan){ .text = malloc(size + 2) };
	if (!scan->text)
		return -ENOMEM;
	/* A UTF-8 byte order mark, as some editors write, is not content. */
	if (size >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	for (unsigned line = 1; p < end; line++) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ?: end;

		if (e > p && e[-1] == '\r') /* CRLF */
			e--;
		*e = 0; /* buf[size] is ours too */
		r = scan_line(ctx, scan, p, (size_t)(e - p), line, &cur);
		if (r < 0)
			return r;
		p = nl ? nl + 1 : end;
	}
	scan->text[scan->text_len] = 0;
	return 0;
}

void vol_scan_done(struct vol_scan *scan)
{
	for (unsigned i = 0; i < scan->n_sections; i++) {
		for (unsigned j = 0; j < scan->sections[i].n_keys; j++)
			free(scan->sections[i].keys[j].name);
		free(scan->sections[i].keys);
		free(scan->sections[i].name);
	}
	free(scan->sections);
	free(scan->text);
	*scan = (struct vol_scan){};
}

unsigned vol_scan_key_line(const struct vol_scan *scan, unsigned section_line, const char *key)
{
	for (unsigned i = 0; i < scan->n_sections; i++) {
		const struct vol_scan_section *sec = &scan->sections[i];

		if (sec->line != section_line)
			continue;
		for (unsigned j = 0; j < sec->n_keys; j++)
			if (strcasecmp(sec->keys[j].name, key) == 0)
				return sec->keys[j].line;
	}
	return section_line;
}

/* iniparser's error callback takes no context: vol_scan_parse() sets this
 * for the duration of one iniparser_load(). */
static struct vol_ctx *ini_ctx;

static int ini_error(const char *format, ...) _printf_(1, 2);
static int ini_error(const char *format, ...)
{
	char msg[2048];
	const char *p;
	unsigned line = 0;
	va_list ap;

	va_start(ap, format);
	vsnprintf(msg, sizeof(msg), format, ap);
	va_end(ap);
	/* The message names our memfd, not the file: keep only the line. */
	for (p = msg; (p = strchr(p, '(')); p++)
		if (sscanf(p, "(%u)", &line) == 1)
			break;
	vol_err(ini_ctx, 0, line, NULL, NULL, "iniparser: %s",
		strstr(msg, "syntax error") ? "syntax error" :
		strstr(msg, "too long")	    ? "line too long" :
		strstr(msg, "cannot open")  ? "cannot open its copy of the file (is /proc mounted?)" :
		strstr(msg, "memory")	    ? "out of memory" :
					      "failed");
	return 0;
}

int vol_scan_parse(struct vol_ctx *ctx, const struct vol_scan *scan, dictionary **ret)
{
	_cleanup_close_ int fd = -EBADF;
	char path[STRLEN("/proc/self/fd/") + 12];
	unsigned errors = ctx->n_errors;
	dictionary *d;

	/* iniparser 4.1 reads only from a path.  A memfd holds exactly the
	 * text we scanned: no second open of the file, no race with an editor
	 * or a swapped symlink. */
	fd = memfd_create("nvmf-raid-volume", MFD_CLOEXEC);
	if (fd < 0)
		return vol_err(ctx, errno, 0, NULL, NULL, "cannot create a memfd: %m");
	for (size_t done = 0; done < scan->text_len;) {
		ssize_t n = write(fd, scan->text + done, scan->text_len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return vol_err(ctx, n < 0 ? errno : EIO, 0, NULL, NULL,
				       "cannot write to a memfd: %m");
		done += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ini_ctx = ctx;
	iniparser_set_error_callback(ini_error);
	d = iniparser_load(path);
	iniparser_set_error_callback(NULL);
	ini_ctx = NULL;
	if (!d)
		return ctx->n_errors > errors ?
			       -EINVAL :
			       vol_err(ctx, ENOMEM, 0, NULL, NULL, "iniparser failed: %m");
	*ret = d;
	return 0;
}

int vol_scan_text(struct vol_ctx *ctx, const char *buf, size_t size, char **ret_copy,
		  struct vol_scan *scan, dictionary **ret)
{
	char *copy = malloc(size + 1);

	/* The scan edits its buffer; the caller's stays intact. */
	if (!copy)
		return log_oom();
	memcpy(copy, buf, size);
	copy[size] = 0;
	*ret_copy = copy;
	if (vol_scan(ctx, copy, size, scan) < 0)
		return log_oom();
	return vol_scan_parse(ctx, scan, ret);
}
