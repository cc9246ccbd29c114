/*
 * server.c - listeners, connection limits, snapshots, shutdown.
 */
#include "server/server.h"
#include "server/session_private.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "scan/pool.h"
#include "scan/scan.h"
#include "core/tls.h"
#include "stats/stats.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define IPTABLE_BUCKETS 4096
#define SID_BUCKETS 4096

struct ip_count {
	struct ip_count *next;
	uint8_t key[17];
	size_t keylen;
	unsigned int count;
};

struct server {
	struct event_base *base;
	struct scan_engine *engine;  /* the current snapshot */
	struct conf *conf;           /* = the engine's */
	struct scan_pool *pool;
	SSL_CTX *tls_server;         /* NULL: no STARTTLS offered */
	SSL_CTX *tls_client;         /* STARTTLS to the downstream */
	struct evconnlistener *listeners[CONF_MAX_LISTEN];
	size_t nlisteners;
	struct session *sessions;
	unsigned int nsessions;
	struct ip_count *ips[IPTABLE_BUCKETS];
	/* sessions by id: async results (DNS, scans) find them this way */
	struct session *by_sid[SID_BUCKETS];
	struct evdns_base *dns;
	bool draining;
	struct event *drain_timer;
	uint64_t refused_total;
};

static uint32_t
ip_hash(const uint8_t *key, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % IPTABLE_BUCKETS;
}

static struct ip_count **
ip_find(struct server *srv, const struct netaddr *a, uint8_t key[17], size_t *len_r)
{
	struct ip_count **pp;
	size_t len = netaddr_key(a, key);

	*len_r = len;
	for (pp = &srv->ips[ip_hash(key, len)]; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->keylen == len && memcmp((*pp)->key, key, len) == 0)
			break;
	}
	return pp;
}

static unsigned int
ip_get(struct server *srv, const struct netaddr *a)
{
	uint8_t key[17];
	size_t len;
	struct ip_count **pp = ip_find(srv, a, key, &len);

	return *pp != NULL ? (*pp)->count : 0;
}

static void
ip_add(struct server *srv, const struct netaddr *a, int delta)
{
	uint8_t key[17];
	size_t len;
	struct ip_count **pp = ip_find(srv, a, key, &len);

	if (*pp == NULL) {
		if (delta < 0)
			panic("ip_add: unknown client");
		*pp = xcalloc(1, sizeof(**pp));
		memcpy((*pp)->key, key, len);
		(*pp)->keylen = len;
	}
	(*pp)->count = (unsigned int)((int)(*pp)->count + delta);
	if ((*pp)->count == 0) {
		struct ip_count *dead = *pp;

		*pp = dead->next;
		free(dead);
	}
}

/* refuse(): answer an over-limit client without a session */
static void
refuse_connection(struct server *srv, int fd, const char *ip, const char *why)
{
	char line[300];
	struct id_str id = id_format(id_next());
	int n = snprintf(line, sizeof(line), "421 4.7.0 %s Error: %s [id=%s]\r\n",
			 srv->conf->hostname, why, id.s);

	srv->refused_total++;
	/* the socket is non-blocking and its buffer empty: one send fits */
	if (n > 0 && send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("refuse: send failed: %s", strerror(errno));
	log_info("id=%s event=refused client=%s reason=\"%s\"", id.s, ip, why);
	close(fd);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
	  void *arg)
{
	struct server *srv = arg;
	struct netaddr client, local;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char ip[NETADDR_IP_MAX];

	netaddr_from_sockaddr(&client, sa, (socklen_t)salen);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		netaddr_from_sockaddr(&local, (struct sockaddr *)&ss, sslen);
	else
		memset(&local, 0, sizeof(local));
	netaddr_ip(&client, ip);
	if (srv->draining) {
		stats_connection_refused(STATS_REFUSED_SHUTDOWN);
		refuse_connection(srv, fd, ip, "service shutting down");
		return;
	}
	if (srv->nsessions >= srv->conf->max_connections) {
		stats_connection_refused(STATS_REFUSED_MAX_CONNECTIONS);
		refuse_connection(srv, fd, ip, "too many connections");
		return;
	}
	if (srv->conf->max_connections_per_ip > 0 &&
	    ip_get(srv, &client) >= srv->conf->max_connections_per_ip) {
		stats_connection_refused(STATS_REFUSED_PER_IP);
		refuse_connection(srv, fd, ip, "too many connections from your address");
		return;
	}
	ip_add(srv, &client, 1);
	srv->nsessions++;
	stats_connection_open(STATS_FRONTEND_SMTP);
	session_new(srv, srv->engine, fd, &client, &local);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();

	/* EMFILE and friends: keep running, new connections wait in the
	 * backlog until sessions end */
	log_error("event=accept_error error=\"%s\"", evutil_socket_error_to_string(err));
}

struct server *
server_new(struct event_base *base, struct scan_engine *engine, const char **error_r)
{
	struct server *srv = xcalloc(1, sizeof(*srv));
	struct conf *conf = scan_engine_conf(engine);
	size_t i;

	srv->base = base;
	srv->engine = scan_engine_ref(engine);
	srv->conf = conf;
	srv->pool = scan_pool_new(base, conf->scan_workers, error_r);
	if (srv->pool == NULL) {
		server_free(&srv);
		return NULL;
	}
	{
		char *terr = NULL;
		static char msg[600];

		srv->tls_server = tls_server_ctx_new(conf, &terr);
		if (terr == NULL)
			srv->tls_client = tls_client_ctx_new(conf, &terr);
		if (terr != NULL) {
			snprintf(msg, sizeof(msg), "%s", terr);
			free(terr);
			*error_r = msg;
			server_free(&srv);
			return NULL;
		}
	}
	if (conf->client_name_lookup) {
		char secs[32];

		srv->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
						    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (srv->dns == NULL) {
			*error_r = "cannot initialise the DNS resolver (/etc/resolv.conf)";
			server_free(&srv);
			return NULL;
		}
		snprintf(secs, sizeof(secs), "%.3f", (double)conf->dns_timeout_ms / 1000.0);
		evdns_base_set_option(srv->dns, "timeout:", secs);
		evdns_base_set_option(srv->dns, "attempts:", "2");
	}
	for (i = 0; i < conf->listen.count; i++) {
		int fd = netaddr_listen(&conf->listen.addr[i], 511, error_r);
		char name[128];

		netaddr_format(&conf->listen.addr[i], name, sizeof(name));
		if (fd < 0) {
			static char msg[256];

			snprintf(msg, sizeof(msg), "cannot listen on %s: %s", name, *error_r);
			*error_r = msg;
			server_free(&srv);
			return NULL;
		}
		srv->listeners[i] = evconnlistener_new(base, accept_cb, srv,
						       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
						       -1, fd);
		if (srv->listeners[i] == NULL)
			panic("evconnlistener_new failed");
		evconnlistener_set_error_cb(srv->listeners[i], accept_error_cb);
		srv->nlisteners++;
		log_info("event=listen address=%s", name);
	}
	return srv;
}

static void
close_listeners(struct server *srv)
{
	size_t i;

	for (i = 0; i < srv->nlisteners; i++) {
		evconnlistener_free(srv->listeners[i]);
		srv->listeners[i] = NULL;
	}
	srv->nlisteners = 0;
}

void
server_free(struct server **sp)
{
	struct server *srv = *sp;
	size_t i;

	if (srv == NULL)
		return;
	*sp = NULL;
	close_listeners(srv);
	if (srv->dns != NULL)
		evdns_base_free(srv->dns, 1);
	if (srv->drain_timer != NULL)
		event_free(srv->drain_timer);
	for (i = 0; i < IPTABLE_BUCKETS; i++) {
		while (srv->ips[i] != NULL) {
			struct ip_count *n = srv->ips[i]->next;

			free(srv->ips[i]);
			srv->ips[i] = n;
		}
	}
	/* sessions are gone: what is still queued only frees itself */
	scan_pool_free(&srv->pool);
	scan_engine_unref(&srv->engine);
	if (srv->tls_server != NULL)
		SSL_CTX_free(srv->tls_server);
	if (srv->tls_client != NULL)
		SSL_CTX_free(srv->tls_client);
	free(srv);
}

void
server_reload(struct server *srv, struct scan_engine *engine)
{
	struct conf *conf = scan_engine_conf(engine);
	size_t i;
	bool same = conf->listen.count == srv->conf->listen.count;

	for (i = 0; same && i < conf->listen.count; i++) {
		if (conf->listen.addr[i].len != srv->conf->listen.addr[i].len ||
		    memcmp(&conf->listen.addr[i].ss, &srv->conf->listen.addr[i].ss,
			   conf->listen.addr[i].len) != 0)
			same = false;
	}
	if (!same)
		log_warning("event=reload warning=\"[server] listen changed: takes effect at restart\"");
	{
		char *terr = NULL;
		SSL_CTX *ctx = tls_server_ctx_new(conf, &terr);
		SSL_CTX *cctx = terr == NULL ? tls_client_ctx_new(conf, &terr) : NULL;

		if (terr != NULL) {
			if (ctx != NULL)
				SSL_CTX_free(ctx);
			/* the certificate is part of the configuration: keep the
			 * old context, as for any other invalid setting */
			log_error("event=reload warning=\"TLS: %s; keeping the old certificate\"", terr);
			free(terr);
		} else {
			if (srv->tls_server != NULL)
				SSL_CTX_free(srv->tls_server);
			srv->tls_server = ctx;
			if (srv->tls_client != NULL)
				SSL_CTX_free(srv->tls_client);
			srv->tls_client = cctx;
		}
	}
	scan_engine_unref(&srv->engine);
	srv->engine = engine;
	srv->conf = conf;
}

SSL_CTX *
server_tls(const struct server *srv)
{
	return srv->tls_server;
}

SSL_CTX *
server_tls_client(const struct server *srv)
{
	return srv->tls_client;
}

static void
drain_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct session *s, *next;

	log_info("event=shutdown_deadline sessions=%u", srv->nsessions);
	for (s = srv->sessions; s != NULL; s = next) {
		next = s->next;
		session_force_close(s);
	}
}

void
server_shutdown(struct server *srv)
{
	struct session *s, *next;
	struct timeval tv;

	if (srv->draining)
		return;
	srv->draining = true;
	close_listeners(srv);
	log_info("event=shutdown sessions=%u timeout_ms=%llu", srv->nsessions,
		 (unsigned long long)srv->conf->shutdown_timeout_ms);
	if (srv->nsessions == 0) {
		event_base_loopexit(srv->base, NULL);
		return;
	}
	for (s = srv->sessions; s != NULL; s = next) {
		next = s->next;
		session_drain(s);
	}
	tv.tv_sec = (time_t)(srv->conf->shutdown_timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)((srv->conf->shutdown_timeout_ms % 1000) * 1000);
	srv->drain_timer = evtimer_new(srv->base, drain_deadline_cb, srv);
	evtimer_add(srv->drain_timer, &tv);
}

bool
server_is_draining(const struct server *srv)
{
	return srv->draining;
}

struct conf *
server_conf(const struct server *srv)
{
	return srv->conf;
}

struct scan_engine *
server_engine(const struct server *srv)
{
	return srv->engine;
}

struct scan_pool *
server_pool(const struct server *srv)
{
	return srv->pool;
}

struct event_base *
server_base(const struct server *srv)
{
	return srv->base;
}

struct evdns_base *
server_dns(const struct server *srv)
{
	return srv->dns;
}

struct session *
server_session_find(const struct server *srv, uint64_t sid)
{
	struct session *s;

	for (s = srv->by_sid[sid % SID_BUCKETS]; s != NULL; s = s->sid_next) {
		if (s->sid == sid)
			return s;
	}
	return NULL;
}

void
server_session_add(struct server *srv, struct session *s)
{
	s->sid_next = srv->by_sid[s->sid % SID_BUCKETS];
	srv->by_sid[s->sid % SID_BUCKETS] = s;
	s->prev = NULL;
	s->next = srv->sessions;
	if (srv->sessions != NULL)
		srv->sessions->prev = s;
	srv->sessions = s;
}

void
server_session_gone(struct server *srv, struct session *s)
{
	struct session **pp;

	for (pp = &srv->by_sid[s->sid % SID_BUCKETS]; *pp != NULL; pp = &(*pp)->sid_next) {
		if (*pp == s) {
			*pp = s->sid_next;
			break;
		}
	}
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	ip_add(srv, &s->client, -1);
	srv->nsessions--;
	stats_connection_close(STATS_FRONTEND_SMTP);
	if (srv->draining && srv->nsessions == 0)
		event_base_loopexit(srv->base, NULL);
}

unsigned int
server_session_count(const struct server *srv)
{
	return srv->nsessions;
}
