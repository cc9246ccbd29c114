/*
 * session_data.c - DATA: framing, spooling, the verdict, and delivery
 * downstream after the verdict. The client gets 2xx only after the
 * downstream's 2xx for this message; any failure on the way is 451 4.3.0.
 */
#include "server/session_private.h"
#include "core/log.h"
#include "scan/scan.h"
#include "verdict/header_edit.h"

#include <event2/buffer.h>
#include <time.h>
#include <event2/bufferevent.h>

/* start the spool for DATA or the first BDAT chunk */
static void
data_start(struct session *s)
{
	struct txn *t = s->txn;

	smtp_dot_decoder_init(&t->dec, (size_t)s->conf->max_data_line_length);
	t->spool = spool_new(s->conf->spool_directory, s->conf->spool_memory_limit);
	t->data_deadline_ms = session_now_ms() + s->conf->data_timeout_ms;
}

void
session_data_begin(struct session *s)
{
	struct txn *t = s->txn;

	if (t != NULL && t->bdat) {
		session_reply_error(s, 503, "5.5.1", "Error: BDAT in progress, DATA not allowed");
		return;
	}
	if (t == NULL) {
		session_reply_error(s, 503, "5.5.1", "Error: need RCPT command");
		return;
	}
	if (t->nrcpts == 0) {
		session_reply_error(s, 554, "5.5.1", "Error: no valid recipients");
		return;
	}
	session_reply(s, 354, "", "End data with <CR><LF>.<CR><LF>");
	data_start(s);
	s->state = SESSION_DATA;
	session_arm_timer(s, s->conf->data_timeout_ms);
}

/* BDAT size [LAST] (RFC 3030). The chunks carry the message as it is (no
 * dot-stuffing, no end marker); the same framing rules as DATA apply to
 * it: only CRLF line ends, else 550 5.5.2 after the LAST chunk. The
 * downstream gets the message by DATA, re-stuffed, as any other. */
void
session_bdat_begin(struct session *s, const struct smtp_cmd *c)
{
	struct txn *t = s->txn;
	uint64_t size = 0;
	bool last = false;
	size_t i = 0;

	while (i < c->arg.len && c->arg.p[i] >= '0' && c->arg.p[i] <= '9') {
		if (size > UINT64_MAX / 10 - 10)
			break;
		size = size * 10 + (uint64_t)(c->arg.p[i++] - '0');
	}
	if (i > 0 && i < c->arg.len) {
		struct view rest = view_trim((struct view){ c->arg.p + i, c->arg.len - i });

		if (view_eq_cstr_nocase(rest, "LAST") && (c->arg.p[i] == ' ' || c->arg.p[i] == '\t'))
			last = true;
		else
			i = 0;
	}
	if (i == 0) {
		/* the chunk's length is unknown: the stream cannot be followed */
		session_close_reply(s, 421, "4.5.4", "Error: bad BDAT syntax", "bdat_syntax");
		return;
	}
	if (t == NULL || t->nrcpts == 0) {
		/* the octets still come: read and drop them, then refuse */
		s->bdat_refusing = true;
		s->bdat_discard = size;
		buf_reset(&s->deferred_reply);
		session_format_own(s, &s->deferred_reply, t == NULL ? 503 : 554, "5.5.1",
				   t == NULL ? "Error: need RCPT command" : "Error: no valid recipients");
		s->errors++;
		s->state = SESSION_DATA;
		session_arm_timer(s, s->conf->data_timeout_ms);
		return;
	}
	if (!t->bdat) {
		t->bdat = true;
		data_start(s);
	}
	t->bdat_remaining = size;
	t->bdat_last = last;
	t->bdat_chunk = size;
	s->state = SESSION_DATA;
	session_arm_timer(s, s->conf->data_timeout_ms);
}

/* a refused BDAT chunk was read to its end: now the refusal */
void
session_bdat_refused(struct session *s)
{
	s->bdat_refusing = false;
	s->state = SESSION_COMMAND;
	session_write(s, &s->deferred_reply);
	if (s->errors >= s->conf->max_errors) {
		session_close_reply(s, 421, "4.7.0", "Error: too many errors", "too_many_errors");
		return;
	}
	session_resume(s);
}

/* bdat_check(): CRLF-only framing over chunk boundaries, line lengths */
static void
bdat_check(struct txn *t, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = p[i];

		if (t->bdat_cr && c != '\n')
			t->dec.flags |= SMTP_DOT_BARE_CR;
		if (c == '\n') {
			if (!t->bdat_cr)
				t->dec.flags |= SMTP_DOT_BARE_LF;
			t->dec.line_len = 0;
		} else if (c != '\r') {
			t->dec.line_len++;
			if (t->dec.max_line > 0 && t->dec.line_len > t->dec.max_line)
				t->dec.flags |= SMTP_DOT_LONG_LINE;
		}
		t->bdat_cr = c == '\r';
	}
}

static void
spool_out(void *ctx, const char *p, size_t len)
{
	struct session *s = ctx;
	struct txn *t = s->txn;
	const char *error = NULL;

	t->data_bytes += len;
	if (t->too_big || t->spool_failed)
		return;
	if (t->data_bytes > s->conf->max_message_size) {
		/* keep reading to the end of data, store nothing more */
		t->too_big = true;
		return;
	}
	if (spool_write(t->spool, p, len, &error) < 0) {
		log_error("sid=%016llx id=%s event=spool_error error=\"%s\"",
			  (unsigned long long)s->sid, id_format(t->id).s, error);
		t->spool_failed = true;
	}
}

size_t
session_data_input(struct session *s, const char *p, size_t len, bool *done_r)
{
	struct txn *t = s->txn;
	size_t used = 0;

	if (s->bdat_refusing) {
		used = (size_t)MIN((uint64_t)len, s->bdat_discard);
		s->bdat_discard -= used;
		*done_r = s->bdat_discard == 0;
		return used;
	}
	if (t->bdat) {
		used = (size_t)MIN((uint64_t)len, t->bdat_remaining);
		bdat_check(t, p, used);
		spool_out(s, p, used);
		t->bdat_remaining -= used;
		*done_r = t->bdat_remaining == 0;
		return used;
	}
	*done_r = smtp_dot_decode(&t->dec, p, len, &used, spool_out, s) == 1;
	return used;
}

/* reject or tempfail the message: summary, downstream RSET, then reply */
static void
refuse(struct session *s, const char *action, const char *reason, int code, const char *enh,
       const char *text)
{
	struct buf reply = BUF_INIT;

	s->state = SESSION_COMMAND;
	session_format_own(s, &reply, code, enh, "%s", text);
	s->errors++;
	/* reply without the CRLF for the summary */
	{
		struct buf r1 = BUF_INIT;

		buf_append(&r1, reply.data, reply.len - 2);
		session_txn_end(s, action, reason, buf_cstr(&r1));
		buf_deinit(&r1);
	}
	session_abort_downstream(s, &reply);
	buf_deinit(&reply);
}

/* printable ASCII, no parentheses or brackets: a token in our header */
static void
append_token(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		buf_append_char(b, *s > ' ' && *s < 0x7f && !strchr("()[];\\", *s) ? *s : '_');
}

/* add_received(): our trace field for a TLS or authenticated session.
 * XCLIENT (Postfix 3.7) has no attributes for TLS or AUTH, so this is how
 * the protocol, cipher and "ESMTPSA" reach the downstream and the logs of
 * whoever reads the message. Safe ASCII only (invariant 5). */
static void
add_received(struct session *s, struct buf *prepend)
{
	struct buf r = BUF_INIT;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_append_str(&r, "Received: from ");
	append_token(&r, s->helo[0] != '\0' ? s->helo : "unknown");
	buf_append_str(&r, " (");
	append_token(&r, s->attrs.name[0] == '[' ? "unknown" : s->attrs.name);
	buf_append_str(&r, " [");
	append_token(&r, s->client_ip);
	buf_append_str(&r, "])\r\n\tby ");
	append_token(&r, s->conf->hostname);
	buf_appendf(&r, " (mxmoat) with ESMTP%s%s", s->tls ? "S" : "", s->authenticated ? "A" : "");
	if (s->tls) {
		buf_append_str(&r, " (");
		for (const char *p = s->tls_info; *p != '\0'; p++)
			buf_append_char(&r, *p >= ' ' && *p < 0x7f && *p != ')' ? *p : '_');
		buf_append_char(&r, ')');
	}
	buf_appendf(&r, "\r\n\tid %s; %s\r\n", id_format(s->txn->id).s, date);
	buf_append(&r, prepend->data, prepend->len);
	buf_reset(prepend);
	buf_append(prepend, r.data, r.len);
	buf_deinit(&r);
}

/* deliver(): the verdict on the message, then DATA downstream for what is
 * to be delivered. scanned: the pipeline ran (its headers are added). */
static void
deliver(struct session *s, bool scanned)
{
	struct txn *t = s->txn;
	struct verdict *v = &t->verdict;
	const char *error = NULL;

	s->state = SESSION_COMMAND;
	verdict_init(v);
	if (scanned)
		verdict_decide(s->conf, &t->result, v);
	switch (v->action) {
	case VERDICT_REJECT:
	case VERDICT_TEMPFAIL:
		refuse(s, verdict_action_name(v->action), v->reason, v->code, v->enhanced, v->text);
		return;
	case VERDICT_DISCARD: {
		/* the client is told "delivered"; nothing goes downstream */
		struct buf reply = BUF_INIT, r1 = BUF_INIT;

		session_format_own(s, &reply, 250, "2.0.0", "Ok: discarded");
		buf_append(&r1, reply.data, reply.len - 2);
		session_txn_end(s, "discard", v->reason, buf_cstr(&r1));
		session_abort_downstream(s, &reply);
		buf_deinit(&reply);
		buf_deinit(&r1);
		return;
	}
	case VERDICT_ACCEPT:
	case VERDICT_TAG:
		break;
	}
	/* incoming X-Spam-* / X-Virus-* go in any case; ours only when a
	 * scanner ran */
	header_edit_init(&t->edit);
	if (header_edit_plan(&t->edit, t->spool, v, &error) < 0) {
		log_error("sid=%016llx id=%s event=spool_error error=\"%s\"",
			  (unsigned long long)s->sid, id_format(t->id).s, error);
		refuse(s, "tempfail", "spool_error", 451, "4.3.0", "Error: queue file read error");
		return;
	}
	if (s->tls || s->authenticated)
		add_received(s, &t->edit.prepend);
	if (t->downstream_dirty) {
		s->state = SESSION_DELIVERING;
		session_replay_begin(s);
		return;
	}
	session_data_send(s);
}

void
session_data_send(struct session *s)
{
	struct buf data = BUF_INIT;

	buf_append_str(&data, "DATA");
	s->state = SESSION_DELIVERING;
	s->pending = PENDING_DATA;
	if (relay_command(s->relay, data.data, data.len,
			  s->conf->downstream_command_timeout_ms) < 0) {
		s->pending = PENDING_NONE;
		refuse(s, "tempfail", "downstream_down", 451, "4.3.0",
		       "Error: queue file write error");
	}
	buf_deinit(&data);
}

void
session_replay_failed(struct session *s)
{
	refuse(s, "tempfail", "downstream_replay", 451, "4.3.0", "Error: queue file write error");
}

void
session_data_end(struct session *s)
{
	struct txn *t = s->txn;
	const char *error = NULL;

	session_disarm_timer(s);
	if (t->bdat && !t->bdat_last) {
		/* a chunk, not the end: acknowledged at once */
		s->state = SESSION_COMMAND;
		session_reply(s, 250, "2.0.0", "Ok: %llu octets received",
			      (unsigned long long)t->bdat_chunk);
		session_resume(s);
		return;
	}
	if (t->bdat && t->bdat_cr)
		t->dec.flags |= SMTP_DOT_BARE_CR; /* a CR ended the message */
	if (!t->spool_failed && spool_finish(t->spool, &error) < 0) {
		log_error("sid=%016llx id=%s event=spool_error error=\"%s\"",
			  (unsigned long long)s->sid, id_format(t->id).s, error);
		t->spool_failed = true;
	}
	if (t->dec.flags & (SMTP_DOT_BARE_LF | SMTP_DOT_BARE_CR)) {
		refuse(s, "reject", (t->dec.flags & SMTP_DOT_BARE_LF) ? "bare_lf" : "bare_cr",
		       550, "5.5.2", "Error: bare <CR> or <LF> received");
		return;
	}
	if (t->too_big) {
		refuse(s, "reject", "message_size", 552, "5.3.4", "Error: message file too big");
		return;
	}
	if (t->dec.flags & SMTP_DOT_LONG_LINE) {
		refuse(s, "reject", "line_length", 552, "5.3.4", "Error: message line too long");
		return;
	}
	if (t->spool_failed) {
		refuse(s, "tempfail", "spool_error", 451, "4.3.0", "Error: queue file write error");
		return;
	}

	if (scan_engine_has_stage(s->engine, SCAN_STAGE_DATA)) {
		session_scan_submit(s, SCAN_STAGE_DATA);
		return;
	}
	/* no scanner configured: a plain proxy, nothing added */
	deliver(s, false);
}

void
session_data_scanned(struct session *s)
{
	deliver(s, true);
}

static void
delivery_failed(struct session *s, const char *reason)
{
	log_info("sid=%016llx id=%s event=delivery_failed reason=%s error=\"%s\"",
		 (unsigned long long)s->sid, id_format(s->txn->id).s, reason,
		 relay_error(s->relay));
	relay_quit(s->relay);
	refuse(s, "tempfail", reason, 451, "4.3.0", "Error: queue file write error");
}

void
session_data_reply(struct session *s, int status, const struct smtp_reply *r)
{
	struct txn *t = s->txn;
	enum session_pending what = s->pending;

	s->pending = PENDING_NONE;
	if (status < 0) {
		delivery_failed(s, "downstream_lost");
		return;
	}
	if (what == PENDING_DATA) {
		if (r->code == 354) {
			s->pending = PENDING_DOT;
			if (relay_send_data(s->relay, t->spool, &t->edit,
					    s->conf->downstream_data_timeout_ms) < 0)
				delivery_failed(s, "downstream_lost");
			return;
		}
		if (r->code >= 400 && r->code < 600) {
			struct buf reply = BUF_INIT;

			s->state = SESSION_COMMAND;
			smtp_reply_format(r, &reply);
			session_txn_end(s, r->code >= 500 ? "reject" : "tempfail",
					"downstream_data", NULL);
			s->errors++;
			session_abort_downstream(s, &reply);
			buf_deinit(&reply);
			return;
		}
		delivery_failed(s, "downstream_protocol");
		return;
	}
	/* PENDING_DOT: the downstream's verdict on the message */
	if (r->code / 100 == 2) {
		struct view qid = smtp_reply_queue_id(r);

		snprintf(t->downstream_id, sizeof(t->downstream_id), "%.*s",
			 (int)MIN(qid.len, sizeof(t->downstream_id) - 1), qid.p != NULL ? qid.p : "");
		s->state = SESSION_COMMAND;
		session_reply_relayed(s, r);
		/* a tagged message says why (score, virus, ...) */
		session_txn_end(s, verdict_action_name(t->verdict.action), t->verdict.reason, NULL);
		session_resume(s);
		return;
	}
	if (r->code >= 400 && r->code < 600) {
		s->state = SESSION_COMMAND;
		if (!session_reply_relayed(s, r))
			return;
		session_txn_end(s, r->code >= 500 ? "reject" : "tempfail", "downstream", NULL);
		session_resume(s);
		return;
	}
	delivery_failed(s, "downstream_protocol");
}

void
session_data_timeout(struct session *s)
{
	session_close_reply(s, 421, "4.4.2", "Error: timeout exceeded", "data_timeout");
}
