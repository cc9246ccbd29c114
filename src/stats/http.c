/*
 * http.c - the HTTP endpoints (http.h).
 */
#include "stats/http.h"
#include "stats/history.h"
#include "stats/json.h"
#include "stats/stats.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "scan/pool.h"
#include "scan/scan.h"
#include "server/server.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HTTP_MAX_HEADERS 8192
#define HTTP_HISTORY_MAX_LIMIT 1000

struct http_pending {
	struct http_pending *next;
	struct http *http;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct history_query *q;
	bool lookup;
};

struct http {
	struct event_base *base;
	struct evhttp *eh;
	struct server *srv;
	struct history *history;
	char *token;
	unsigned int max_conns;
	/* connections seen (a request came on them), by pointer */
	struct evhttp_connection **conns;
	size_t conns_cap, nconns;
	struct http_pending *pending;
	unsigned int npending;
};

/* --- connections ---------------------------------------------------------- */

static size_t
conn_slot(const struct http *http, const struct evhttp_connection *c)
{
	return ((uintptr_t)c >> 4) % http->conns_cap;
}

static bool
conn_known(const struct http *http, const struct evhttp_connection *c)
{
	size_t i = conn_slot(http, c), k;

	for (k = 0; k < http->conns_cap; k++, i = (i + 1) % http->conns_cap) {
		if (http->conns[i] == c)
			return true;
		if (http->conns[i] == NULL)
			return false;
	}
	return false;
}

static void
conn_remove(struct http *http, const struct evhttp_connection *c)
{
	size_t i = conn_slot(http, c), k;

	for (k = 0; k < http->conns_cap; k++, i = (i + 1) % http->conns_cap) {
		if (http->conns[i] == NULL)
			return;
		if (http->conns[i] == c)
			break;
	}
	if (k == http->conns_cap)
		return;
	http->conns[i] = NULL;
	http->nconns--;
	/* re-insert the rest of the cluster (linear probing) */
	for (i = (i + 1) % http->conns_cap; http->conns[i] != NULL; i = (i + 1) % http->conns_cap) {
		struct evhttp_connection *m = http->conns[i];
		size_t j = conn_slot(http, m);

		http->conns[i] = NULL;
		while (http->conns[j] != NULL)
			j = (j + 1) % http->conns_cap;
		http->conns[j] = m;
	}
}

static void
on_conn_close(struct evhttp_connection *c, void *arg)
{
	struct http *http = arg;
	struct http_pending **pp = &http->pending;

	conn_remove(http, c);
	/* a query still running for this client: its answer has nowhere to go */
	while (*pp != NULL) {
		struct http_pending *p = *pp;

		if (p->evcon != c) {
			pp = &p->next;
			continue;
		}
		history_cancel(p->q);
		*pp = p->next;
		http->npending--;
		free(p);
	}
}

/* track the connection of a request; false when over max_connections */
static bool
conn_admit(struct http *http, struct evhttp_request *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	size_t i;

	if (c == NULL || conn_known(http, c))
		return true;
	if (http->nconns >= http->max_conns)
		return false;
	for (i = conn_slot(http, c); http->conns[i] != NULL; i = (i + 1) % http->conns_cap)
		;
	http->conns[i] = c;
	http->nconns++;
	evhttp_connection_set_closecb(c, on_conn_close, http);
	return true;
}

/* --- replies -------------------------------------------------------------- */

static void
reply(struct evhttp_request *req, int code, const char *reason, const char *ctype,
      const void *body, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(out, body, len);
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

static void
reply_json(struct evhttp_request *req, int code, const char *reason, const struct buf *b)
{
	reply(req, code, reason, "application/json", b->data != NULL ? b->data : "", b->len);
}

static void
reply_error(struct evhttp_request *req, int code, const char *reason, const char *msg)
{
	struct buf b = BUF_INIT;
	bool first = true;

	buf_append_char(&b, '{');
	json_append_kv_str(&b, &first, "error", msg);
	buf_append_str(&b, "}\n");
	reply_json(req, code, reason, &b);
	buf_deinit(&b);
}

static bool
token_ok(const struct http *http, struct evhttp_request *req)
{
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req),
					      "Authorization");
	size_t n, i;
	unsigned char diff = 0;

	if (http->token[0] == '\0')
		return true;
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return false;
	auth += 7;
	while (*auth == ' ')
		auth++;
	n = strlen(http->token);
	if (strlen(auth) != n)
		return false;
	for (i = 0; i < n; i++)
		diff |= (unsigned char)(auth[i] ^ http->token[i]);
	return diff == 0;
}

static void
gauges(struct http *http, struct stats_gauges *g, struct buf *describe)
{
	memset(g, 0, sizeof(*g));
	scan_engine_describe(server_engine(http->srv), describe);
	g->node = server_conf(http->srv)->hostname;
	g->sessions = server_session_count(http->srv);
	g->scan_queue = scan_pool_pending(server_pool(http->srv));
	g->draining = server_is_draining(http->srv);
	g->engine_describe = buf_cstr(describe);
	g->history = http->history;
}

/* --- endpoints ------------------------------------------------------------ */

static void
serve_metrics(struct http *http, struct evhttp_request *req)
{
	struct buf out = BUF_INIT, desc = BUF_INIT;
	struct stats_gauges g;

	gauges(http, &g, &desc);
	stats_prometheus(&out, &g);
	reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
	buf_deinit(&out);
	buf_deinit(&desc);
}

static void
serve_stats(struct http *http, struct evhttp_request *req, const struct evkeyvalq *args)
{
	struct buf out = BUF_INIT, desc = BUF_INIT;
	struct stats_gauges g;
	const char *m = evhttp_find_header(args, "minutes");
	unsigned int minutes = m != NULL ? (unsigned int)strtoul(m, NULL, 10) : 60;

	gauges(http, &g, &desc);
	stats_json(&out, &g, minutes);
	buf_append_char(&out, '\n');
	reply_json(req, 200, "OK", &out);
	buf_deinit(&out);
	buf_deinit(&desc);
}

/* since=: Unix seconds, or an age (30s, 15m, 2h, 7d) back from now */
static int
parse_since(const char *s, int64_t *ms_r)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || errno != 0 || v < 0)
		return -1;
	if (*end == '\0') {
		*ms_r = v * 1000;
		return 0;
	}
	if (end[1] != '\0')
		return -1;
	switch (*end) {
	case 's': break;
	case 'm': v *= 60; break;
	case 'h': v *= 3600; break;
	case 'd': v *= 86400; break;
	default: return -1;
	}
	*ms_r = (int64_t)time(NULL) * 1000 - (int64_t)v * 1000;
	return 0;
}

static void
query_answered(void *ctx, struct history_result *res)
{
	struct http_pending *p = ctx, **pp;
	struct http *http = p->http;

	for (pp = &http->pending; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	http->npending--;
	{
		struct buf out = BUF_INIT;

		if (p->lookup) {
			if (res->status == 200)
				reply(p->req, 200, "OK", "application/json", res->json.data,
				      res->json.len);
			else
				reply_error(p->req, 404, "Not Found",
					    res->error != NULL ? res->error : "no such decision");
		} else {
			bool first = true;

			buf_append_char(&out, '{');
			json_append_kv_str(&out, &first, "source", res->source);
			json_append_kv_u64(&out, &first, "count", res->count);
			json_append_kv_u64(&out, &first, "scanned", res->scanned);
			json_append_kv_bool(&out, &first, "truncated", res->truncated);
			if (res->error != NULL)
				json_append_kv_str(&out, &first, "error", res->error);
			buf_append_str(&out, ",\"records\":");
			buf_append(&out, res->json.data != NULL ? res->json.data : "[]",
				   res->json.data != NULL ? res->json.len : 2);
			buf_append_str(&out, "}\n");
			reply_json(p->req, 200, "OK", &out);
		}
		buf_deinit(&out);
	}
	free(p);
}

static struct http_pending *
pending_new(struct http *http, struct evhttp_request *req, bool lookup)
{
	struct http_pending *p = xcalloc(1, sizeof(*p));

	p->http = http;
	p->req = req;
	p->evcon = evhttp_request_get_connection(req);
	p->lookup = lookup;
	p->next = http->pending;
	http->pending = p;
	http->npending++;
	return p;
}

static void
serve_history(struct http *http, struct evhttp_request *req, const struct evkeyvalq *args)
{
	struct history_filter f;
	const char *v;
	struct http_pending *p;
	struct history_query *q;

	memset(&f, 0, sizeof(f));
	f.action = -1;
	f.limit = 50;
	if ((v = evhttp_find_header(args, "action")) != NULL && v[0] != '\0' &&
	    (f.action = stats_action_parse(v)) < 0) {
		reply_error(req, 400, "Bad Request",
			    "action: accept, tag, greylist, tempfail, reject, discard or abort");
		return;
	}
	if ((v = evhttp_find_header(args, "rule")) != NULL)
		snprintf(f.rule, sizeof(f.rule), "%s", v);
	if ((v = evhttp_find_header(args, "q")) != NULL)
		snprintf(f.q, sizeof(f.q), "%s", v);
	if ((v = evhttp_find_header(args, "since")) != NULL && v[0] != '\0' &&
	    parse_since(v, &f.since_ms) < 0) {
		reply_error(req, 400, "Bad Request", "since: Unix seconds or an age (30m, 2h, 7d)");
		return;
	}
	if ((v = evhttp_find_header(args, "limit")) != NULL && v[0] != '\0') {
		unsigned long l = strtoul(v, NULL, 10);

		f.limit = (unsigned int)MAX(1, MIN(l, HTTP_HISTORY_MAX_LIMIT));
	}
	p = pending_new(http, req, false);
	q = history_search(http->history, &f, query_answered, p);
	if (q != NULL)
		p->q = q;
}

static void
serve_decision(struct http *http, struct evhttp_request *req, const char *id)
{
	struct http_pending *p;
	struct history_query *q;
	uint64_t parsed;

	if (id_parse(id, &parsed) < 0) {
		reply_error(req, 400, "Bad Request", "a decision id has 13 characters");
		return;
	}
	p = pending_new(http, req, true);
	q = history_lookup(http->history, id, query_answered, p);
	if (q != NULL)
		p->q = q;
}

static const struct http_asset *
asset(const char *path)
{
	size_t i;

	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (i = 0; http_assets[i].path != NULL; i++) {
		if (strcmp(http_assets[i].path, path) == 0)
			return &http_assets[i];
	}
	return NULL;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct http *http = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	const struct http_asset *a;
	struct evkeyvalq args;

	if (!conn_admit(http, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		reply_error(req, 503, "Service Unavailable", "too many connections");
		return;
	}
	if (path == NULL || path[0] == '\0')
		path = "/";
	if (strcmp(path, "/healthz") == 0) {
		bool draining = server_is_draining(http->srv);
		struct buf b = BUF_INIT;

		buf_appendf(&b, "{\"status\":\"%s\"}\n", draining ? "draining" : "ok");
		reply_json(req, draining ? 503 : 200, draining ? "Service Unavailable" : "OK", &b);
		buf_deinit(&b);
		return;
	}
	if ((a = asset(path)) != NULL) {
		struct evkeyvalq *h = evhttp_request_get_output_headers(req);

		if (strncmp(a->content_type, "text/html", 9) == 0)
			evhttp_add_header(h, "Content-Security-Policy",
					  "default-src 'self'; img-src 'self' data:; "
					  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
		reply(req, 200, "OK", a->content_type, a->data, a->len);
		return;
	}
	if (strcmp(path, "/metrics") != 0 && strncmp(path, "/api/", 5) != 0) {
		reply_error(req, 404, "Not Found", "no such page");
		return;
	}
	if (!token_ok(http, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
				  "Bearer realm=\"mxmoat\"");
		reply_error(req, 401, "Unauthorized", "a bearer token is needed");
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		serve_metrics(http, req);
		return;
	}
	TAILQ_INIT(&args);
	if (query != NULL && evhttp_parse_query_str(query, &args) < 0) {
		reply_error(req, 400, "Bad Request", "malformed query string");
		return;
	}
	if (strcmp(path, "/api/stats") == 0) {
		serve_stats(http, req, &args);
	} else if (strcmp(path, "/api/history") == 0 || strncmp(path, "/api/decision/", 14) == 0) {
		if (http->history == NULL)
			reply_error(req, 404, "Not Found", "[history] enabled is off");
		else if (http->npending >= HTTP_MAX_QUERIES)
			reply_error(req, 503, "Service Unavailable", "too many searches running");
		else if (path[5] == 'h')
			serve_history(http, req, &args);
		else
			serve_decision(http, req, path + 14);
	} else {
		reply_error(req, 404, "Not Found", "no such endpoint");
	}
	evhttp_clear_headers(&args);
}

/* --- lifecycle ------------------------------------------------------------ */

struct http *
http_new(struct event_base *base, const struct conf *conf, struct server *srv,
	 struct history *history, const char **error_r)
{
	struct http *http = xcalloc(1, sizeof(*http));
	size_t i;

	http->base = base;
	http->srv = srv;
	http->history = history;
	http->token = xstrdup(conf->http_token);
	http->max_conns = MAX(conf->http_max_connections, 1u);
	http->conns_cap = (size_t)http->max_conns * 2 + 1;
	http->conns = xcalloc(http->conns_cap, sizeof(*http->conns));
	http->eh = evhttp_new(base);
	if (http->eh == NULL)
		panic("evhttp_new failed");
	evhttp_set_allowed_methods(http->eh, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(http->eh, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http->eh, 0);
	evhttp_set_timeout(http->eh, (int)MAX(conf->http_timeout_ms / 1000, 1));
	evhttp_set_gencb(http->eh, on_request, http);
	for (i = 0; i < conf->http_listen.count; i++) {
		char name[128];
		int fd = netaddr_listen(&conf->http_listen.addr[i], 128, error_r);

		netaddr_format(&conf->http_listen.addr[i], name, sizeof(name));
		if (fd < 0 || evhttp_accept_socket_with_handle(http->eh, fd) == NULL) {
			static char msg[256];

			snprintf(msg, sizeof(msg), "[http] cannot listen on %s: %s", name,
				 fd < 0 ? *error_r : "evhttp refused the socket");
			if (fd >= 0)
				close(fd);
			*error_r = msg;
			http_free(&http);
			return NULL;
		}
		log_info("event=listen address=%s service=http token=%s", name,
			 conf->http_token[0] != '\0' ? "yes" : "no");
	}
	return http;
}

void
http_reload(struct http *http, const struct conf *conf)
{
	free(http->token);
	http->token = xstrdup(conf->http_token);
}

void
http_free(struct http **hp)
{
	struct http *http = *hp;

	if (http == NULL)
		return;
	*hp = NULL;
	if (http->eh != NULL)
		evhttp_free(http->eh);
	/* evhttp_free() closed the connections: every pending query was
	 * cancelled by on_conn_close(); their jobs free themselves */
	while (http->pending != NULL) {
		struct http_pending *p = http->pending;

		http->pending = p->next;
		history_cancel(p->q);
		free(p);
	}
	free(http->conns);
	free(http->token);
	free(http);
}
