#include "server/peer_dns.h"
#include "core/xalloc.h"

#include <ctype.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <netinet/in.h>

struct peer_dns {
	struct evdns_base *dns;
	struct netaddr addr;
	uint64_t sid;
	peer_dns_done_fn *cb;
	void *ctx;
	char name[256];
};

static void
finish(struct peer_dns *q, enum peer_dns_status status)
{
	q->cb(q->ctx, q->sid, status, status == PEER_DNS_OK ? q->name : NULL);
	free(q);
}

static bool
addr_equal(const struct netaddr *a, const struct sockaddr *sa)
{
	if (sa->sa_family != a->ss.ss_family)
		return false;
	if (sa->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)sa)->sin_addr,
			      &((const struct sockaddr_in *)&a->ss)->sin_addr, 4) == 0;
	if (sa->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
			      &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16) == 0;
	return false;
}

static void
forward_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct peer_dns *q = arg;
	struct evutil_addrinfo *ai;
	bool found = false;

	if (result != 0) {
		evutil_freeaddrinfo(res);
		finish(q, result == EVUTIL_EAI_NONAME || result == EVUTIL_EAI_NODATA
				  ? PEER_DNS_PERM
				  : PEER_DNS_TEMP);
		return;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (addr_equal(&q->addr, ai->ai_addr))
			found = true;
	}
	evutil_freeaddrinfo(res);
	finish(q, found ? PEER_DNS_OK : PEER_DNS_PERM);
}

static bool
name_is_sane(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 255)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '.' && c != '-' && c != '_')
			return false;
	}
	return true;
}

static void
reverse_cb(int result, char type, int count, int ttl, void *addresses, void *arg)
{
	struct peer_dns *q = arg;
	struct evutil_addrinfo hints;
	const char *ptr;
	size_t len, i;

	if (result == DNS_ERR_NOTEXIST || result == DNS_ERR_NODATA ||
	    (result == DNS_ERR_NONE && (type != DNS_PTR || count < 1))) {
		finish(q, PEER_DNS_PERM);
		return;
	}
	if (result != DNS_ERR_NONE) {
		finish(q, PEER_DNS_TEMP);
		return;
	}
	ptr = ((const char *const *)addresses)[0];
	len = strlen(ptr);
	if (len > 0 && ptr[len - 1] == '.')
		len--;
	if (!name_is_sane(ptr, len)) {
		finish(q, PEER_DNS_PERM);
		return;
	}
	for (i = 0; i < len; i++)
		q->name[i] = (char)tolower((unsigned char)ptr[i]);
	q->name[len] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = q->addr.ss.ss_family;
	hints.ai_socktype = SOCK_STREAM;
	/* the callback may run before this returns (cached or hosts file) */
	evdns_getaddrinfo(q->dns, q->name, NULL, &hints, forward_cb, q);
}

void
peer_dns_lookup(struct evdns_base *dns, const struct netaddr *addr, uint64_t sid,
		peer_dns_done_fn *cb, void *ctx)
{
	struct peer_dns *q = xcalloc(1, sizeof(*q));
	struct evdns_request *req = NULL;

	q->dns = dns;
	q->addr = *addr;
	q->sid = sid;
	q->cb = cb;
	q->ctx = ctx;
	if (addr->ss.ss_family == AF_INET)
		req = evdns_base_resolve_reverse(dns, &((const struct sockaddr_in *)&addr->ss)->sin_addr,
						 DNS_QUERY_NO_SEARCH, reverse_cb, q);
	else if (addr->ss.ss_family == AF_INET6)
		req = evdns_base_resolve_reverse_ipv6(
			dns, &((const struct sockaddr_in6 *)&addr->ss)->sin6_addr,
			DNS_QUERY_NO_SEARCH, reverse_cb, q);
	if (req == NULL)
		finish(q, PEER_DNS_TEMP);
}
