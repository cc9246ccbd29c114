/*
 * server.h - the inbound SMTP server: listeners, connection limits,
 * configuration snapshots, reload and graceful shutdown.
 *
 * Contract: server_new() binds every [server] listen address (fatal at
 * start-up if one cannot be bound). Each accepted connection becomes a
 * session (session.h) unless a limit is hit: over max_connections or
 * max_connections_per_ip the client gets "421 4.7.0" and is closed at
 * once. The server owns the scan worker pool. server_reload() swaps in a
 * validated engine snapshot (configuration + plugins): sessions started
 * before keep theirs (they hold a reference). server_shutdown() stops
 * accepting, lets transactions in progress finish up to
 * [daemon] shutdown_timeout, and exits the event loop when no session is
 * left.
 */
#ifndef MXMOAT_SERVER_H
#define MXMOAT_SERVER_H

#include "conf/conf.h"

struct event_base;
struct evdns_base;
struct scan_engine;
struct scan_pool;
struct server;
struct session;

/* server_new(): serve with this engine snapshot (and its configuration). */
struct server *server_new(struct event_base *base, struct scan_engine *engine,
			  const char **error_r);
void server_free(struct server **s);
/* server_reload(): takes over the caller's reference to the new engine;
 * sessions started before keep the one they hold. */
void server_reload(struct server *s, struct scan_engine *engine);
void server_shutdown(struct server *s);
bool server_is_draining(const struct server *s);
struct conf *server_conf(const struct server *s);
struct scan_engine *server_engine(const struct server *s);
struct scan_pool *server_pool(const struct server *s);
/* server_tls(): the STARTTLS context, or NULL when [tls] has none */
struct ssl_ctx_st *server_tls(const struct server *s);
/* server_tls_client(): the context for STARTTLS to the downstream */
struct ssl_ctx_st *server_tls_client(const struct server *s);
struct event_base *server_base(const struct server *s);

struct evdns_base *server_dns(const struct server *s);
/* server_session_find(): the live session with this id, or NULL. */
struct session *server_session_find(const struct server *s, uint64_t sid);

/* for session.c */
void server_session_add(struct server *s, struct session *sess);
void server_session_gone(struct server *s, struct session *sess);
unsigned int server_session_count(const struct server *s);

#endif
