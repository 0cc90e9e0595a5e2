/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "secret.h"

_Static_assert(SECRET_MAX == 1024, "secret_strerror() says 1024 bytes");

void secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static bool key_char_ok(char c)
{
	return c > ' ' && c <= '~' && c != ',';
}

int secret_read(const char *path, char **ret)
{
	_cleanup_close_ int fd = -EBADF;
	char buf[SECRET_MAX + 2];
	struct stat st;
	size_t n = 0, len;
	ssize_t k;
	char *s;

	/* Before the key is in memory: a core dump of this process would
	 * carry it, and so would a ptrace by a non-root user. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_uid != 0 || (st.st_mode & 0077))
		return -EPERM;
	while (n < sizeof(buf) && (k = read(fd, buf + n, sizeof(buf) - n)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			explicit_bzero(buf, sizeof(buf));
			return -errno;
		}
		n += (size_t)k;
	}
	/* The first line is the key (nvme-cli's key files end in a newline). */
	for (len = 0; len < n && buf[len] != '\n'; len++)
		;
	if (len > SECRET_MAX) {
		explicit_bzero(buf, sizeof(buf));
		return -EFBIG;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++)
		if (!key_char_ok(buf[i]))
			len = 0;
	if (len == 0) {
		explicit_bzero(buf, sizeof(buf));
		return -EBADMSG;
	}
	s = malloc(len + 1);
	if (s) {
		memcpy(s, buf, len);
		s[len] = 0;
	}
	explicit_bzero(buf, sizeof(buf));
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

const char *secret_strerror(int err)
{
	switch (err) {
	case -ELOOP:
		return "is a symbolic link (refused)";
	case -EINVAL:
		return "is not a regular file";
	case -EPERM:
		return "must be a file owned by root with mode 0600 (refused)";
	case -EBADMSG:
		return "holds no key (its first line must be the key: printable, no spaces or ',')";
	case -EFBIG:
		return "holds a key longer than 1024 bytes";
	default:
		return strerror(-err);
	}
}
