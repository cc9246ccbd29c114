/*
 * session.h - one inbound SMTP session and its downstream relay.
 *
 * Contract: session_new() takes an accepted socket; the session owns it
 * and its struct relay from then on and frees itself when the client or
 * the protocol ends it (deferred to the end of the loop iteration, so no
 * callback ever sees a freed session). The server only creates sessions,
 * tells them to drain, and is told when they are gone.
 */
#ifndef MXMOAT_SESSION_H
#define MXMOAT_SESSION_H

#include "core/netaddr.h"
#include "conf/conf.h"

struct server;
struct session;

struct scan_engine;

void session_new(struct server *srv, struct scan_engine *engine, int fd,
		 const struct netaddr *client, const struct netaddr *local);
/* session_drain(): shutdown has begun. An idle session gets 421 4.3.2 at
 * once; one in a transaction gets it when the transaction ends. */
void session_drain(struct session *s);
/* session_force_close(): the shutdown deadline passed: 421 4.3.2 now;
 * nothing in progress is accepted. */
void session_force_close(struct session *s);
const struct netaddr *session_client(const struct session *s);

#endif
