/*
 * netaddr.h - socket addresses and CIDR networks.
 *
 * Endpoints are written "host:port", "[ipv6]:port", "*:port" (IPv4 any) or
 * "unix:/path". Hosts are numeric only: a mail gateway's listen and
 * downstream addresses must not depend on DNS at start-up. IPv4-mapped
 * IPv6 client addresses (::ffff:a.b.c.d) are reported and matched as IPv4.
 */
#ifndef MXMOAT_NETADDR_H
#define MXMOAT_NETADDR_H

#include "core/common.h"
#include <sys/socket.h>
#include <netinet/in.h>

struct netaddr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* text form of an IP without brackets; enough for IPv6 + scope */
#define NETADDR_IP_MAX 64

int netaddr_parse_endpoint(const char *s, struct netaddr *addr_r, const char **error_r);
/* netaddr_parse_ip(): a numeric IPv4 or IPv6 address without port, also
 * in Postfix's XCLIENT/XFORWARD form "IPV6:2001:db8::1"; IPv4-mapped
 * IPv6 comes out as IPv4. 0 / -1. */
int netaddr_parse_ip(const char *s, struct netaddr *addr_r);
/* netaddr_ip(): the numeric IP (IPv4-mapped shown as IPv4) or "unix". */
void netaddr_ip(const struct netaddr *a, char out[NETADDR_IP_MAX]);
int netaddr_port(const struct netaddr *a);
/* netaddr_format(): "ip:port", "[ip6]:port" or "unix:/path". */
void netaddr_format(const struct netaddr *a, char *out, size_t outlen);
bool netaddr_is_loopback(const struct netaddr *a);
bool netaddr_is_ipv6(const struct netaddr *a);
/* netaddr_from_sockaddr(): copy, unmapping IPv4-mapped IPv6. */
/* netaddr_listen(): a non-blocking, close-on-exec listening socket bound
 * to a (SO_REUSEADDR; IPv6 only for an IPv6 address; a stale unix
 * socket file removed first); -1 with *error_r (strerror) on failure */
int netaddr_listen(const struct netaddr *a, int backlog, const char **error_r);
void netaddr_from_sockaddr(struct netaddr *a, const struct sockaddr *sa, socklen_t len);

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned int prefix;
};

/* cidr_parse(): "192.0.2.0/24", "2001:db8::/32", or a single address. */
int cidr_parse(const char *s, struct cidr *c_r, const char **error_r);
bool cidr_match(const struct cidr *c, const struct netaddr *a);
void cidr_format(const struct cidr *c, char *out, size_t outlen);

/* netaddr_key(): a compact key for per-client counting: family + address
 * bytes (no port). Returns the key length written (at most 17). */
size_t netaddr_key(const struct netaddr *a, uint8_t key[17]);

#endif
