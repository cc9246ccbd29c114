#include "core/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/un.h>

static bool
is_mapped(const struct sockaddr_in6 *s6)
{
	return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr);
}

void
netaddr_from_sockaddr(struct netaddr *a, const struct sockaddr *sa, socklen_t len)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6) &&
	    is_mapped((const struct sockaddr_in6 *)sa)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;

		s4->sin_family = AF_INET;
		s4->sin_port = s6->sin6_port;
		memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
		a->len = sizeof(*s4);
		return;
	}
	if (len > sizeof(a->ss))
		len = sizeof(a->ss);
	memcpy(&a->ss, sa, len);
	a->len = len;
}

int
netaddr_parse_ip(const char *s, struct netaddr *addr_r)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (strncasecmp(s, "IPV6:", 5) == 0)
		s += 5;
	if (inet_pton(AF_INET, s, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		netaddr_from_sockaddr(addr_r, (struct sockaddr *)&s4, sizeof(s4));
		return 0;
	}
	if (inet_pton(AF_INET6, s, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		netaddr_from_sockaddr(addr_r, (struct sockaddr *)&s6, sizeof(s6));
		return 0;
	}
	return -1;
}

int
netaddr_parse_endpoint(const char *s, struct netaddr *addr_r, const char **error_r)
{
	char host[NETADDR_IP_MAX];
	const char *port_s;
	char *end;
	long port;
	size_t hlen;

	memset(addr_r, 0, sizeof(*addr_r));
	if (strncmp(s, "unix:", 5) == 0) {
		struct sockaddr_un *su = (struct sockaddr_un *)&addr_r->ss;

		if (strlen(s + 5) == 0 || strlen(s + 5) >= sizeof(su->sun_path)) {
			*error_r = "bad unix socket path";
			return -1;
		}
		su->sun_family = AF_UNIX;
		memcpy(su->sun_path, s + 5, strlen(s + 5) + 1);
		addr_r->len = sizeof(*su);
		return 0;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':') {
			*error_r = "expected [ipv6]:port";
			return -1;
		}
		hlen = (size_t)(close - s - 1);
		if (hlen >= sizeof(host)) {
			*error_r = "address too long";
			return -1;
		}
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		port_s = close + 2;
	} else {
		const char *colon = strrchr(s, ':');

		if (colon == NULL) {
			*error_r = "expected host:port";
			return -1;
		}
		hlen = (size_t)(colon - s);
		if (hlen >= sizeof(host)) {
			*error_r = "address too long";
			return -1;
		}
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		port_s = colon + 1;
	}
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (*port_s == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535) {
		*error_r = "bad port";
		return -1;
	}
	if (strcmp(host, "*") == 0 || host[0] == '\0') {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&addr_r->ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		s4->sin_port = htons((uint16_t)port);
		addr_r->len = sizeof(*s4);
		return 0;
	}
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)&addr_r->ss;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&addr_r->ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)port);
			addr_r->len = sizeof(*s4);
			return 0;
		}
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			addr_r->len = sizeof(*s6);
			return 0;
		}
	}
	*error_r = "not a numeric IP address";
	return -1;
}

void
netaddr_ip(const struct netaddr *a, char out[NETADDR_IP_MAX])
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;

	switch (sa->sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			  NETADDR_IP_MAX);
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  NETADDR_IP_MAX);
		break;
	case AF_UNIX:
		snprintf(out, NETADDR_IP_MAX, "unix");
		break;
	default:
		snprintf(out, NETADDR_IP_MAX, "unknown");
	}
}

int
netaddr_port(const struct netaddr *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;

	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

void
netaddr_format(const struct netaddr *a, char *out, size_t outlen)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	char ip[NETADDR_IP_MAX];

	if (sa->sa_family == AF_UNIX) {
		snprintf(out, outlen, "unix:%s", ((const struct sockaddr_un *)sa)->sun_path);
		return;
	}
	netaddr_ip(a, ip);
	if (sa->sa_family == AF_INET6)
		snprintf(out, outlen, "[%s]:%d", ip, netaddr_port(a));
	else
		snprintf(out, outlen, "%s:%d", ip, netaddr_port(a));
}

bool
netaddr_is_loopback(const struct netaddr *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;

	if (sa->sa_family == AF_UNIX)
		return true;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

bool
netaddr_is_ipv6(const struct netaddr *a)
{
	return a->ss.ss_family == AF_INET6;
}

size_t
netaddr_key(const struct netaddr *a, uint8_t key[17])
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;

	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 5;
	}
	if (sa->sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 17;
	}
	key[0] = 0;
	return 1;
}

int
cidr_parse(const char *s, struct cidr *c_r, const char **error_r)
{
	char host[NETADDR_IP_MAX];
	const char *slash = strchr(s, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned int maxp;
	unsigned int i;

	memset(c_r, 0, sizeof(*c_r));
	if (hlen == 0 || hlen >= sizeof(host)) {
		*error_r = "bad network address";
		return -1;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, c_r->addr) == 1) {
		c_r->family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, host, c_r->addr) == 1) {
		c_r->family = AF_INET6;
		maxp = 128;
	} else {
		*error_r = "bad network address";
		return -1;
	}
	c_r->prefix = maxp;
	if (slash != NULL) {
		char *end;
		long p;

		errno = 0;
		p = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || errno != 0 || p < 0 ||
		    p > (long)maxp) {
			*error_r = "bad prefix length";
			return -1;
		}
		c_r->prefix = (unsigned int)p;
	}
	/* clear host bits so that matching and printing are canonical */
	for (i = c_r->prefix; i < maxp; i++)
		c_r->addr[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
	return 0;
}

bool
cidr_match(const struct cidr *c, const struct netaddr *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	const uint8_t *ab;
	unsigned int full, rest;

	if (sa->sa_family != c->family)
		return false;
	ab = c->family == AF_INET
		? (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr
		: (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(ab, c->addr, full) != 0)
		return false;
	if (rest != 0) {
		uint8_t mask = (uint8_t)(0xffu << (8 - rest));

		if ((ab[full] & mask) != c->addr[full])
			return false;
	}
	return true;
}

void
cidr_format(const struct cidr *c, char *out, size_t outlen)
{
	char ip[NETADDR_IP_MAX];

	inet_ntop(c->family, c->addr, ip, sizeof(ip));
	snprintf(out, outlen, "%s/%u", ip, c->prefix);
}

int
netaddr_listen(const struct netaddr *a, int backlog, const char **error_r)
{
	int fd, one = 1, family = a->ss.ss_family;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	if (family == AF_UNIX) {
		unlink(((const struct sockaddr_un *)&a->ss)->sun_path);
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 || listen(fd, backlog) < 0) {
		*error_r = strerror(errno);
		close(fd);
		return -1;
	}
	return fd;
}
