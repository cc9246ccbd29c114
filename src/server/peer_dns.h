/*
 * peer_dns.h - the client's verified host name, as Postfix's smtpd finds
 * it: a PTR lookup of the address, then a forward lookup of that name
 * which must return the address again (forward-confirmed reverse DNS).
 *
 * Contract: peer_dns_lookup() never blocks. When it is done it calls
 * cb(ctx, sid, status, name) once, from the event loop, with
 *   PEER_DNS_OK    and the verified name (lower-cased, no trailing dot),
 *   PEER_DNS_TEMP  (timeout, SERVFAIL: Postfix's [TEMPUNAVAIL]) or
 *   PEER_DNS_PERM  (no PTR, or the name does not lead back to the
 *                  address: Postfix's [UNAVAILABLE]) and name NULL.
 * The caller finds its session again by sid (it may have ended).
 * Names longer than 255 bytes or with bytes outside [A-Za-z0-9.-_] are
 * PERM: they never reach XCLIENT or the logs.
 */
#ifndef MXMOAT_PEER_DNS_H
#define MXMOAT_PEER_DNS_H

#include "core/netaddr.h"

struct evdns_base;

enum peer_dns_status { PEER_DNS_OK, PEER_DNS_TEMP, PEER_DNS_PERM };

typedef void peer_dns_done_fn(void *ctx, uint64_t sid, enum peer_dns_status status,
			      const char *name);

void peer_dns_lookup(struct evdns_base *dns, const struct netaddr *addr, uint64_t sid,
		     peer_dns_done_fn *cb, void *ctx);

#endif
