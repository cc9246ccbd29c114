/*
 * session_cmd.c - the SMTP verbs: check -> (downstream in lock-step) ->
 * reply. The downstream's replies come back through session_cmd_reply().
 */
#include "server/session_private.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "smtp/smtp_addr.h"
#include "stats/stats.h"
#include "scan/scan.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

/* the extensions we can offer when the downstream offers them too */
#define OFFERABLE                                                          \
	(SMTP_CAP_PIPELINING | SMTP_CAP_SIZE | SMTP_CAP_8BITMIME |         \
	 SMTP_CAP_SMTPUTF8 | SMTP_CAP_ENHANCEDSTATUSCODES | SMTP_CAP_DSN)

static void
copy_attr(char *dst, size_t dstlen, const char *src)
{
	snprintf(dst, dstlen, "%s", src);
}

void
session_connected(struct session *s)
{
	struct session_client_attrs *a = &s->attrs;
	size_t i;

	if (netaddr_is_ipv6(&s->client))
		snprintf(a->addr, sizeof(a->addr), "IPV6:%s", s->client_ip);
	else
		copy_attr(a->addr, sizeof(a->addr), s->client_ip);
	snprintf(a->port, sizeof(a->port), "%d", netaddr_port(&s->client));
	/* reverse DNS is not looked up yet: the name is unavailable, as
	 * Postfix's own smtpd_proxy says for an unknown client name */
	copy_attr(a->name, sizeof(a->name), "[UNAVAILABLE]");
	copy_attr(a->proto, sizeof(a->proto), "SMTP");
	copy_attr(a->helo, sizeof(a->helo), "[UNAVAILABLE]");
	copy_attr(a->source, sizeof(a->source), "REMOTE");
	for (i = 0; i < s->conf->xforward_from.count; i++) {
		if (cidr_match(&s->conf->xforward_from.net[i], &s->client))
			s->xforward_allowed = true;
	}
}

void
txn_free(struct txn **tp)
{
	struct txn *t = *tp;
	size_t i;

	if (t == NULL)
		return;
	*tp = NULL;
	free(t->mail_from);
	buf_deinit(&t->mail_cmd);
	buf_deinit(&t->rcpt_cmd);
	free(t->rcpt_pending);
	for (i = 0; i < t->nrcpts; i++) {
		free(t->rcpts[i]);
		free(t->rcpt_cmds[i]);
	}
	free(t->rcpts);
	free(t->rcpt_cmds);
	spool_free(&t->spool);
	buf_deinit(&t->final_reply);
	buf_deinit(&t->rcpt_refusal);
	free(t->subject);
	verdict_deinit(&t->verdict);
	header_edit_deinit(&t->edit);
	scan_result_deinit(&t->result);
	free(t);
}

void
session_txn_end(struct session *s, const char *action, const char *reason, const char *reply)
{
	struct txn *t = s->txn;
	struct buf symbols = BUF_INIT;
	struct summary sm;

	if (t == NULL)
		return;
	if (t->mail_sent) {
		memset(&sm, 0, sizeof(sm));
		scan_result_symbols(&t->result, &symbols, true, ",");
		sm.score = scan_result_score(&t->result);
		sm.symbols = buf_cstr(&symbols);
		sm.sid = s->sid;
		sm.id = t->id;
		sm.client = s->attrs.addr;
		sm.helo = s->helo;
		sm.from = t->mail_from;
		sm.nrcpts = t->nrcpts;
		sm.rcpts = t->rcpts;
		sm.size = t->data_bytes;
		sm.action = action;
		sm.reason = reason;
		sm.ms = session_now_ms() - t->start_ms;
		sm.downstream_id = t->downstream_id;
		sm.reply = reply != NULL ? reply : buf_cstr(&t->final_reply);
		if (t->nrcpts == 0 && t->rcpt_refusal.len > 0 && strcmp(action, "abort") == 0) {
			/* every recipient was refused (greylisted, unknown): the
			 * refusal is the answer this transaction got, not the
			 * RSET's or QUIT's that ended it */
			sm.reply = buf_cstr(&t->rcpt_refusal);
		}
		sm.frontend = "smtp";
		sm.client_name = s->attrs.name;
		sm.subject = t->subject;
		sm.result = &t->result;
		stats_txn_end(&sm);
		s->txn_count++;
	}
	buf_deinit(&symbols);
	txn_free(&s->txn);
}

/* a RCPT was just refused: its reply (in final_reply) is kept for the
 * summary and the history record */
static void
txn_note_refusal(struct txn *t)
{
	buf_reset(&t->rcpt_refusal);
	buf_append(&t->rcpt_refusal, buf_cstr(&t->final_reply), t->final_reply.len);
}

/* the recipient at hand is accepted: it joins the transaction, and its
 * RCPT command is kept for a replay (session_replay_begin) */
void
txn_add_rcpt(struct txn *t)
{
	t->rcpts = xreallocarray(t->rcpts, t->nrcpts + 1, sizeof(char *));
	t->rcpt_cmds = xreallocarray(t->rcpt_cmds, t->nrcpts + 1, sizeof(char *));
	t->rcpts[t->nrcpts] = t->rcpt_pending;
	t->rcpt_cmds[t->nrcpts] = xmemdup0(t->rcpt_cmd.data, t->rcpt_cmd.len);
	t->nrcpts++;
	t->rcpt_pending = NULL;
}

/* session_rcpt_scanned(): the RCPT-stage verdict on the recipient at hand
 * (t->result holds what the plugins said about it) */
void
session_rcpt_scanned(struct session *s, struct scan_result *res)
{
	struct txn *t = s->txn;
	struct verdict v;

	s->state = SESSION_COMMAND;
	verdict_init(&v);
	/* only forced actions count at RCPT: a score is for the message */
	verdict_decide_rcpt(res, &v);
	/* keep the symbols (greylist passes, whitelists) for the summary; the
	 * forced actions were for this recipient alone: merged, they would
	 * make the verdict at end of DATA refuse the message for the other
	 * recipients too */
	res->nforced = 0;
	scan_result_merge(&t->result, res);
	if (v.action == VERDICT_TEMPFAIL || v.action == VERDICT_REJECT) {
		struct buf reply = BUF_INIT;

		/* the downstream already holds this recipient: the transaction
		 * there is replayed without it before DATA */
		t->downstream_dirty = true;
		free(t->rcpt_pending);
		t->rcpt_pending = NULL;
		session_format_own(s, &reply, v.code, v.enhanced, "%s", v.text);
		session_write(s, &reply);
		buf_deinit(&reply);
		txn_note_refusal(t);
		log_info("sid=%016llx id=%s event=rcpt_refused reason=%s", (unsigned long long)s->sid,
			 id_format(t->id).s, v.reason);
		if (++s->errors >= s->conf->max_errors) {
			session_close_reply(s, 421, "4.7.0", "Error: too many errors",
					    "too_many_errors");
			verdict_deinit(&v);
			return;
		}
	} else {
		txn_add_rcpt(t);
		session_write(s, &s->deferred_reply);
	}
	verdict_deinit(&v);
	session_resume(s);
}

/* A replay: the downstream holds a recipient we refused after it said 250
 * (greylisting). Before DATA its transaction is started again with only
 * the recipients we accepted: RSET, MAIL, each RCPT, then DATA. */
void
session_replay_begin(struct session *s)
{
	struct buf rset = BUF_INIT;

	s->txn->replay_index = 0;
	buf_append_str(&rset, "RSET");
	session_send(s, PENDING_REPLAY_RSET, &rset);
	buf_deinit(&rset);
}

void
session_replay_reply(struct session *s, enum session_pending what, const struct smtp_reply *r)
{
	struct txn *t = s->txn;
	struct buf line = BUF_INIT;

	if (r->code / 100 != 2) {
		/* the downstream changed its mind (a recipient refused now):
		 * the message cannot be delivered as accepted */
		log_warning("sid=%016llx id=%s event=replay_refused stage=%d code=%d",
			    (unsigned long long)s->sid, id_format(t->id).s, (int)what, r->code);
		relay_quit(s->relay);
		session_replay_failed(s);
		return;
	}
	if (what == PENDING_REPLAY_RSET) {
		session_send(s, PENDING_REPLAY_MAIL, &t->mail_cmd);
		return;
	}
	if (t->replay_index < t->nrcpts) {
		buf_append_str(&line, t->rcpt_cmds[t->replay_index++]);
		session_send(s, PENDING_REPLAY_RCPT, &line);
		buf_deinit(&line);
		return;
	}
	t->downstream_dirty = false;
	session_data_send(s);
}

void
session_abort_downstream(struct session *s, const struct buf *reply)
{
	struct buf rset = BUF_INIT;

	buf_reset(&s->deferred_reply);
	buf_append(&s->deferred_reply, reply->data, reply->len);
	if (!relay_is_up(s->relay)) {
		session_write(s, &s->deferred_reply);
		s->state = SESSION_COMMAND;
		session_resume(s);
		return;
	}
	buf_append_str(&rset, "RSET");
	session_send(s, PENDING_RSET, &rset);
	buf_deinit(&rset);
}

/* --- replies from the downstream -------------------------------------- */

static void
send_ehlo(struct session *s, enum session_pending what, const char *name)
{
	struct buf line = BUF_INIT;

	buf_appendf(&line, "EHLO %s", name);
	session_send(s, what, &line);
	buf_deinit(&line);
}

static void
send_mail(struct session *s)
{
	session_send(s, PENDING_MAIL, &s->txn->mail_cmd);
}

static void
update_offer(struct session *s)
{
	s->offer = s->caps.mask & OFFERABLE;
	if (!s->conf->smtputf8)
		s->offer &= ~(unsigned int)SMTP_CAP_SMTPUTF8;
	if (!s->conf->dsn)
		s->offer &= ~(unsigned int)SMTP_CAP_DSN;
	s->offer_size = s->conf->max_message_size;
	if (s->caps.size != 0 && s->caps.size < s->offer_size)
		s->offer_size = s->caps.size;
}

/* is the HELO name safe to repeat in our own EHLO downstream? */
static bool
helo_is_plain(const char *h)
{
	if (*h == '\0')
		return false;
	for (; *h != '\0'; h++) {
		if (*h <= ' ' || *h >= 0x7f)
			return false;
	}
	return true;
}

/* STARTTLS to the downstream: required, or when it is not on loopback */
static bool
downstream_wants_tls(const struct session *s)
{
	if (s->conf->downstream_tls == CONF_DS_TLS_YES)
		return true;
	return s->conf->downstream_tls == CONF_DS_TLS_AUTO &&
	       !netaddr_is_loopback(&s->conf->downstream);
}

static void
downstream_failed(struct session *s, const struct smtp_reply *r, const char *what)
{
	if (r != NULL) {
		struct buf b = BUF_INIT;

		smtp_reply_format(r, &b);
		buf_truncate(&b, b.len >= 2 ? b.len - 2 : 0);
		log_warning("sid=%016llx event=downstream_refused stage=%s reply=\"%s\"",
			    (unsigned long long)s->sid, what, buf_cstr(&b));
		buf_deinit(&b);
	}
	session_close_reply(s, 421, "4.3.0", "Service temporarily unavailable",
			    "downstream_failed");
}

void
session_cmd_reply(struct session *s, int status, const struct smtp_reply *r)
{
	enum session_pending what = s->pending;

	s->pending = PENDING_NONE;
	if (status < 0) {
		log_info("sid=%016llx event=downstream_lost stage=%d error=\"%s\"",
			 (unsigned long long)s->sid, (int)what, relay_error(s->relay));
		s->state = SESSION_COMMAND;
		if (what == PENDING_REPLAY_RSET || what == PENDING_REPLAY_MAIL ||
		    what == PENDING_REPLAY_RCPT) {
			/* after the client's final dot: it gets 451 */
			session_replay_failed(s);
			return;
		}
		if (what == PENDING_RSET) {
			/* the transaction is over for the client anyway */
			session_write(s, &s->deferred_reply);
			session_resume(s);
			return;
		}
		session_close_reply(s, 421, "4.3.0", "Service temporarily unavailable",
				    "downstream_lost");
		return;
	}
	switch (what) {
	case PENDING_GREETING:
		if (r->code != 220) {
			downstream_failed(s, r, "greeting");
			return;
		}
		send_ehlo(s, PENDING_EHLO_INIT, s->conf->helo_name);
		return;
	case PENDING_EHLO_INIT:
		if (r->code != 250 || smtp_caps_parse(r, &s->caps) < 0) {
			downstream_failed(s, r, "ehlo");
			return;
		}
		if (s->conf->forward == CONF_FORWARD_XCLIENT &&
		    !(s->caps.mask & SMTP_CAP_XCLIENT)) {
			/* never relay as if we were the client: Postfix would
			 * apply mynetworks to us */
			log_error("sid=%016llx event=config_error error=\"downstream does not "
				  "offer XCLIENT to us; add our address to Postfix's "
				  "smtpd_authorized_xclient_hosts or set [downstream] forward\"",
				  (unsigned long long)s->sid);
			session_close_reply(s, 421, "4.3.0", "Service temporarily unavailable",
					    "downstream_no_xclient");
			return;
		}
		if (!relay_is_tls(s->relay) && downstream_wants_tls(s)) {
			struct buf st = BUF_INIT;

			if (!(s->caps.mask & SMTP_CAP_STARTTLS)) {
				if (s->conf->downstream_tls == CONF_DS_TLS_YES) {
					log_error("sid=%016llx event=config_error error=\"downstream does "
						  "not offer STARTTLS and [downstream] tls = yes\"",
						  (unsigned long long)s->sid);
					session_close_reply(s, 421, "4.3.0",
							    "Service temporarily unavailable",
							    "downstream_no_tls");
					return;
				}
			} else {
				relay_expect_starttls(s->relay);
				buf_append_str(&st, "STARTTLS");
				session_send(s, PENDING_STARTTLS, &st);
				buf_deinit(&st);
				return;
			}
		}
		update_offer(s);
		s->downstream_ready = true;
		session_maybe_greet(s);
		return;
	case PENDING_STARTTLS:
		if (r->code != 220) {
			downstream_failed(s, r, "starttls");
			return;
		}
		s->pending = PENDING_TLS_HANDSHAKE;
		if (relay_starttls(s->relay, server_tls_client(s->server),
				   s->conf->downstream_tls_name,
				   s->conf->downstream_connect_timeout_ms) < 0) {
			s->pending = PENDING_NONE;
			downstream_failed(s, NULL, "starttls");
		}
		return;
	case PENDING_TLS_HANDSHAKE:
		/* RFC 3207: forget what was said before TLS, EHLO again */
		log_info("sid=%016llx event=downstream_tls", (unsigned long long)s->sid);
		send_ehlo(s, PENDING_EHLO_INIT, s->conf->helo_name);
		return;
	case PENDING_XCLIENT:
		/* Postfix answers 220 (XCLIENT_README); smtp-sink 250 */
		if (r->code / 100 != 2) {
			session_reply_relayed(s, r);
			txn_free(&s->txn);
			session_close(s, "xclient_refused");
			return;
		}
		s->xclient_sent = true;
		/* Postfix takes this EHLO's name as the HELO name: repeat the
		 * one XCLIENT sent (the client's, or an upstream's XFORWARD) */
		send_ehlo(s, PENDING_EHLO_XCLIENT,
			  helo_is_plain(s->attrs.helo) ? s->attrs.helo : s->conf->helo_name);
		return;
	case PENDING_EHLO_XCLIENT:
		if (r->code != 250 || smtp_caps_parse(r, &s->caps) < 0) {
			downstream_failed(s, r, "ehlo_after_xclient");
			return;
		}
		if (s->auth_line.len > 0) {
			/* XCLIENT went first so that the AUTH state survives */
			session_send(s, PENDING_AUTH, &s->auth_line);
			buf_reset(&s->auth_line);
			return;
		}
		send_mail(s);
		return;
	case PENDING_AUTH:
		if (r->code == 334) {
			/* the client answers the challenge on the next line */
			s->state = SESSION_AUTH;
			session_reply_relayed(s, r);
			session_resume(s);
			return;
		}
		s->state = SESSION_COMMAND;
		if (r->code == 235) {
			s->authenticated = true;
			log_info("sid=%016llx event=auth mechanism=%s status=ok",
				 (unsigned long long)s->sid, s->auth_login);
		} else {
			log_info("sid=%016llx event=auth mechanism=%s status=failed code=%d",
				 (unsigned long long)s->sid, s->auth_login, r->code);
		}
		if (!session_reply_relayed(s, r))
			return;
		session_resume(s);
		return;
	case PENDING_XFORWARD:
		if (r->code != 250)
			log_warning("sid=%016llx event=xforward_refused code=%d",
				    (unsigned long long)s->sid, r->code);
		send_mail(s);
		return;
	case PENDING_MAIL:
		s->state = SESSION_COMMAND;
		if (r->code / 100 == 2)
			s->txn->mail_sent = true;
		if (!session_reply_relayed(s, r))
			return;
		if (!s->txn->mail_sent)
			txn_free(&s->txn);
		session_resume(s);
		return;
	case PENDING_RCPT: {
		struct txn *t = s->txn;

		s->state = SESSION_COMMAND;
		if (r->code / 100 == 2 && scan_engine_has_stage(s->engine, SCAN_STAGE_RCPT)) {
			/* the downstream takes the recipient; now the RCPT-stage
			 * plugins (greylisting) decide whether we do */
			buf_reset(&s->deferred_reply);
			smtp_reply_format(r, &s->deferred_reply);
			session_scan_submit(s, SCAN_STAGE_RCPT);
			return;
		}
		if (r->code / 100 == 2)
			txn_add_rcpt(t);
		free(t->rcpt_pending);
		t->rcpt_pending = NULL;
		if (!session_reply_relayed(s, r))
			return;
		if (r->code >= 400)
			txn_note_refusal(t);
		session_resume(s);
		return;
	}
	case PENDING_REPLAY_RSET:
	case PENDING_REPLAY_MAIL:
	case PENDING_REPLAY_RCPT:
		session_replay_reply(s, what, r);
		return;
	case PENDING_RSET:
		s->state = SESSION_COMMAND;
		session_write(s, &s->deferred_reply);
		if (r->code / 100 != 2) {
			/* the downstream's transaction state is unknown now */
			log_warning("sid=%016llx event=downstream_rset_refused code=%d",
				    (unsigned long long)s->sid, r->code);
			relay_quit(s->relay);
		}
		session_resume(s);
		return;
	default:
		panic("session_cmd_reply: unexpected pending %d", (int)what);
	}
}

/* --- the verbs ---------------------------------------------------------- */

/* AUTH is the downstream's (relayed in lock-step), offered only over TLS
 * unless [smtp] auth_without_tls, and not after a successful AUTH */
static bool
auth_offered(const struct session *s)
{
	return (s->caps.mask & SMTP_CAP_AUTH) && s->caps.auth_mechs[0] != '\0' &&
	       !s->authenticated && (s->tls || s->conf->auth_without_tls);
}

static void
ehlo_reply(struct session *s, struct buf *out, bool esmtp)
{
	if (!esmtp) {
		buf_appendf(out, "250 %s\r\n", s->conf->hostname);
		return;
	}
	buf_appendf(out, "250-%s\r\n", s->conf->hostname);
	if (s->offer & SMTP_CAP_PIPELINING)
		buf_append_str(out, "250-PIPELINING\r\n");
	if (s->offer & SMTP_CAP_SIZE)
		buf_appendf(out, "250-SIZE %llu\r\n", (unsigned long long)s->offer_size);
	if (s->offer & SMTP_CAP_8BITMIME)
		buf_append_str(out, "250-8BITMIME\r\n");
	if (s->offer & SMTP_CAP_SMTPUTF8)
		buf_append_str(out, "250-SMTPUTF8\r\n");
	if (s->offer & SMTP_CAP_DSN)
		buf_append_str(out, "250-DSN\r\n");
	if (s->xforward_allowed)
		buf_append_str(out, "250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE\r\n");
	if (server_tls(s->server) != NULL && !s->tls)
		buf_append_str(out, "250-STARTTLS\r\n");
	/* ours alone: the downstream gets DATA */
	buf_append_str(out, "250-CHUNKING\r\n");
	if (auth_offered(s))
		buf_appendf(out, "250-AUTH %s\r\n", s->caps.auth_mechs);
	if (s->offer & SMTP_CAP_ENHANCEDSTATUSCODES)
		buf_append_str(out, "250 ENHANCEDSTATUSCODES\r\n");
	else
		buf_append_str(out, "250 OK\r\n");
}

static void
cmd_helo(struct session *s, const struct smtp_cmd *c)
{
	struct view arg = c->arg;
	struct buf reply = BUF_INIT;
	size_t i, n;

	if (arg.len == 0) {
		session_reply_error(s, 501, "5.5.4", "Syntax: %s hostname",
				    c->verb == SMTP_VERB_EHLO ? "EHLO" : "HELO");
		return;
	}
	/* keep the first word, printable bytes only, bounded */
	for (n = 0, i = 0; i < arg.len && arg.p[i] != ' ' && n < BOUND_HELO; i++) {
		unsigned char ch = (unsigned char)arg.p[i];

		s->helo[n++] = (ch > ' ' && ch != 0x7f) ? (char)ch : '?';
	}
	s->helo[n] = '\0';
	s->helo_seen = true;
	s->esmtp = c->verb == SMTP_VERB_EHLO;
	if (!s->xforward_seen) {
		copy_attr(s->attrs.helo, sizeof(s->attrs.helo), s->helo);
		copy_attr(s->attrs.proto, sizeof(s->attrs.proto), s->esmtp ? "ESMTP" : "SMTP");
	}
	ehlo_reply(s, &reply, s->esmtp);
	if (s->txn != NULL && s->txn->mail_sent) {
		/* EHLO resets the transaction (RFC 5321 4.1.4) */
		session_txn_end(s, "abort", "ehlo", "");
		session_abort_downstream(s, &reply);
	} else {
		txn_free(&s->txn);
		session_write(s, &reply);
	}
	buf_deinit(&reply);
}

/* check_params(): ESMTP parameters against what we offered; appends the
 * accepted ones to cmd. Returns false after replying with an error. */
static bool
check_params(struct session *s, const struct smtp_path_args *a, enum smtp_path_kind kind,
	     struct buf *cmd, uint64_t *size_r, bool *smtputf8_r)
{
	size_t i;

	for (i = 0; i < a->nparams; i++) {
		const struct smtp_param *p = &a->params[i];
		char kw[32];
		unsigned int need = 0;
		bool mail_only = false, rcpt_only = false;
		size_t k;
		int ok;

		for (k = 0; k < p->keyword.len && k + 1 < sizeof(kw); k++)
			kw[k] = (char)toupper((unsigned char)p->keyword.p[k]);
		kw[k] = '\0';
		ok = smtp_param_check(p);
		if (strcmp(kw, "SIZE") == 0) {
			need = SMTP_CAP_SIZE;
			mail_only = true;
		} else if (strcmp(kw, "BODY") == 0) {
			need = SMTP_CAP_8BITMIME;
			mail_only = true;
			if (ok > 0 && view_eq_cstr_nocase(p->value, "BINARYMIME"))
				ok = 0;
		} else if (strcmp(kw, "SMTPUTF8") == 0) {
			need = SMTP_CAP_SMTPUTF8;
			mail_only = true;
		} else if (strcmp(kw, "RET") == 0 || strcmp(kw, "ENVID") == 0) {
			need = SMTP_CAP_DSN;
			mail_only = true;
		} else if (strcmp(kw, "NOTIFY") == 0 || strcmp(kw, "ORCPT") == 0) {
			need = SMTP_CAP_DSN;
			rcpt_only = true;
		} else {
			ok = 0;
		}
		if (ok == 0 || (need & s->offer) == 0 ||
		    (mail_only && kind != SMTP_PATH_MAIL) ||
		    (rcpt_only && kind != SMTP_PATH_RCPT)) {
			session_reply_error(s, 555, "5.5.4", "Unsupported option: %.*s",
					    (int)MIN(p->keyword.len, 32), p->keyword.p);
			return false;
		}
		if (ok < 0) {
			session_reply_error(s, 501, "5.5.4", "Bad %s parameter syntax", kw);
			return false;
		}
		if (need == SMTP_CAP_SIZE) {
			uint64_t v = 0;
			size_t d;

			for (d = 0; d < p->value.len; d++) {
				if (__builtin_mul_overflow(v, 10, &v) ||
				    __builtin_add_overflow(v, (uint64_t)(p->value.p[d] - '0'), &v)) {
					v = UINT64_MAX;
					break;
				}
			}
			if (v > s->conf->max_message_size) {
				session_reply_error(s, 552, "5.3.4",
						    "Message size exceeds fixed limit");
				return false;
			}
			*size_r = v;
		}
		if (need == SMTP_CAP_SMTPUTF8)
			*smtputf8_r = true;
		buf_appendf(cmd, " %s", kw);
		if (p->value.p != NULL) {
			buf_append_char(cmd, '=');
			buf_append_view(cmd, p->value);
		}
	}
	return true;
}

static void
append_path(struct buf *cmd, const struct smtp_path_args *a)
{
	buf_append_char(cmd, '<');
	buf_append_view(cmd, a->path);
	buf_append_char(cmd, '>');
}

static void
xattr(struct buf *cmd, const char *attrs, const char *name, const char *value)
{
	if (!smtp_caps_has_attr(attrs, name))
		return;
	buf_appendf(cmd, " %s=", name);
	/* [UNAVAILABLE] and IPV6: are written as is */
	if (value[0] == '[' || strncmp(value, "IPV6:", 5) == 0)
		buf_append_str(cmd, value);
	else
		smtp_xtext_encode(cmd, view_from_cstr(value));
}

static void
send_xclient(struct session *s)
{
	struct buf x = BUF_INIT;
	const char *attrs = s->caps.xclient_attrs;

	/* HELO and PROTO first, NAME and ADDR last (XCLIENT_README) */
	buf_append_str(&x, "XCLIENT");
	xattr(&x, attrs, "HELO", s->attrs.helo);
	xattr(&x, attrs, "PROTO", s->attrs.proto);
	xattr(&x, attrs, "PORT", s->attrs.port);
	xattr(&x, attrs, "NAME", s->attrs.name);
	xattr(&x, attrs, "ADDR", s->attrs.addr);
	session_send(s, PENDING_XCLIENT, &x);
	buf_deinit(&x);
}

static void
cmd_mail(struct session *s, const struct smtp_cmd *c)
{
	struct smtp_path_args a;
	enum smtp_addr_error kind;
	const char *error;
	struct txn *t;
	uint64_t size = 0;
	bool smtputf8 = false;

	if (s->txn != NULL) {
		session_reply_error(s, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	if (smtp_addr_parse(SMTP_PATH_MAIL, c->arg, &a, &kind, &error) < 0) {
		if (kind == SMTP_ADDR_ERR_ADDRESS)
			session_reply_error(s, 501, "5.1.7", "Bad sender address syntax");
		else if (kind == SMTP_ADDR_ERR_PARAMS)
			session_reply_error(s, 501, "5.5.4", "Bad parameter syntax");
		else
			session_reply_error(s, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->id = id_next();
	t->start_ms = session_now_ms();
	buf_append_str(&t->mail_cmd, "MAIL FROM:");
	append_path(&t->mail_cmd, &a);
	s->txn = t;
	if (!check_params(s, &a, SMTP_PATH_MAIL, &t->mail_cmd, &size, &smtputf8)) {
		txn_free(&s->txn);
		return;
	}
	if (a.has_utf8 && !smtputf8) {
		session_reply_error(s, 553, "5.6.7",
				    "Must declare SMTPUTF8 to send unicode address");
		txn_free(&s->txn);
		return;
	}
	t->mail_from = view_dup(a.path);
	t->declared_size = size;
	t->smtputf8 = smtputf8;

	if (s->conf->forward == CONF_FORWARD_XCLIENT && !s->xclient_sent) {
		send_xclient(s);
		return;
	}
	if (s->conf->forward == CONF_FORWARD_XFORWARD && (s->caps.mask & SMTP_CAP_XFORWARD)) {
		struct buf x = BUF_INIT;
		const char *attrs = s->caps.xforward_attrs;

		buf_append_str(&x, "XFORWARD");
		xattr(&x, attrs, "NAME", s->attrs.name);
		xattr(&x, attrs, "ADDR", s->attrs.addr);
		xattr(&x, attrs, "PORT", s->attrs.port);
		xattr(&x, attrs, "PROTO", s->attrs.proto);
		xattr(&x, attrs, "HELO", s->attrs.helo);
		xattr(&x, attrs, "SOURCE", s->attrs.source);
		if (s->attrs.ident[0] != '\0')
			xattr(&x, attrs, "IDENT", s->attrs.ident);
		session_send(s, PENDING_XFORWARD, &x);
		buf_deinit(&x);
		return;
	}
	send_mail(s);
}

static void
cmd_rcpt(struct session *s, const struct smtp_cmd *c)
{
	struct txn *t = s->txn;
	struct smtp_path_args a;
	enum smtp_addr_error kind;
	const char *error;
	uint64_t size = 0;
	bool smtputf8 = false;

	if (t == NULL) {
		session_reply_error(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (t->rcpts_tried >= s->conf->max_recipients) {
		struct buf b = BUF_INIT;

		/* not counted as an error: the client is told to send the
		 * rest in another transaction (RFC 5321 4.5.3.1.10) */
		session_format_own(s, &b, 452, "4.5.3", "Error: too many recipients");
		session_write(s, &b);
		buf_deinit(&b);
		return;
	}
	if (smtp_addr_parse(SMTP_PATH_RCPT, c->arg, &a, &kind, &error) < 0) {
		if (kind == SMTP_ADDR_ERR_ADDRESS)
			session_reply_error(s, 501, "5.1.3", "Bad recipient address syntax");
		else if (kind == SMTP_ADDR_ERR_PARAMS)
			session_reply_error(s, 501, "5.5.4", "Bad parameter syntax");
		else
			session_reply_error(s, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return;
	}
	buf_reset(&t->rcpt_cmd);
	buf_append_str(&t->rcpt_cmd, "RCPT TO:");
	append_path(&t->rcpt_cmd, &a);
	if (!check_params(s, &a, SMTP_PATH_RCPT, &t->rcpt_cmd, &size, &smtputf8))
		return;
	if (a.has_utf8 && !t->smtputf8) {
		session_reply_error(s, 553, "5.6.7",
				    "Must declare SMTPUTF8 to send unicode address");
		return;
	}
	t->rcpts_tried++;
	free(t->rcpt_pending);
	t->rcpt_pending = view_dup(a.path);
	session_send(s, PENDING_RCPT, &t->rcpt_cmd);
}

static void
cmd_rset(struct session *s)
{
	struct buf reply = BUF_INIT;

	session_format_own(s, &reply, 250, "2.0.0", "Ok");
	if (s->txn != NULL && s->txn->mail_sent) {
		session_txn_end(s, "abort", "rset", "");
		session_abort_downstream(s, &reply);
	} else {
		txn_free(&s->txn);
		session_write(s, &reply);
	}
	buf_deinit(&reply);
}

static void
cmd_starttls(struct session *s, const struct smtp_cmd *c)
{
	struct evbuffer *in;

	if (server_tls(s->server) == NULL) {
		session_reply_error(s, 502, "5.5.1", "Error: command not implemented");
		return;
	}
	if (c->arg.len > 0) {
		session_reply_error(s, 501, "5.5.4", "Syntax: STARTTLS");
		return;
	}
	if (s->tls) {
		session_reply_error(s, 554, "5.5.1", "Error: TLS already active");
		return;
	}
	if (s->txn != NULL) {
		session_reply_error(s, 503, "5.5.1", "Error: MAIL transaction in progress");
		return;
	}
	session_reply(s, 220, "2.0.0", "Ready to start TLS");
	/* what the client pipelined after STARTTLS is dropped, now and again
	 * right before the handshake */
	in = bufferevent_get_input(s->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	s->state = SESSION_TLS;
	session_disarm_timer(s);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		session_tls_start(s);
	else
		s->tls_start_pending = true;
}

/* base64 or "*": what may answer a 334 (RFC 4954) */
static bool
auth_line_ok(const char *p, size_t len)
{
	size_t i;

	if (len == 1 && p[0] == '*')
		return true;
	for (i = 0; i < len; i++) {
		char c = p[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '='))
			return false;
	}
	return true;
}

/* AUTH, relayed to the downstream in lock-step (submission-style use):
 * the downstream checks the credentials; a session that authenticated
 * is marked so that policies (greylisting) skip it. What the client
 * sends is never logged. */
static void
cmd_auth(struct session *s, const struct smtp_cmd *c)
{
	struct view mech = c->arg, resp = VIEW_NULL;
	const char *sp = memchr(c->arg.p, ' ', c->arg.len);
	size_t i;

	if (!auth_offered(s)) {
		session_reply_error(s, s->authenticated ? 503 : 502, "5.5.1",
				    s->authenticated ? "Error: already authenticated"
						     : "Error: authentication not enabled");
		return;
	}
	if (!s->helo_seen || !s->esmtp) {
		session_reply_error(s, 503, "5.5.1", "Error: send EHLO first");
		return;
	}
	if (s->txn != NULL) {
		session_reply_error(s, 503, "5.5.1", "Error: MAIL transaction in progress");
		return;
	}
	if (sp != NULL) {
		mech.len = (size_t)(sp - c->arg.p);
		resp = view_trim((struct view){ sp + 1, c->arg.len - mech.len - 1 });
	}
	for (i = 0; i < mech.len && i + 1 < sizeof(s->auth_login); i++) {
		char ch = mech.p[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_')) {
			session_reply_error(s, 501, "5.5.4", "Syntax: AUTH mechanism");
			return;
		}
		s->auth_login[i] = (char)toupper((unsigned char)ch);
	}
	s->auth_login[i] = '\0';
	if (mech.len == 0 || (resp.p != NULL && !auth_line_ok(resp.p, resp.len))) {
		session_reply_error(s, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
		return;
	}
	buf_reset(&s->auth_line);
	buf_appendf(&s->auth_line, "AUTH %s", s->auth_login);
	if (resp.p != NULL && resp.len > 0) {
		buf_append_char(&s->auth_line, ' ');
		buf_append_view(&s->auth_line, resp);
	}
	if (s->conf->forward == CONF_FORWARD_XCLIENT && !s->xclient_sent) {
		send_xclient(s);
		return;
	}
	session_send(s, PENDING_AUTH, &s->auth_line);
	buf_reset(&s->auth_line);
}

void
session_auth_input(struct session *s, const char *line, size_t len)
{
	struct buf b = BUF_INIT;

	s->state = SESSION_COMMAND;
	if (!auth_line_ok(line, len)) {
		/* cancel the exchange downstream, tell the client */
		buf_append_str(&b, "*");
		buf_reset(&s->deferred_reply);
		session_send(s, PENDING_AUTH, &b);
		buf_deinit(&b);
		return;
	}
	buf_append(&b, line, len);
	session_send(s, PENDING_AUTH, &b);
	buf_deinit(&b);
}

/* XFORWARD from an authorized upstream (smtpd_proxy_filter mode) */
static void
cmd_xforward(struct session *s, const struct smtp_cmd *c)
{
	struct view rest = c->arg;
	struct buf val = BUF_INIT;

	if (!s->xforward_allowed) {
		session_reply_error(s, 550, "5.7.0", "Error: insufficient authorization");
		return;
	}
	if (s->txn != NULL) {
		session_reply_error(s, 503, "5.5.1", "Error: MAIL transaction in progress");
		return;
	}
	if (rest.len == 0) {
		session_reply_error(s, 501, "5.5.4", "Syntax: XFORWARD attribute=value...");
		return;
	}
	while (rest.len > 0) {
		const char *sp = memchr(rest.p, ' ', rest.len);
		struct view item = { rest.p, sp != NULL ? (size_t)(sp - rest.p) : rest.len };
		const char *eq = memchr(item.p, '=', item.len);
		struct view name, value;
		char *dst = NULL;
		size_t dstlen = 0, i;

		rest.p += item.len;
		rest.len -= item.len;
		while (rest.len > 0 && rest.p[0] == ' ') {
			rest.p++;
			rest.len--;
		}
		if (item.len == 0)
			continue;
		if (eq == NULL) {
			session_reply_error(s, 501, "5.5.4", "Bad XFORWARD attribute syntax");
			buf_deinit(&val);
			return;
		}
		name = (struct view){ item.p, (size_t)(eq - item.p) };
		value = (struct view){ eq + 1, item.len - name.len - 1 };
		buf_reset(&val);
		if (smtp_xtext_decode(&val, value) < 0) {
			session_reply_error(s, 501, "5.5.4", "Bad XFORWARD attribute value");
			buf_deinit(&val);
			return;
		}
		if (view_eq_cstr_nocase(name, "NAME"))
			dst = s->attrs.name, dstlen = sizeof(s->attrs.name);
		else if (view_eq_cstr_nocase(name, "ADDR"))
			dst = s->attrs.addr, dstlen = sizeof(s->attrs.addr);
		else if (view_eq_cstr_nocase(name, "PORT"))
			dst = s->attrs.port, dstlen = sizeof(s->attrs.port);
		else if (view_eq_cstr_nocase(name, "PROTO"))
			dst = s->attrs.proto, dstlen = sizeof(s->attrs.proto);
		else if (view_eq_cstr_nocase(name, "HELO"))
			dst = s->attrs.helo, dstlen = sizeof(s->attrs.helo);
		else if (view_eq_cstr_nocase(name, "SOURCE"))
			dst = s->attrs.source, dstlen = sizeof(s->attrs.source);
		else if (view_eq_cstr_nocase(name, "IDENT"))
			dst = s->attrs.ident, dstlen = sizeof(s->attrs.ident);
		else {
			session_reply_error(s, 501, "5.5.4", "Bad XFORWARD attribute name");
			buf_deinit(&val);
			return;
		}
		/* stored decoded; printable ASCII only, bounded */
		for (i = 0; i < val.len && i + 1 < dstlen; i++) {
			unsigned char ch = (unsigned char)val.data[i];

			dst[i] = (ch > ' ' && ch < 0x7f) ? (char)ch : '?';
		}
		dst[i] = '\0';
	}
	buf_deinit(&val);
	s->xforward_seen = true;
	session_reply(s, 250, "2.0.0", "Ok");
}

void
session_cmd_dispatch(struct session *s, const char *line, size_t len)
{
	struct smtp_cmd c;

	if (smtp_cmd_parse(line, len, &c) < 0) {
		session_reply_error(s, 500, "5.5.2", "Error: bad syntax");
		return;
	}
	switch (c.verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		cmd_helo(s, &c);
		break;
	case SMTP_VERB_MAIL:
		cmd_mail(s, &c);
		break;
	case SMTP_VERB_RCPT:
		cmd_rcpt(s, &c);
		break;
	case SMTP_VERB_DATA:
		session_data_begin(s);
		break;
	case SMTP_VERB_BDAT:
		session_bdat_begin(s, &c);
		break;
	case SMTP_VERB_RSET:
		cmd_rset(s);
		break;
	case SMTP_VERB_NOOP:
		session_reply(s, 250, "2.0.0", "Ok");
		break;
	case SMTP_VERB_QUIT:
		/* the summary line before the 221: a client (or a test) that
		 * has seen the 221 finds the transaction's line in the log */
		if (s->txn != NULL)
			session_txn_end(s, "abort", "quit", "221 2.0.0 Bye");
		session_reply(s, 221, "2.0.0", "Bye");
		session_close(s, "quit");
		break;
	case SMTP_VERB_HELP:
		session_reply(s, 214, "2.0.0",
			      "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY");
		break;
	case SMTP_VERB_VRFY:
		session_reply(s, 252, "2.0.0",
			      "Cannot VRFY user, but will accept message and attempt delivery");
		break;
	case SMTP_VERB_XCLIENT:
		session_reply_error(s, 550, "5.7.0", "Error: insufficient authorization");
		break;
	case SMTP_VERB_XFORWARD:
		cmd_xforward(s, &c);
		break;
	case SMTP_VERB_STARTTLS:
		cmd_starttls(s, &c);
		break;
	case SMTP_VERB_AUTH:
		cmd_auth(s, &c);
		break;
	case SMTP_VERB_UNKNOWN:
		session_reply_error(s, 502, "5.5.2", "Error: command not recognized");
		break;
	default:
		session_reply_error(s, 502, "5.5.1", "Error: command not implemented");
		break;
	}
}
