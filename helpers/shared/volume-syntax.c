/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The syntax of what a volume file holds: names, NQNs, UUIDs, portals,
 * numbers and booleans.  Every check is a whitelist: what is not spelled out
 * here is refused.  No <ctype.h>: its answers depend on the locale, and a
 * root helper's verdict on a file must not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "macro.h"
#include "volume.h"

#define NQN_UUID_PREFIX "nqn.2014-08.org.nvmexpress:uuid:"

static bool ascii_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool ascii_alnum(char c)
{
	return ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hex_value(char c)
{
	if (ascii_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool vol_name_is_valid(const char *name)
{
	if (!name || !ascii_alnum(name[0]))
		return false;
	for (size_t i = 1; name[i]; i++) {
		if (i >= VOL_NAME_MAX)
			return false;
		if (!ascii_alnum(name[i]) && name[i] != '_' && name[i] != '.' && name[i] != '-')
			return false;
	}
	return true;
}

bool vol_replica_name_is_valid(const char *name)
{
	size_t i;

	if (!name)
		return false;
	for (i = 0; name[i]; i++) {
		if (i >= VOL_REPLICA_NAME_MAX)
			return false;
		if (!ascii_alnum(name[i]) && name[i] != '_' && name[i] != '-')
			return false;
	}
	return i > 0;
}

/* "yyyy-mm." with a real month; the year is the naming authority's, any
 * four digits. */
static bool nqn_date_is_valid(const char *s)
{
	int month;

	for (int i = 0; i < 4; i++)
		if (!ascii_digit(s[i]))
			return false;
	if (s[4] != '-' || !ascii_digit(s[5]) || !ascii_digit(s[6]) || s[7] != '.')
		return false;
	month = (s[5] - '0') * 10 + (s[6] - '0');
	return month >= 1 && month <= 12;
}

/* A reverse domain name ("org.nvmexpress") up to the ':': at least two
 * labels of [A-Za-z0-9-], none empty, none starting or ending with '-'.
 * Return: its length, or 0 if there is none. */
static size_t nqn_domain_len(const char *s)
{
	size_t i, label = 0;
	unsigned labels = 1;

	for (i = 0; s[i] && s[i] != ':'; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			labels++;
			label = 0;
		} else if (ascii_alnum(s[i]) || (s[i] == '-' && label > 0)) {
			label++;
		} else {
			return 0;
		}
	}
	if (s[i] != ':' || label == 0 || s[i - 1] == '-' || labels < 2)
		return 0;
	return i;
}

bool vol_nqn_is_standard(const char *nqn)
{
	uint8_t u[16];

	if (!nqn || vol_nqn_check(nqn, NULL) < 0)
		return false;
	if (strncmp(nqn, NQN_UUID_PREFIX, STRLEN(NQN_UUID_PREFIX)) == 0)
		return vol_uuid_parse(nqn + STRLEN(NQN_UUID_PREFIX), u) == 0;
	return strncmp(nqn, "nqn.", 4) == 0 && strlen(nqn) > 12 && nqn_date_is_valid(nqn + 4) &&
	       nqn_domain_len(nqn + 12) > 0 && nqn[12 + nqn_domain_len(nqn + 12) + 1];
}

int vol_nqn_check(const char *nqn, const char **ret_why)
{
	size_t n = strnlen(nqn, VOL_NQN_MAX + 1);
	const char *why = NULL;

	if (n == 0)
		why = "empty";
	else if (n > VOL_NQN_MAX)
		why = "longer than 223 bytes";
	else if (nqn[0] == ' ' || nqn[n - 1] == ' ')
		why = "a leading or trailing blank, which a volume file cannot keep";
	else
		for (const char *p = nqn; *p && !why; p++)
			if (*p < ' ' || *p > '~')
				why = "a control or non-ASCII character";
			else if (*p == ',')
				why = "a ',', which splits the kernel's connect options";
			else if (*p == '"' || *p == '\\')
				why = "a '\"' or '\\', which a volume file cannot carry";
	if (why) {
		if (ret_why)
			*ret_why = why;
		return -EINVAL;
	}
	return 0;
}

bool vol_nqn_needs_quotes(const char *nqn)
{
	return strpbrk(nqn, ";#'") != NULL;
}

bool vol_nqn_is_valid(const char *nqn)
{
	return nqn && vol_nqn_check(nqn, NULL) == 0;
}

int vol_uuid_parse(const char *s, uint8_t ret[16])
{
	uint8_t u[16];
	unsigned j = 0;

	if (!s || strnlen(s, 37) != 36)
		return -EINVAL;
	for (unsigned i = 0; i < 36;) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i++] != '-')
				return -EINVAL;
			continue;
		}
		hi = hex_value(s[i]);
		lo = hex_value(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		u[j++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	memcpy(ret, u, sizeof(u));
	return 0;
}

void vol_uuid_format(const uint8_t u[16], char ret[37])
{
	snprintf(ret, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
		 u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
}

int vol_nguid_parse(const char *s, uint8_t ret[16])
{
	uint8_t g[16];
	unsigned n = 0;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	for (; *s; s++) {
		int v = hex_value(*s);

		if (*s == '-' && s[1] && s[1] != '-')
			continue;
		if (v < 0 || n >= 32)
			return -EINVAL;
		if (n % 2 == 0)
			g[n / 2] = (uint8_t)(v << 4);
		else
			g[n / 2] |= (uint8_t)v;
		n++;
	}
	if (n != 32)
		return -EINVAL;
	memcpy(ret, g, sizeof(g));
	return 0;
}

void vol_nguid_format(const uint8_t g[16], char ret[33])
{
	for (unsigned i = 0; i < 16; i++)
		snprintf(ret + 2 * i, 3, "%02x", g[i]);
}

void vol_ns_id_describe(const struct vol_ns_id *id, char *buf, size_t size)
{
	char u[37] = "", g[33] = "";
	int n = 0;

	buf[0] = 0;
	if (id->has_uuid) {
		vol_uuid_format(id->uuid, u);
		n = snprintf(buf, size, "uuid %s", u);
	}
	if (id->has_nguid && n >= 0 && (size_t)n < size) {
		vol_nguid_format(id->nguid, g);
		n += snprintf(buf + n, size - (size_t)n, "%snguid %s", n ? ", " : "", g);
	}
	if (id->nsid && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, "%snsid %u", n ? ", " : "", id->nsid);
}

bool vol_ns_id_matches(const struct vol_ns_id *want, const struct vol_ns_id *seen)
{
	if (!want->has_uuid && !want->has_nguid && !want->nsid)
		return false;
	if (want->has_uuid && (!seen->has_uuid || memcmp(want->uuid, seen->uuid, 16) != 0))
		return false;
	if (want->has_nguid && (!seen->has_nguid || memcmp(want->nguid, seen->nguid, 16) != 0))
		return false;
	return !want->nsid || want->nsid == seen->nsid;
}

bool vol_ns_id_eq(const struct vol_ns_id *a, const struct vol_ns_id *b)
{
	return a->has_uuid == b->has_uuid && a->has_nguid == b->has_nguid && a->nsid == b->nsid &&
	       (!a->has_uuid || memcmp(a->uuid, b->uuid, 16) == 0) &&
	       (!a->has_nguid || memcmp(a->nguid, b->nguid, 16) == 0);
}

const char *vol_ns_id_shared(const char *nqn_a, const struct vol_ns_id *a, const char *nqn_b,
			     const struct vol_ns_id *b)
{
	if (a->has_uuid && b->has_uuid && memcmp(a->uuid, b->uuid, 16) == 0)
		return "uuid";
	if (a->has_nguid && b->has_nguid && memcmp(a->nguid, b->nguid, 16) == 0)
		return "nguid";
	/* A namespace without a UUID shows its NGUID as one (the kernel's
	 * uuid_show()), and uuid = finds it by that: the same bytes are the
	 * same namespace. */
	if (a->has_nguid && b->has_uuid && memcmp(a->nguid, b->uuid, 16) == 0)
		return "uuid";
	if (a->has_uuid && b->has_nguid && memcmp(a->uuid, b->nguid, 16) == 0)
		return "nguid";
	return a->nsid && a->nsid == b->nsid && streq(nqn_a, nqn_b) ? "nsid" : NULL;
}

static int why_not(const char **ret_why, const char *why)
{
	*ret_why = why;
	return -EINVAL;
}

/* Decimal 1..65535, no sign, no leading zero: the kernel reads trsvcid with
 * base 0, where "04420" would be octal. */
static int port_parse(const char *s, char ret[8])
{
	unsigned long v = 0;
	size_t i;

	if (s[0] < '1' || s[0] > '9')
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		if (!ascii_digit(s[i]) || i >= 5)
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	snprintf(ret, 8, "%lu", v);
	return 0;
}

/* An interface name as the kernel's dev_valid_name() takes one, narrowed
 * to what cannot break an option string: [A-Za-z0-9_.-], not "." or "..". */
static bool iface_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > VOL_IFACE_MAX || streq(s, ".") || streq(s, ".."))
		return false;
	for (; *s; s++)
		if (!ascii_alnum(*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

int vol_ip_parse(const char *s, size_t len, int family, struct vol_portal *p, const char **ret_why)
{
	char addr[INET6_ADDRSTRLEN + 1 + VOL_IFACE_MAX + 1];
	unsigned char bin[16];
	char *zone;

	if (len == 0)
		return why_not(ret_why, "no IP address");
	if (len >= sizeof(addr))
		return why_not(ret_why, "too long for an IP address");
	memcpy(addr, s, len);
	addr[len] = 0;
	zone = strchr(addr, '%');
	if (zone)
		*zone++ = 0;
	if (family == AF_UNSPEC)
		family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr, bin) != 1)
		return why_not(ret_why, family == AF_INET ? "not an IPv4 address" : "not an IPv6 address");
	p->family = family;
	/* The canonical form, so "[::1]" and "[0::1]" are seen as one portal. */
	if (!inet_ntop(family, bin, p->traddr, sizeof(p->traddr)))
		return why_not(ret_why, "unprintable address");
	p->host_iface[0] = 0;
	/* fe80::/10 is only reachable through an interface: the zone, a name
	 * or an index, goes with traddr; a name also as host_iface over tcp
	 * (fabrics.c). */
	if (family == AF_INET6 && bin[0] == 0xfe && (bin[1] & 0xc0) == 0x80) {
		if (!zone)
			return why_not(ret_why,
				       "a link-local address needs its interface, as in fe80::1%eth0");
		if (!iface_is_valid(zone))
			return why_not(ret_why,
				       "the zone is not an interface name (1-15 of A-Z a-z 0-9 _ . -)");
		memcpy(p->host_iface, zone, strlen(zone) + 1);
		/* traddr keeps the zone: the kernel and libnvme take "fe80::1%eth0". */
		snprintf(p->traddr + strlen(p->traddr), sizeof(p->traddr) - strlen(p->traddr), "%%%s",
			 zone);
	} else if (zone) {
		return why_not(ret_why,
			       "a zone ('%' and an interface) only goes with a link-local fe80:: address");
	}
	return 0;
}

/* "ADDR:PORT" or "[ADDR6]:PORT", after the "tcp://" or "rdma://". */
static int portal_parse_ip(const char *s, struct vol_portal *p, const char **ret_why)
{
	const char *start = s, *end;
	int family;

	if (*s == '[') {
		start = s + 1;
		end = strchr(start, ']');
		if (!end)
			return why_not(ret_why, "'[' without ']'");
		family = AF_INET6;
		s = end + 1;
	} else {
		end = strchr(s, ':');
		if (end && strchr(end + 1, ':'))
			return why_not(ret_why,
				       "an IPv6 address must be in brackets, as in tcp://[::1]:4420");
		family = AF_INET;
		s = end;
	}
	if (!s || *s != ':')
		return why_not(ret_why, "no ':PORT'");
	if (vol_ip_parse(start, (size_t)(end - start), family, p, ret_why) < 0) {
		if (family == AF_INET && streq(*ret_why, "not an IPv4 address"))
			*ret_why = "not an IPv4 address (host names are not resolved)";
		return -EINVAL;
	}
	if (port_parse(s + 1, p->trsvcid) < 0)
		return why_not(ret_why, "the port is not a decimal number 1..65535");
	return 0;
}

/* "nn-0x<16 hex>:pn-0x<16 hex>", as nvme-fc takes its traddr. */
static int portal_parse_fc(const char *s, struct vol_portal *p, const char **ret_why)
{
	static const char pattern[] = "nn-0x################:pn-0x################";
	size_t i;

	for (i = 0; pattern[i]; i++) {
		if (pattern[i] == '#' ? hex_value(s[i]) < 0 : s[i] != pattern[i])
			break;
		/* lower case, so a portal spelled twice is found as duplicate */
		p->traddr[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
	}
	if (pattern[i] || s[i])
		return why_not(ret_why,
			       "not an FC address (fc://nn-0x<16 hex digits>:pn-0x<16 hex digits>)");
	p->traddr[i] = 0;
	p->trsvcid[0] = 0;
	p->family = AF_UNSPEC;
	return 0;
}

int vol_portal_parse(const char *s, struct vol_portal *ret, const char **ret_why)
{
	struct vol_portal p = {};
	const char *why = NULL;
	int r;

	if (strncmp(s, "tcp://", 6) == 0) {
		p.transport = VOL_TRANSPORT_TCP;
		r = portal_parse_ip(s + 6, &p, &why);
	} else if (strncmp(s, "rdma://", 7) == 0) {
		p.transport = VOL_TRANSPORT_RDMA;
		r = portal_parse_ip(s + 7, &p, &why);
	} else if (strncmp(s, "fc://", 5) == 0) {
		p.transport = VOL_TRANSPORT_FC;
		r = portal_parse_fc(s + 5, &p, &why);
	} else {
		why = "not tcp://ADDR:PORT, rdma://ADDR:PORT or fc://nn-0x…:pn-0x…";
		r = -EINVAL;
	}
	if (r < 0) {
		if (ret_why)
			*ret_why = why;
		return r;
	}
	*ret = p;
	return 0;
}

bool vol_portal_eq(const struct vol_portal *a, const struct vol_portal *b)
{
	/* traddr is canonical and keeps a link-local address's zone. */
	return a->transport == b->transport && streq(a->traddr, b->traddr) &&
	       streq(a->trsvcid, b->trsvcid);
}

void vol_portal_format(const struct vol_portal *p, char *buf, size_t size)
{
	const char *scheme = p->transport == VOL_TRANSPORT_TCP	? "tcp" :
			     p->transport == VOL_TRANSPORT_RDMA ? "rdma" :
								  "fc";

	if (p->transport == VOL_TRANSPORT_FC)
		snprintf(buf, size, "fc://%s", p->traddr);
	else if (p->family == AF_INET6)
		snprintf(buf, size, "%s://[%s]:%s", scheme, p->traddr, p->trsvcid);
	else
		snprintf(buf, size, "%s://%s:%s", scheme, p->traddr, p->trsvcid);
}

int vol_parse_int(const char *s, long min, long max, bool minus_one, long *ret)
{
	unsigned long v = 0;

	if (!s || !*s)
		return -EINVAL;
	if (minus_one && streq(s, "-1")) {
		*ret = -1;
		return 0;
	}
	/* A negative number is a number, just out of range. */
	if (s[0] == '-' && s[1]) {
		for (const char *p = s + 1; *p; p++)
			if (!ascii_digit(*p))
				return -EINVAL;
		return -ERANGE;
	}
	for (const char *p = s; *p; p++) {
		if (!ascii_digit(*p))
			return -EINVAL;
		/* Stop long before unsigned long could wrap. */
		if (v > 100000000000UL)
			return -ERANGE;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < (unsigned long)(min < 0 ? 0 : min) || v > (unsigned long)max)
		return -ERANGE;
	*ret = (long)v;
	return 0;
}

int vol_parse_bool(const char *s)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; s && i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -EINVAL;
}
