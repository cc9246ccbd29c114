/*
 * http.h - mxmoatd's HTTP listener (libevent evhttp, on the event loop):
 *
 *   GET /metrics            Prometheus text format (stats_prometheus())
 *   GET /api/stats          JSON summary (stats_json()); ?minutes=1..1440
 *   GET /api/history        search: ?action=&rule=&q=&since=&limit=
 *                           (since: Unix seconds or an age: 30m, 2h, 7d)
 *   GET /api/decision/<id>  one record, by the id quoted in a reply
 *   GET /healthz            200 {"status":"ok"}, 503 while shutting down
 *   GET /                   the dashboard (files embedded at build time)
 *
 * Access: [http] listen is loopback by default; with [http] token set,
 * /metrics and the /api/ endpoints need "Authorization: Bearer TOKEN" (compared in
 * constant time); /healthz and the dashboard's static files never carry
 * data and need none. Only GET and HEAD; requests are bounded (8 KB of
 * headers, no body, [http] timeout idle, [http] max_connections
 * connections: requests on more get 503 and the connection is closed).
 * Searches that go to Redis run on the history's thread; at most
 * HTTP_MAX_QUERIES at a time (503 beyond), each answered when it is done,
 * or dropped if its client went away.
 */
#ifndef MXMOAT_HTTP_H
#define MXMOAT_HTTP_H

#include "conf/conf.h"

struct event_base;
struct history;
struct http;
struct server;

#define HTTP_MAX_QUERIES 16

/* the dashboard's files (dashboard_assets.c, generated at build time) */
struct http_asset {
	const char *path;          /* "/index.html" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
};
extern const struct http_asset http_assets[];

/* http_new(): binds every [http] listen address (call before dropping
 * privileges); NULL with *error_r (static text) if one cannot be bound.
 * history may be NULL. */
struct http *http_new(struct event_base *base, const struct conf *conf, struct server *srv,
		      struct history *history, const char **error_r);
/* http_reload(): the token of a reloaded configuration (listen needs a
 * restart) */
void http_reload(struct http *http, const struct conf *conf);
void http_free(struct http **http);

#endif
