/*
 * session.c - session lifecycle, input loop, replies and timers.
 */
#include "server/session_private.h"
#include "core/bev.h"
#include "core/log.h"
#include "core/tls.h"
#include "core/xalloc.h"
#include "server/peer_dns.h"
#include "scan/scan.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/tcp.h>
#include <time.h>

/* how long a closing session may take to flush its last reply */
#define SESSION_FLUSH_MS 10000

static void session_input(struct session *s);
static peer_dns_done_fn dns_done;
static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);

uint64_t
session_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
session_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	txn_free(&s->txn);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	relay_free(&s->relay);
	event_free(s->timer);
	buf_deinit(&s->line);
	buf_deinit(&s->deferred_reply);
	buf_deinit(&s->auth_line);
	server_session_gone(s->server, s);
	conf_unref(&s->conf);
	scan_engine_unref(&s->engine);
	free(s);
}

static void
schedule_free(struct session *s)
{
	if (s->free_scheduled)
		return;
	s->free_scheduled = true;
	session_disarm_timer(s);
	if (event_base_once(server_base(s->server), -1, EV_TIMEOUT, session_free_cb, s,
			    NULL) < 0)
		panic("event_base_once failed");
}

void
session_arm_timer(struct session *s, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(s->timer, &tv);
}

void
session_disarm_timer(struct session *s)
{
	evtimer_del(s->timer);
}

uint64_t
session_decision_id(struct session *s)
{
	return s->txn != NULL ? s->txn->id : id_next();
}

static void
write_line(struct session *s, const char *p, size_t len)
{
	evbuffer_add(bufferevent_get_output(s->bev), p, len);
	/* over TLS the bufferevent encrypts and writes: never the fd */
	if (!s->tls)
		bev_flush(s->bev);
}

static void
vformat(struct session *s, struct buf *out, int code, const char *enh, const char *fmt,
	va_list ap, uint64_t id)
{
	size_t start = out->len;

	buf_appendf(out, "%d %s%s", code, enh, enh[0] != '\0' ? " " : "");
	buf_vappendf(out, fmt, ap);
	if (id != 0)
		buf_appendf(out, " [id=%s]", id_format(id).s);
	if (code >= 400) {
		struct buf b = BUF_INIT;

		buf_appendf(&b, "sid=%016llx", (unsigned long long)s->sid);
		if (id != 0)
			buf_appendf(&b, " id=%s", id_format(id).s);
		log_append_kv(&b, "reply", out->data + start, out->len - start);
		log_info("%s", buf_cstr(&b));
		buf_deinit(&b);
	}
	if (s->txn != NULL) {
		buf_reset(&s->txn->final_reply);
		buf_append(&s->txn->final_reply, out->data + start, out->len - start);
	}
	buf_append(out, "\r\n", 2);
}

static void
vreply(struct session *s, int code, const char *enh, const char *fmt, va_list ap,
       uint64_t id)
{
	struct buf line = BUF_INIT;

	vformat(s, &line, code, enh, fmt, ap, id);
	write_line(s, line.data, line.len);
	buf_deinit(&line);
}

void
session_format_own(struct session *s, struct buf *out, int code, const char *enh,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat(s, out, code, enh, fmt, ap, code >= 400 ? session_decision_id(s) : 0);
	va_end(ap);
}

void
session_write(struct session *s, const struct buf *b)
{
	write_line(s, b->data, b->len);
}

void
session_reply(struct session *s, int code, const char *enh, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(s, code, enh, fmt, ap, 0);
	va_end(ap);
}

bool
session_reply_error(struct session *s, int code, const char *enh, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(s, code, enh, fmt, ap, session_decision_id(s));
	va_end(ap);
	if (++s->errors >= s->conf->max_errors) {
		session_close_reply(s, 421, "4.7.0", "Error: too many errors", "too_many_errors");
		return false;
	}
	return true;
}

bool
session_reply_relayed(struct session *s, const struct smtp_reply *r)
{
	struct buf b = BUF_INIT;

	smtp_reply_format(r, &b);
	write_line(s, b.data, b.len);
	if (s->txn != NULL) {
		/* the summary shows the first line, CRLF excluded */
		const char *eol = memchr(b.data, '\r', b.len);

		buf_reset(&s->txn->final_reply);
		buf_append(&s->txn->final_reply, b.data,
			   eol != NULL ? (size_t)(eol - b.data) : b.len);
	}
	buf_deinit(&b);
	if (r->code >= 400 && ++s->errors >= s->conf->max_errors) {
		session_close_reply(s, 421, "4.7.0", "Error: too many errors", "too_many_errors");
		return false;
	}
	return true;
}

/* output_pending(): reply bytes not yet on the wire; over TLS also the
 * encrypted ones still in the socket bufferevent under the filter */
static bool
output_pending(struct session *s)
{
	struct bufferevent *under = bufferevent_get_underlying(s->bev);

	return evbuffer_get_length(bufferevent_get_output(s->bev)) > 0 ||
	       (under != NULL && evbuffer_get_length(bufferevent_get_output(under)) > 0);
}

void
session_close(struct session *s, const char *reason)
{
	if (s->state == SESSION_CLOSING)
		return;
	if (s->txn != NULL)
		session_txn_end(s, "abort", reason, NULL);
	s->state = SESSION_CLOSING;
	log_info("sid=%016llx event=disconnect client=%s reason=%s transactions=%u errors=%u ms=%llu",
		 (unsigned long long)s->sid, s->client_ip, reason, s->txn_count, s->errors,
		 (unsigned long long)(session_now_ms() - s->start_ms));
	if (s->relay != NULL)
		relay_quit(s->relay);
	if (s->bev == NULL || s->client_eof_hard) {
		schedule_free(s);
		return;
	}
	bufferevent_disable(s->bev, EV_READ);
	s->close_deadline_ms = session_now_ms() + SESSION_FLUSH_MS;
	if (!output_pending(s)) {
		schedule_free(s);
		return;
	}
	/* the write callback (or, over TLS, the flush timer) frees once the
	 * last reply is out */
	session_arm_timer(s, s->tls ? 10 : SESSION_FLUSH_MS);
}

void
session_close_reply(struct session *s, int code, const char *enh, const char *text,
		    const char *reason)
{
	struct buf line = BUF_INIT;

	if (s->state == SESSION_CLOSING)
		return;
	session_format_own(s, &line, code, enh, "%s %s", s->conf->hostname, text);
	write_line(s, line.data, line.len);
	buf_deinit(&line);
	session_close(s, reason);
}

void
session_send(struct session *s, enum session_pending what, const struct buf *line)
{
	enum session_state was = s->state;

	s->pending = what;
	/* before the greeting the session stays CONNECTING */
	if (was != SESSION_CONNECTING)
		s->state = SESSION_WAITING;
	session_disarm_timer(s);
	if (relay_command(s->relay, line->data, line->len,
			  s->conf->downstream_command_timeout_ms) < 0) {
		s->pending = PENDING_NONE;
		s->state = was == SESSION_CONNECTING ? was : SESSION_COMMAND;
		log_info("sid=%016llx event=downstream_down error=\"%s\"",
			 (unsigned long long)s->sid, relay_error(s->relay));
		session_close_reply(s, 421, "4.3.0", "Service temporarily unavailable",
				    "downstream_down");
	}
}

/* session_resume(): the session is back in COMMAND state after async work */
void
session_resume(struct session *s)
{
	if (s->state != SESSION_COMMAND)
		return;
	if (s->draining && s->txn == NULL) {
		session_close_reply(s, 421, "4.3.2", "Service shutting down", "shutdown");
		return;
	}
	/* waiting for the next command again: the idle clock restarts */
	session_arm_timer(s, s->conf->command_timeout_ms);
	session_input(s);
}

static void
relay_cb(void *ctx, int status, const struct smtp_reply *r)
{
	struct session *s = ctx;

	if (s->state == SESSION_CLOSING)
		return;
	switch (s->pending) {
	case PENDING_DATA:
	case PENDING_DOT:
		session_data_reply(s, status, r);
		break;
	case PENDING_NONE:
		/* the relay reports a failure while idle: nothing to answer
		 * now; the next command finds it down */
		break;
	default:
		session_cmd_reply(s, status, r);
	}
}

static void
data_timer_update(struct session *s, size_t n)
{
	struct txn *t = s->txn;
	uint64_t now = session_now_ms();
	uint64_t limit = now + s->conf->data_timeout_ms;

	if (s->conf->min_data_rate == 0) {
		t->data_deadline_ms = limit;
	} else {
		t->data_deadline_ms += (uint64_t)n * 1000 / s->conf->min_data_rate;
		if (t->data_deadline_ms > limit)
			t->data_deadline_ms = limit;
	}
	session_arm_timer(s, t->data_deadline_ms > now ? t->data_deadline_ms - now : 0);
}

/* session_input(): the one place input is read and every input limit is
 * enforced. Runs until input is exhausted or the session must wait. */
static void
session_input(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	for (;;) {
		size_t avail = evbuffer_get_length(in);

		if (s->state == SESSION_DATA) {
			struct evbuffer_iovec vec[8];
			int nvec, i;
			bool done = false;
			size_t used_total = 0;

			if (avail == 0) {
				/* BDAT 0 LAST: a chunk with no octets is done */
				if (s->txn != NULL && s->txn->bdat && s->txn->bdat_remaining == 0 &&
				    !s->bdat_refusing) {
					session_data_end(s);
					continue;
				}
				if (s->bdat_refusing && s->bdat_discard == 0) {
					session_bdat_refused(s);
					continue;
				}
				break;
			}
			nvec = evbuffer_peek(in, -1, NULL, vec, 8);
			if (nvec > 8)
				nvec = 8;
			for (i = 0; i < nvec && !done; i++) {
				size_t used = session_data_input(s, vec[i].iov_base,
								 vec[i].iov_len, &done);

				used_total += used;
			}
			evbuffer_drain(in, used_total);
			if (s->txn != NULL)
				data_timer_update(s, used_total);
			if (done && s->bdat_refusing)
				session_bdat_refused(s);
			else if (done)
				session_data_end(s);
			continue;
		}
		if (s->state != SESSION_COMMAND && s->state != SESSION_AUTH)
			break;
		if (avail == 0) {
			if (s->client_eof) {
				session_close(s, "client_disconnected");
				return;
			}
			break;
		}
		{
			struct evbuffer_ptr eol;
			size_t eol_len = 0, n;

			eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
			if (eol.pos < 0) {
				if (avail >= s->conf->max_line_length) {
					/* skip the rest of this line, answer at its end */
					evbuffer_drain(in, avail);
					s->discarding_line = true;
				}
				if (s->client_eof) {
					session_close(s, "client_disconnected");
					return;
				}
				break;
			}
			n = (size_t)eol.pos;
			if (s->discarding_line || n + eol_len > s->conf->max_line_length) {
				evbuffer_drain(in, n + eol_len);
				s->discarding_line = false;
				if (!session_reply_error(s, 500, "5.5.2", "Error: line too long"))
					return;
				continue;
			}
			buf_reset(&s->line);
			buf_reserve(&s->line, n);
			evbuffer_remove(in, s->line.data, n);
			evbuffer_drain(in, eol_len);
			if (n > 0 && s->line.data[n - 1] == '\r')
				n--;
			s->line.len = n;
			s->line.data[n] = '\0';
			session_arm_timer(s, s->conf->command_timeout_ms);
			if (s->state == SESSION_AUTH)
				session_auth_input(s, s->line.data, n);
			else
				session_cmd_dispatch(s, s->line.data, n);
		}
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->state == SESSION_COMMAND || s->state == SESSION_DATA || s->state == SESSION_AUTH)
		session_input(s);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	/* the output is empty again */
	if (s->state == SESSION_CLOSING) {
		if (!output_pending(s))
			schedule_free(s);
	} else if (s->tls_start_pending) {
		s->tls_start_pending = false;
		session_tls_start(s);
	} else if (!s->tls) {
		bufferevent_disable(bev, EV_WRITE);
	}
}

/* the handshake finished: a new SMTP session on the same connection; the
 * EHLO state is forgotten (RFC 3207) */
static void
tls_established(struct session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	s->tls = true;
	tls_describe(ssl, s->tls_info, sizeof(s->tls_info));
	s->helo[0] = '\0';
	s->helo_seen = false;
	s->esmtp = false;
	if (!s->xforward_seen) {
		snprintf(s->attrs.helo, sizeof(s->attrs.helo), "[UNAVAILABLE]");
	}
	log_info("sid=%016llx event=tls protocol=\"%s\"", (unsigned long long)s->sid,
		 s->tls_info);
	s->state = SESSION_COMMAND;
	session_arm_timer(s, s->conf->command_timeout_ms);
	session_input(s);
}

void
session_tls_start(struct session *s)
{
	struct bufferevent *plain = s->bev, *tb;
	SSL *ssl = SSL_new(server_tls(s->server));

	if (ssl == NULL) {
		session_close(s, "tls_error");
		return;
	}
	/* every plaintext byte buffered after STARTTLS is dropped (the
	 * CVE-2011-0411 class): the handshake starts from a clean input */
	evbuffer_drain(bufferevent_get_input(plain), evbuffer_get_length(bufferevent_get_input(plain)));
	bufferevent_enable(plain, EV_READ | EV_WRITE);
	tb = bufferevent_openssl_filter_new(server_base(s->server), plain, ssl,
					    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tb == NULL) {
		SSL_free(ssl);
		session_close(s, "tls_error");
		return;
	}
	s->bev = tb;
	bufferevent_setcb(tb, read_cb, write_cb, event_cb, s);
	bufferevent_setwatermark(tb, EV_READ, 0,
				 MAX(BOUND_PENDING_INPUT, (size_t)s->conf->max_line_length + 1));
	bufferevent_enable(tb, EV_READ | EV_WRITE);
	session_arm_timer(s, s->conf->tls_handshake_timeout_ms);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (s->state == SESSION_CLOSING) {
		schedule_free(s);
		return;
	}
	if (s->state == SESSION_TLS && (what & BEV_EVENT_CONNECTED)) {
		tls_established(s);
		return;
	}
	if (s->state == SESSION_TLS && (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))) {
		char e[300];

		tls_error(e, sizeof(e));
		log_info("sid=%016llx event=tls_failed error=\"%s\"", (unsigned long long)s->sid, e);
		s->client_eof = true;
		s->client_eof_hard = true;
		session_close(s, "tls_handshake_failed");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		s->client_eof = true;
		s->client_eof_hard = true;
		session_close(s, "client_error");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		s->client_eof = true;
		if (s->state == SESSION_DATA) {
			session_close(s, "client_disconnected_in_data");
			return;
		}
		if (s->state == SESSION_COMMAND || s->state == SESSION_CONNECTING)
			session_input(s);
		if (s->state == SESSION_CONNECTING)
			session_close(s, "client_disconnected");
	}
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	switch (s->state) {
	case SESSION_CLOSING:
		if (output_pending(s) && session_now_ms() < s->close_deadline_ms)
			session_arm_timer(s, 10);
		else
			schedule_free(s);
		break;
	case SESSION_COMMAND:
	case SESSION_AUTH:
		session_close_reply(s, 421, "4.4.2", "Error: timeout exceeded", "command_timeout");
		break;
	case SESSION_DATA:
		session_data_timeout(s);
		break;
	case SESSION_TLS:
		/* no reply: the client is speaking TLS (or nothing) */
		s->client_eof_hard = true;
		session_close(s, "tls_handshake_timeout");
		break;
	default:
		break;
	}
}

void
session_new(struct server *srv, struct scan_engine *engine, int fd,
	    const struct netaddr *client, const struct netaddr *local)
{
	struct session *s = xcalloc(1, sizeof(*s));
	struct conf *conf = scan_engine_conf(engine);
	int one = 1;

	s->sid = id_next();
	s->server = srv;
	s->engine = scan_engine_ref(engine);
	s->conf = conf_ref(conf);
	s->client = *client;
	s->local = *local;
	s->start_ms = session_now_ms();
	netaddr_ip(client, s->client_ip);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->bev = bufferevent_socket_new(server_base(srv), fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		panic("bufferevent_socket_new failed");
	s->timer = evtimer_new(server_base(srv), timer_cb, s);
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	/* replies are written directly (write_line); the write event only
	 * while the socket is full */
	bufferevent_disable(s->bev, EV_WRITE);
	/* a command line up to max_line_length must fit in the input buffer,
	 * or the session would wait for a line end it can never read */
	bufferevent_setwatermark(s->bev, EV_READ, 0,
				 MAX(BOUND_PENDING_INPUT, (size_t)conf->max_line_length + 1));
	s->relay = relay_new(server_base(srv), s->sid, relay_cb, s);
	server_session_add(srv, s);
	s->state = SESSION_CONNECTING;
	s->pending = PENDING_GREETING;
	session_connected(s);
	log_info("sid=%016llx event=connect client=%s port=%d", (unsigned long long)s->sid,
		 s->client_ip, netaddr_port(client));
	if (server_dns(srv) != NULL && client->ss.ss_family != AF_UNIX) {
		s->dns_pending = true;
		peer_dns_lookup(server_dns(srv), client, s->sid, dns_done, srv);
	}
	/* the lookup may have finished already (hosts file): s is alive,
	 * it only greets once the downstream is ready too */
	relay_connect(s->relay, &conf->downstream, conf->downstream_connect_timeout_ms);
}

static void
dns_done(void *ctx, uint64_t sid, enum peer_dns_status status, const char *name)
{
	struct session *s = server_session_find(ctx, sid);

	if (s == NULL || s->state == SESSION_CLOSING)
		return;
	s->dns_pending = false;
	snprintf(s->attrs.name, sizeof(s->attrs.name), "%s",
		 status == PEER_DNS_OK ? name
		 : status == PEER_DNS_TEMP ? "[TEMPUNAVAIL]"
					   : "[UNAVAILABLE]");
	log_debug("sid=%016llx event=client_name name=%s", (unsigned long long)s->sid,
		  s->attrs.name);
	session_maybe_greet(s);
}

void
session_maybe_greet(struct session *s)
{
	if (s->state != SESSION_CONNECTING || !s->downstream_ready || s->dns_pending)
		return;
	session_reply(s, 220, "", "%s %s", s->conf->hostname, s->conf->banner);
	s->state = SESSION_COMMAND;
	bufferevent_enable(s->bev, EV_READ);
	session_arm_timer(s, s->conf->command_timeout_ms);
	session_input(s);
}

void
session_drain(struct session *s)
{
	s->draining = true;
	if (s->state == SESSION_COMMAND && s->txn == NULL &&
	    evbuffer_get_length(bufferevent_get_input(s->bev)) == 0)
		session_close_reply(s, 421, "4.3.2", "Service shutting down", "shutdown");
	else if (s->state == SESSION_CONNECTING)
		session_close_reply(s, 421, "4.3.2", "Service shutting down", "shutdown");
}

void
session_force_close(struct session *s)
{
	session_close_reply(s, 421, "4.3.2", "Service shutting down", "shutdown_deadline");
}

const struct netaddr *
session_client(const struct session *s)
{
	return &s->client;
}
