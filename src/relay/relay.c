#include "relay/relay.h"
#include "core/bev.h"
#include "core/log.h"
#include "core/tls.h"
#include "core/xalloc.h"
#include "smtp/smtp_dot.h"
#include "stats/stats.h"
#include "verdict/header_edit.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* keep about this much of the message queued for the socket */
#define RELAY_OUT_HIGH (256 * 1024)
#define RELAY_CHUNK (64 * 1024)

enum relay_state {
	RELAY_IDLE,     /* not connected yet */
	RELAY_CONNECTING,
	RELAY_READY,    /* connected, nothing outstanding */
	RELAY_WAITING,  /* a command is outstanding */
	RELAY_SENDING,  /* streaming the message, then waiting for the reply */
	RELAY_TLS,      /* STARTTLS: handshake running */
	RELAY_DOWN,
};

struct relay {
	struct event_base *base;
	uint64_t sid;
	relay_reply_fn *cb;
	void *ctx;
	struct bufferevent *bev;
	struct event *timer;
	enum relay_state state;
	uint64_t timeout_ms;
	uint64_t started_ms, elapsed_ms;
	uint64_t started_us;    /* for the latency metrics */
	struct smtp_reply reply;
	char error[160];
	/* message transfer */
	struct spool *spool;
	uint64_t spool_off;
	struct smtp_dot_encoder enc;
	const struct header_edit *edit;
	bool tls;               /* the connection runs over TLS */
	bool starttls_sent;     /* the pending command is STARTTLS */
	bool prepend_done;
	bool data_done;
	char *chunk;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
arm_timer(struct relay *r)
{
	struct timeval tv = { (time_t)(r->timeout_ms / 1000),
			      (suseconds_t)((r->timeout_ms % 1000) * 1000) };

	evtimer_add(r->timer, &tv);
}

static void
go_down(struct relay *r, const char *fmt, ...) ATTR_PRINTF(2, 3);

static void
go_down(struct relay *r, const char *fmt, ...)
{
	bool report = r->state == RELAY_CONNECTING || r->state == RELAY_WAITING ||
		      r->state == RELAY_SENDING || r->state == RELAY_TLS;
	va_list ap;

	if (r->state == RELAY_DOWN)
		return;
	if (report)
		stats_downstream_error(r->state == RELAY_CONNECTING ? STATS_DS_ERR_CONNECT
				       : strncmp(fmt, "downstream timeout", 18) == 0
					       ? STATS_DS_ERR_TIMEOUT
				       : strstr(fmt, "reply") != NULL || strstr(fmt, "unexpected") != NULL
					       ? STATS_DS_ERR_PROTOCOL
					       : STATS_DS_ERR_LOST);
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	r->state = RELAY_DOWN;
	evtimer_del(r->timer);
	if (r->bev != NULL) {
		bufferevent_free(r->bev);
		r->bev = NULL;
	}
	r->spool = NULL;
	log_info("sid=%016llx event=downstream_error error=\"%s\"",
		 (unsigned long long)r->sid, r->error);
	if (report)
		r->cb(r->ctx, -1, NULL);
}

/* go_down_excerpt(): go down quoting (escaped) what the downstream sent */
static void
go_down_excerpt(struct relay *r, const char *what, const char *p, size_t len)
{
	struct buf b = BUF_INIT;

	buf_append_escaped(&b, p, len, 80);
	go_down(r, "%s \"%s\"", what, buf_cstr(&b));
	buf_deinit(&b);
}

static void
deliver_reply(struct relay *r)
{
	evtimer_del(r->timer);
	stats_downstream_reply(r->state == RELAY_CONNECTING ? STATS_DS_CONNECT
			       : r->state == RELAY_SENDING  ? STATS_DS_DATA
							    : STATS_DS_COMMAND,
			       now_us() - r->started_us, r->reply.code);
	r->state = RELAY_READY;
	r->spool = NULL;
	r->elapsed_ms = now_ms() - r->started_ms;
	/* the callback may issue the next command, which resets r->reply
	 * only after we return from here: copy nothing, it reads in place */
	r->cb(r->ctx, 1, &r->reply);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[BOUND_REPLY_LINE + 2];

	while (r->state != RELAY_DOWN) {
		struct evbuffer_ptr eol;
		size_t eol_len = 0, n;
		int ret;

		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > BOUND_REPLY_LINE)
				go_down(r, "reply line longer than %d bytes", BOUND_REPLY_LINE);
			return;
		}
		n = (size_t)eol.pos;
		if (n > BOUND_REPLY_LINE) {
			go_down(r, "reply line longer than %d bytes", BOUND_REPLY_LINE);
			return;
		}
		if (r->state != RELAY_WAITING && r->state != RELAY_CONNECTING &&
		    !(r->state == RELAY_SENDING && r->data_done)) {
			/* a reply nobody asked for: a 421 before a timeout
			 * close, or garbage. Either way the connection is not
			 * usable in lock-step any more. */
			evbuffer_copyout(in, line, MIN(n, 80));
			go_down_excerpt(r, "unexpected reply", line, MIN(n, 80));
			return;
		}
		evbuffer_remove(in, line, n);
		evbuffer_drain(in, eol_len);
		line[n] = '\0';
		ret = smtp_reply_feed_line(&r->reply, line, n);
		if (ret < 0) {
			go_down_excerpt(r, "malformed reply", line, MIN(n, 80));
			return;
		}
		if (ret == 1) {
			if (r->starttls_sent && evbuffer_get_length(in) > 0) {
				/* bytes after the 220 to STARTTLS are plaintext a
				 * third party may have injected: dropped */
				log_warning("sid=%016llx event=downstream_tls_injection bytes=%zu",
					    (unsigned long long)r->sid, evbuffer_get_length(in));
				evbuffer_drain(in, evbuffer_get_length(in));
			}
			if (evbuffer_get_length(in) > 0) {
				/* lock-step: nothing may follow a reply until
				 * we send the next command */
				go_down(r, "unexpected data after reply");
				return;
			}
			deliver_reply(r);
			return;
		}
	}
}

static void
out_cb(void *ctx, const char *p, size_t len)
{
	struct evbuffer *out = ctx;

	evbuffer_add(out, p, len);
}

/* next_span(): the next bytes of the spool to send from r->spool_off,
 * stepping over the ranges the header edit removes; len 0 at the end */
static void
next_span(struct relay *r, uint64_t *off_r, uint64_t *len_r, uint64_t max)
{
	uint64_t size = spool_size(r->spool), off = r->spool_off, end;
	const struct header_edit_range *skip;

	for (;;) {
		skip = r->edit != NULL ? header_edit_next_skip(r->edit, off) : NULL;
		if (skip == NULL || skip->off > off)
			break;
		off = skip->off + skip->len;
	}
	end = skip != NULL ? skip->off : size;
	if (end > size)
		end = size;
	if (off > end)
		off = end;
	*off_r = off;
	*len_r = MIN(end - off, max);
}

/* fill the socket's output from the spool until the high mark */
static void
pump_data(struct relay *r)
{
	struct evbuffer *out = bufferevent_get_output(r->bev);

	if (!r->prepend_done) {
		r->prepend_done = true;
		if (r->edit != NULL && r->edit->prepend.len > 0)
			smtp_dot_encode(&r->enc, r->edit->prepend.data, r->edit->prepend.len,
					out_cb, out);
	}
	while (!r->data_done && evbuffer_get_length(out) < RELAY_OUT_HIGH) {
		const char *error = NULL;
		uint64_t off, len;

		next_span(r, &off, &len, RELAY_CHUNK);
		if (len == 0) {
			smtp_dot_encode_finish(&r->enc, out_cb, out);
			r->data_done = true;
			break;
		}
		if (spool_in_memory(r->spool)) {
			struct view v = spool_mem(r->spool);

			smtp_dot_encode(&r->enc, v.p + off, (size_t)len, out_cb, out);
		} else {
			ssize_t n;

			if (r->chunk == NULL)
				r->chunk = xmalloc(RELAY_CHUNK);
			n = spool_read(r->spool, off, r->chunk, (size_t)len, &error);
			if (n <= 0) {
				go_down(r, "spool read error: %s", n < 0 ? error : "short read");
				return;
			}
			smtp_dot_encode(&r->enc, r->chunk, (size_t)n, out_cb, out);
			len = (uint64_t)n;
		}
		r->spool_off = off + len;
	}
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;

	if (r->state == RELAY_SENDING && !r->data_done) {
		arm_timer(r);
		pump_data(r);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay *r = arg;

	if (r->state == RELAY_TLS && (what & BEV_EVENT_CONNECTED)) {
		/* the handshake is done: report it as a reply would be */
		r->tls = true;
		r->state = RELAY_READY;
		evtimer_del(r->timer);
		r->cb(r->ctx, RELAY_TLS_UP, NULL);
		return;
	}
	if (r->state == RELAY_TLS && (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))) {
		char e[300];

		tls_error(e, sizeof(e));
		go_down(r, "downstream TLS handshake failed: %s", e);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;
		int fd = bufferevent_getfd(bev);

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* nothing to write until the greeting is read */
		bufferevent_disable(bev, EV_WRITE);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		go_down(r, "connection closed by downstream");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		int err = EVUTIL_SOCKET_ERROR();

		go_down(r, "%s", err != 0 ? evutil_socket_error_to_string(err)
					  : "connection error");
		return;
	}
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	go_down(r, "downstream timeout after %llums", (unsigned long long)r->timeout_ms);
}

struct relay *
relay_new(struct event_base *base, uint64_t sid, relay_reply_fn *cb, void *ctx)
{
	struct relay *r = xcalloc(1, sizeof(*r));

	r->base = base;
	r->sid = sid;
	r->cb = cb;
	r->ctx = ctx;
	r->timer = evtimer_new(base, timer_cb, r);
	smtp_reply_init(&r->reply);
	return r;
}

void
relay_free(struct relay **rp)
{
	struct relay *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	event_free(r->timer);
	smtp_reply_deinit(&r->reply);
	free(r->chunk);
	free(r);
}

void
relay_connect(struct relay *r, const struct netaddr *addr, uint64_t timeout_ms)
{
	r->bev = bufferevent_socket_new(r->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (r->bev == NULL) {
		r->state = RELAY_CONNECTING;
		go_down(r, "cannot create socket");
		return;
	}
	bufferevent_setcb(r->bev, read_cb, write_cb, event_cb, r);
	bufferevent_setwatermark(r->bev, EV_WRITE, RELAY_OUT_HIGH / 2, 0);
	r->state = RELAY_CONNECTING;
	r->tls = false;
	r->timeout_ms = timeout_ms;
	r->started_ms = now_ms();
	r->started_us = now_us();
	smtp_reply_reset(&r->reply);
	arm_timer(r);
	if (bufferevent_socket_connect(r->bev, (const struct sockaddr *)&addr->ss,
				       (int)addr->len) < 0) {
		go_down(r, "connect failed: %s", strerror(errno));
		return;
	}
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
}

static int
check_ready(struct relay *r, const char *what)
{
	if (r->state == RELAY_READY)
		return 0;
	if (r->state == RELAY_DOWN || r->state == RELAY_IDLE)
		return -1;
	panic("relay_%s while relay busy (state %d)", what, (int)r->state);
}

int
relay_starttls(struct relay *r, SSL_CTX *ctx, const char *name, uint64_t timeout_ms)
{
	struct bufferevent *tb;
	SSL *ssl;

	if (check_ready(r, "starttls") < 0)
		return -1;
	ssl = SSL_new(ctx);
	if (ssl == NULL)
		return -1;
	if (name != NULL && name[0] != '\0') {
		SSL_set_tlsext_host_name(ssl, name);
		/* the certificate must carry the name (when verifying) */
		SSL_set1_host(ssl, name);
	}
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	tb = bufferevent_openssl_filter_new(r->base, r->bev, ssl, BUFFEREVENT_SSL_CONNECTING,
					    BEV_OPT_CLOSE_ON_FREE);
	if (tb == NULL) {
		SSL_free(ssl);
		return -1;
	}
	r->bev = tb;
	r->starttls_sent = false;
	bufferevent_setcb(tb, read_cb, write_cb, event_cb, r);
	bufferevent_setwatermark(tb, EV_WRITE, RELAY_OUT_HIGH / 2, 0);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
	r->state = RELAY_TLS;
	r->timeout_ms = timeout_ms;
	arm_timer(r);
	return 0;
}

void
relay_expect_starttls(struct relay *r)
{
	r->starttls_sent = true;
}

bool
relay_is_tls(const struct relay *r)
{
	return r->tls;
}

int
relay_command(struct relay *r, const char *line, size_t len, uint64_t timeout_ms)
{
	struct evbuffer *out;

	if (check_ready(r, "command") < 0)
		return -1;
	out = bufferevent_get_output(r->bev);
	evbuffer_add(out, line, len);
	evbuffer_add(out, "\r\n", 2);
	/* over TLS the bufferevent encrypts and writes: never the fd */
	if (!r->tls)
		bev_flush(r->bev);
	else
		bufferevent_enable(r->bev, EV_WRITE);
	r->state = RELAY_WAITING;
	r->timeout_ms = timeout_ms;
	r->started_ms = now_ms();
	r->started_us = now_us();
	smtp_reply_reset(&r->reply);
	arm_timer(r);
	return 0;
}

int
relay_send_data(struct relay *r, struct spool *spool, const struct header_edit *edit,
		uint64_t timeout_ms)
{
	if (check_ready(r, "send_data") < 0)
		return -1;
	r->state = RELAY_SENDING;
	r->spool = spool;
	r->spool_off = 0;
	r->edit = edit;
	r->prepend_done = false;
	r->data_done = false;
	smtp_dot_encoder_init(&r->enc);
	r->timeout_ms = timeout_ms;
	r->started_ms = now_ms();
	r->started_us = now_us();
	smtp_reply_reset(&r->reply);
	arm_timer(r);
	pump_data(r);
	bufferevent_enable(r->bev, EV_WRITE);
	return 0;
}

void
relay_quit(struct relay *r)
{
	if (r->state == RELAY_READY && r->bev != NULL && !r->tls) {
		struct evbuffer *out = bufferevent_get_output(r->bev);
		int fd = bufferevent_getfd(r->bev);

		evbuffer_add(out, "QUIT\r\n", 6);
		/* best effort, without waiting: the session is ending (over TLS
		 * the connection is just closed: no plaintext to the fd) */
		evbuffer_unfreeze(out, 1);
		evbuffer_write(out, fd);
		evbuffer_freeze(out, 1);
	}
	r->state = RELAY_DOWN;
	snprintf(r->error, sizeof(r->error), "closed");
	evtimer_del(r->timer);
	if (r->bev != NULL) {
		bufferevent_free(r->bev);
		r->bev = NULL;
	}
}

bool
relay_is_up(const struct relay *r)
{
	return r->state != RELAY_DOWN && r->state != RELAY_IDLE;
}

bool
relay_is_busy(const struct relay *r)
{
	return r->state == RELAY_WAITING || r->state == RELAY_SENDING ||
	       r->state == RELAY_CONNECTING;
}

const char *
relay_error(const struct relay *r)
{
	return r->error[0] != '\0' ? r->error : "no error";
}

uint64_t
relay_elapsed_ms(const struct relay *r)
{
	return r->elapsed_ms;
}
