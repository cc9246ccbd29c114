/*
 * milter_cb.c - libmilter's callbacks: one MTA connection (struct
 * milter_conn, smfi_setpriv) and its transactions (struct milter_txn),
 * fed into the same scan pipeline and verdict as the proxy.
 *
 * The message is rebuilt as the proxy would have spooled it: every
 * header "Name:" value CRLF (SMFIP_HDR_LEADSPC keeps the value exactly as
 * sent), a blank line, the body as the MTA passes it (CRLF lines). Fields
 * in our namespace (X-Spam-*, X-Virus-*) are remembered by name and
 * occurrence, so that they can be deleted (smfi_chgheader with NULL) at
 * the end of the message: spoofed ones never reach the mailbox.
 *
 * Round trips: header fields are taken without a reply (SMFIP_NR_HDR
 * when the MTA offers it: a third less CPU per message in bench/milter,
 * and Postfix sends the header block without waiting). Every other step
 * answers; the DATA step is taken (cb_data does nothing) because without
 * it Postfix still sends the DATA macros, alone and unanswered, and its
 * first header then waits for our delayed ACK: 40 ms a message, seen
 * with strace on loopback.
 *
 * Runs on libmilter's threads, one callback at a time per connection.
 */
#include "milter/milter_private.h"
#include "milter/milter_hdr.h"
#include "core/id.h"
#include "core/log.h"
#include "core/netaddr.h"
#include "core/xalloc.h"
#include "stats/stats.h"
#include "verdict/header_edit.h"
#include "verdict/verdict.h"

#include <libmilter/mfapi.h>

struct milter_ours {
	char name[MILTER_HDR_NAME];
	int idx; /* 1-based among the fields of that name */
};

struct milter_txn {
	uint64_t id;
	uint64_t start_ms;
	char *mail_from;
	char **rcpts;
	size_t nrcpts;
	bool rcpts_truncated;
	bool authenticated;
	bool skip_scan;          /* [milter] authenticated = accept */
	char queue_id[32];
	struct spool *spool;
	uint64_t size;
	bool too_big, spool_failed, body_started;
	struct milter_ours ours[HEADER_EDIT_MAX];
	size_t nours;
	bool ours_truncated;
	char *subject;           /* the first Subject value, as received */
	struct scan_result result;
};

struct milter_conn {
	struct scan_engine *engine;
	const struct conf *conf;
	uint64_t sid;
	uint64_t start_ms;
	char ip[NETADDR_IP_MAX];
	char *client_name;
	char *helo;
	bool leadspc;            /* header values come with their leading space */
	bool nr_hdr;
	unsigned int messages;
	struct milter_txn *txn;
};

static struct milter_conn *
conn_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static const char *
macro(SMFICTX *ctx, const char *name)
{
	const char *v = smfi_getsymval(ctx, (char *)name);

	return v != NULL ? v : "";
}

/* "<a@b>" -> "a@b" (the proxy keeps reverse-paths without brackets) */
static char *
strip_path(const char *arg)
{
	size_t len;

	if (arg == NULL)
		return xstrdup("");
	len = strlen(arg);
	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>')
		return xmemdup0(arg + 1, len - 2);
	return xstrdup(arg);
}

static void
txn_free(struct milter_txn **tp)
{
	struct milter_txn *t = *tp;
	size_t i;

	if (t == NULL)
		return;
	*tp = NULL;
	free(t->mail_from);
	for (i = 0; i < t->nrcpts; i++)
		free(t->rcpts[i]);
	free(t->rcpts);
	spool_free(&t->spool);
	free(t->subject);
	scan_result_deinit(&t->result);
	free(t);
	__atomic_sub_fetch(&milter_instance->transactions, 1, __ATOMIC_SEQ_CST);
}

/* the one summary line of a message (summary.h) */
static void
txn_end(struct milter_conn *c, const char *action, const char *reason, const char *reply)
{
	struct milter_txn *t = c->txn;
	struct buf symbols = BUF_INIT;
	struct summary sm;

	if (t == NULL)
		return;
	memset(&sm, 0, sizeof(sm));
	scan_result_symbols(&t->result, &symbols, true, ",");
	sm.score = scan_result_score(&t->result);
	sm.symbols = buf_cstr(&symbols);
	sm.sid = c->sid;
	sm.id = t->id;
	sm.client = c->ip;
	sm.helo = c->helo != NULL ? c->helo : "";
	sm.from = t->mail_from;
	sm.nrcpts = t->nrcpts;
	sm.rcpts = t->rcpts;
	sm.size = t->size;
	sm.action = action;
	sm.reason = reason;
	sm.ms = milter_now_ms() - t->start_ms;
	sm.downstream_id = t->queue_id;
	sm.reply = reply != NULL ? reply : "";
	sm.frontend = "milter";
	sm.client_name = c->client_name;
	sm.subject = t->subject;
	sm.result = &t->result;
	/* the line, the metrics and the history record, as for the proxy */
	stats_txn_end(&sm);
	buf_deinit(&symbols);
	c->messages++;
	txn_free(&c->txn);
}

/* smfi_setreply with our decision id; *reply_r gets the reply as logged */
static void
set_reply(SMFICTX *ctx, int code, const char *enh, const char *text, uint64_t id,
	  struct buf *reply_r)
{
	char rcode[8], clean[300];
	struct buf full = BUF_INIT;

	snprintf(rcode, sizeof(rcode), "%03d", code);
	buf_appendf(&full, "%s [id=%s]", text, id_format(id).s);
	milter_hdr_reply_text(clean, sizeof(clean), buf_cstr(&full));
	if (smfi_setreply(ctx, rcode, enh[0] != '\0' ? (char *)enh : NULL, clean) == MI_FAILURE)
		log_warning("id=%s event=milter_setreply error=\"refused by libmilter\" code=%d",
			    id_format(id).s, code);
	buf_reset(reply_r);
	buf_appendf(reply_r, "%d %s%s%s", code, enh, enh[0] != '\0' ? " " : "", clean);
	buf_deinit(&full);
}

/* an internal error (scan over budget, spool): [milter] on_error */
static sfsistat
internal_error(SMFICTX *ctx, struct milter_conn *c, uint64_t id, const char *what,
	       struct buf *reply_r)
{
	log_error("sid=%016llx id=%s event=milter_error error=\"%s\" action=%s",
		  (unsigned long long)c->sid, id_format(id).s, what,
		  c->conf->milter_on_error == CONF_MILTER_ERROR_ACCEPT ? "accept" : "tempfail");
	if (c->conf->milter_on_error == CONF_MILTER_ERROR_ACCEPT)
		return SMFIS_CONTINUE;
	set_reply(ctx, 451, "4.3.0", "Error: internal error", id, reply_r);
	return SMFIS_TEMPFAIL;
}

/* fill a job with the envelope so far (copies: the job may outlive us) */
static struct milter_job *
job_for(struct milter_conn *c, enum scan_stage stage, uint64_t id)
{
	struct milter_job *job = milter_job_new(c->engine, stage);
	struct milter_txn *t = c->txn;
	size_t i;

	job->id = id;
	job->sid = c->sid;
	job->client_ip = xstrdup(c->ip);
	job->client_name = xstrdup(c->client_name != NULL ? c->client_name : "[UNAVAILABLE]");
	job->helo = xstrdup(c->helo != NULL ? c->helo : "");
	if (t != NULL) {
		job->mail_from = xstrdup(t->mail_from);
		job->rcpts = xcalloc(t->nrcpts + 1, sizeof(char *));
		for (i = 0; i < t->nrcpts; i++)
			job->rcpts[i] = xstrdup(t->rcpts[i]);
		job->nrcpts = t->nrcpts;
		job->authenticated = t->authenticated;
	}
	return job;
}

/* an envelope stage (connect, HELO, MAIL, RCPT): only forced tempfail or
 * reject count, as at the proxy's RCPT. Returns the callback's answer. */
static sfsistat
envelope_stage(SMFICTX *ctx, struct milter_conn *c, enum scan_stage stage, const char *rcpt)
{
	struct milter_txn *t = c->txn;
	uint64_t id = t != NULL ? t->id : id_next();
	struct milter_job *job;
	struct verdict v;
	struct buf reply = BUF_INIT;
	sfsistat r = SMFIS_CONTINUE;

	if (!scan_engine_has_stage(c->engine, stage) || (t != NULL && t->skip_scan))
		return SMFIS_CONTINUE;
	job = job_for(c, stage, id);
	if (rcpt != NULL)
		job->rcpt = xstrdup(rcpt);
	if (!milter_job_wait(milter_instance, job, c->conf->milter_command_budget_ms)) {
		milter_job_release(&job);
		r = internal_error(ctx, c, id, "scan over [milter] command_budget", &reply);
		buf_deinit(&reply);
		return r;
	}
	verdict_init(&v);
	verdict_decide_rcpt(&job->result, &v);
	if (v.action == VERDICT_TEMPFAIL || v.action == VERDICT_REJECT) {
		/* the refusal is this recipient's (or this MAIL's): the
		 * message of the others must not inherit it, only the
		 * symbols go to the summary */
		job->result.nforced = 0;
	}
	if (t != NULL)
		scan_result_merge(&t->result, &job->result);
	if (v.action == VERDICT_TEMPFAIL || v.action == VERDICT_REJECT) {
		struct buf b = BUF_INIT;

		set_reply(ctx, v.code, v.enhanced, v.text, id, &reply);
		buf_appendf(&b, "sid=%016llx id=%s event=%s_refused reason=%s",
			    (unsigned long long)c->sid, id_format(id).s,
			    stage == SCAN_STAGE_RCPT ? "rcpt" : stage == SCAN_STAGE_MAIL ? "mail"
							       : "connect",
			    v.reason);
		if (rcpt != NULL)
			log_append_kv_str(&b, "rcpt", rcpt);
		log_append_kv_str(&b, "reply", buf_cstr(&reply));
		log_info("%s", buf_cstr(&b));
		buf_deinit(&b);
		r = v.action == VERDICT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	}
	verdict_deinit(&v);
	milter_job_release(&job);
	buf_deinit(&reply);
	return r;
}

/* --- the callbacks ------------------------------------------------------ */

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
	     unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
	     unsigned long *pf3)
{
	struct milter_conn *c = conn_of(ctx);

	if (c == NULL && milter_draining(milter_instance)) {
		/* shutting down: the MTA applies its milter_default_action */
		return SMFIS_TEMPFAIL;
	}
	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->engine = milter_engine(milter_instance);
		c->conf = scan_engine_conf(c->engine);
		c->sid = id_next();
		c->start_ms = milter_now_ms();
		snprintf(c->ip, sizeof(c->ip), "%s", "127.0.0.1");
		__atomic_add_fetch(&milter_instance->connections, 1, __ATOMIC_SEQ_CST);
		stats_connection_open(STATS_FRONTEND_MILTER);
		smfi_setpriv(ctx, c);
	}
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
	c->leadspc = (f1 & SMFIP_HDR_LEADSPC) != 0;
	/* *pf1 holds libmilter's "do not send" flags for callbacks we lack */
	*pf1 |= f1 & (SMFIP_HDR_LEADSPC | SMFIP_NR_HDR);
	c->nr_hdr = (f1 & SMFIP_NR_HDR) != 0;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct milter_conn *c = conn_of(ctx);
	const char *resolve;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (hostaddr != NULL && (hostaddr->sa_family == AF_INET || hostaddr->sa_family == AF_INET6)) {
		struct netaddr a;

		netaddr_from_sockaddr(&a, hostaddr,
				      hostaddr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
								     : sizeof(struct sockaddr_in6));
		netaddr_ip(&a, c->ip);
	} else if (macro(ctx, "{client_addr}")[0] != '\0') {
		snprintf(c->ip, sizeof(c->ip), "%s", macro(ctx, "{client_addr}"));
	}
	/* Postfix says "unknown" for a client without verified name, sendmail
	 * "[addr]"; sendmail's {client_resolve} tells a temporary failure
	 * from none, as the proxy's [UNAVAILABLE]/[TEMPUNAVAIL] do (Postfix
	 * has no such macro: its "unknown" is [UNAVAILABLE]) */
	resolve = macro(ctx, "{client_resolve}");
	free(c->client_name);
	if (hostname == NULL || hostname[0] == '\0' || hostname[0] == '[' ||
	    strcmp(hostname, "unknown") == 0)
		c->client_name = xstrdup(strcmp(resolve, "TEMP") == 0 ? "[TEMPUNAVAIL]"
								     : "[UNAVAILABLE]");
	else
		c->client_name = xstrdup(hostname);
	log_debug("sid=%016llx event=milter_connect client=%s name=%s mta=%s", (unsigned long long)c->sid,
		  c->ip, c->client_name, macro(ctx, "j"));
	return envelope_stage(ctx, c, SCAN_STAGE_CONNECT, NULL);
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helohost)
{
	struct milter_conn *c = conn_of(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	free(c->helo);
	c->helo = xstrdup(helohost != NULL ? helohost : "");
	if (macro(ctx, "{tls_version}")[0] != '\0')
		log_debug("sid=%016llx event=milter_tls version=%s cipher=%s bits=%s",
			  (unsigned long long)c->sid, macro(ctx, "{tls_version}"),
			  macro(ctx, "{cipher}"), macro(ctx, "{cipher_bits}"));
	return envelope_stage(ctx, c, SCAN_STAGE_HELO, NULL);
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct milter_conn *c = conn_of(ctx);
	struct milter_txn *t;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (c->txn != NULL)
		txn_end(c, "abort", "new_transaction", NULL);
	if (milter_draining(milter_instance)) {
		/* 421: Postfix answers it and closes the SMTP session */
		smfi_setreply(ctx, (char *)"421", (char *)"4.3.2", (char *)"Service shutting down");
		return SMFIS_TEMPFAIL;
	}
	t = xcalloc(1, sizeof(*t));
	__atomic_add_fetch(&milter_instance->transactions, 1, __ATOMIC_SEQ_CST);
	c->txn = t;
	t->id = id_next();
	t->start_ms = milter_now_ms();
	t->mail_from = strip_path(argv != NULL ? argv[0] : NULL);
	t->authenticated = macro(ctx, "{auth_authen}")[0] != '\0';
	t->skip_scan = t->authenticated && c->conf->milter_authenticated == CONF_MILTER_AUTH_ACCEPT;
	snprintf(t->queue_id, sizeof(t->queue_id), "%s", macro(ctx, "i"));
	scan_result_init(&t->result);
	return envelope_stage(ctx, c, SCAN_STAGE_MAIL, NULL);
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct milter_conn *c = conn_of(ctx);
	struct milter_txn *t;
	char *rcpt;
	sfsistat r;

	if (c == NULL || c->txn == NULL)
		return SMFIS_TEMPFAIL;
	t = c->txn;
	rcpt = strip_path(argv != NULL ? argv[0] : NULL);
	r = envelope_stage(ctx, c, SCAN_STAGE_RCPT, rcpt);
	if (r != SMFIS_CONTINUE) {
		free(rcpt);
		return r;
	}
	if (t->nrcpts >= c->conf->max_recipients) {
		/* the MTA enforces its own limit; ours bounds what we keep */
		t->rcpts_truncated = true;
		free(rcpt);
		return SMFIS_CONTINUE;
	}
	t->rcpts = xreallocarray(t->rcpts, t->nrcpts + 1, sizeof(char *));
	t->rcpts[t->nrcpts++] = rcpt;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_data(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static void
spool_out(struct milter_conn *c, const void *p, size_t len)
{
	struct milter_txn *t = c->txn;
	const char *error = NULL;

	t->size += len;
	if (t->too_big || t->spool_failed)
		return;
	if (t->size > c->conf->max_message_size) {
		t->too_big = true;
		return;
	}
	if (t->spool == NULL)
		t->spool = spool_new(c->conf->spool_directory, c->conf->spool_memory_limit);
	if (spool_write(t->spool, p, len, &error) < 0) {
		log_error("sid=%016llx id=%s event=spool_error error=\"%s\"",
			  (unsigned long long)c->sid, id_format(t->id).s, error);
		t->spool_failed = true;
	}
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct milter_conn *c = conn_of(ctx);
	struct milter_txn *t;
	struct buf line = BUF_INIT;
	size_t nlen;

	if (c == NULL || c->txn == NULL)
		return SMFIS_CONTINUE;
	t = c->txn;
	if (name == NULL)
		return SMFIS_CONTINUE;
	if (value == NULL)
		value = (char *)"";
	milter_hdr_spool(&line, name, value, c->leadspc);
	spool_out(c, line.data, line.len);
	buf_deinit(&line);
	nlen = strlen(name);
	if (verdict_is_ours(name, nlen)) {
		if (t->nours == N_ELEMENTS(t->ours) || nlen >= MILTER_HDR_NAME) {
			t->ours_truncated = true;
		} else {
			struct milter_ours *o = &t->ours[t->nours++];
			size_t i;

			memcpy(o->name, name, nlen + 1);
			o->idx = 1;
			for (i = 0; i + 1 < t->nours; i++) {
				if (strcasecmp(t->ours[i].name, name) == 0)
					o->idx++;
			}
		}
	} else if (t->subject == NULL && strcasecmp(name, "Subject") == 0) {
		t->subject = xstrdup(value);
	}
	return c->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct milter_conn *c = conn_of(ctx);

	if (c == NULL || c->txn == NULL)
		return SMFIS_CONTINUE;
	if (!c->txn->body_started) {
		c->txn->body_started = true;
		spool_out(c, "\r\n", 2);
	}
	spool_out(c, chunk, len);
	return SMFIS_CONTINUE;
}

/* the header edits of a delivered (or held) message: spoofed fields in
 * our namespace out, the subject prefix, our fields in at the top */
static void
edit_headers(SMFICTX *ctx, struct milter_conn *c, const struct verdict *v, bool scanned)
{
	struct milter_txn *t = c->txn;
	struct milter_hdr_list l;
	size_t i, bad;
	/* index 1: right after the MTA's own Received: field (Postfix counts
	 * it as field 0 although milters never see it), which is where the
	 * proxy's fields end up once Postfix has added its Received: */
	int pos = 1;

	/* delete from the last occurrence down, so that indexes stay valid
	 * whether the MTA renumbers after a delete or not */
	for (i = t->nours; i-- > 0;) {
		if (smfi_chgheader(ctx, t->ours[i].name, t->ours[i].idx, NULL) == MI_FAILURE)
			log_warning("id=%s event=milter_header error=\"delete refused\" field=%s",
				    id_format(t->id).s, t->ours[i].name);
	}
	if (t->ours_truncated)
		log_warning("id=%s event=milter_header warning=\"more than %d fields in our "
			    "namespace: the rest stay\"",
			    id_format(t->id).s, HEADER_EDIT_MAX);
	if (!scanned)
		return;
	if (v->rewrite_subject) {
		char *subj = milter_hdr_subject(v->subject_prefix, t->subject);
		char *val = c->leadspc ? subj : subj + 1;

		if (!milter_hdr_value_ok(val, false))
			log_warning("id=%s event=milter_header error=\"unsafe Subject, not changed\"",
				    id_format(t->id).s);
		else if ((t->subject != NULL ? smfi_chgheader(ctx, (char *)"Subject", 1, val)
					     : smfi_addheader(ctx, (char *)"Subject", val)) ==
			 MI_FAILURE)
			log_warning("id=%s event=milter_header error=\"Subject change refused\"",
				    id_format(t->id).s);
		free(subj);
	}
	bad = milter_hdr_split(v->headers.data != NULL ? v->headers.data : "", v->headers.len, &l);
	for (i = 0; i < l.n; i++) {
		char *val = l.h[i].value;

		/* without LEADSPC the MTA puts the space after the colon */
		if (!c->leadspc && val[0] == ' ')
			val++;
		if (!milter_hdr_value_ok(val, true)) {
			bad++;
			continue;
		}
		if (smfi_insheader(ctx, pos, l.h[i].name, val) == MI_FAILURE)
			log_warning("id=%s event=milter_header error=\"insert refused\" field=%s",
				    id_format(t->id).s, l.h[i].name);
		else
			pos++;
	}
	if (bad > 0)
		log_warning("id=%s event=milter_header error=\"%zu unsafe field(s) not added\"",
			    id_format(t->id).s, bad);
	milter_hdr_list_free(&l);
}

static bool
held(const struct conf *conf, enum verdict_action a)
{
	unsigned int mask = conf->milter_quarantine_mask;

	return (a == VERDICT_REJECT && (mask & CONF_MILTER_HOLD_REJECT)) ||
	       (a == VERDICT_DISCARD && (mask & CONF_MILTER_HOLD_DISCARD)) ||
	       (a == VERDICT_TAG && (mask & CONF_MILTER_HOLD_TAG));
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct milter_conn *c = conn_of(ctx);
	struct milter_txn *t;
	struct verdict v;
	struct buf reply = BUF_INIT;
	const char *error = NULL;
	bool scanned = false;
	sfsistat r = SMFIS_ACCEPT;

	if (c == NULL || c->txn == NULL)
		return SMFIS_CONTINUE;
	t = c->txn;
	if (macro(ctx, "i")[0] != '\0')
		snprintf(t->queue_id, sizeof(t->queue_id), "%s", macro(ctx, "i"));
	if (t->spool == NULL)
		t->spool = spool_new(c->conf->spool_directory, c->conf->spool_memory_limit);
	if (!t->spool_failed && spool_finish(t->spool, &error) < 0) {
		log_error("sid=%016llx id=%s event=spool_error error=\"%s\"",
			  (unsigned long long)c->sid, id_format(t->id).s, error);
		t->spool_failed = true;
	}
	verdict_init(&v);
	if (t->too_big) {
		set_reply(ctx, 552, "5.3.4", "Error: message file too big", t->id, &reply);
		txn_end(c, "reject", "message_size", buf_cstr(&reply));
		r = SMFIS_REJECT;
		goto out;
	}
	if (t->spool_failed) {
		r = internal_error(ctx, c, t->id, "spool", &reply);
		if (r != SMFIS_CONTINUE) {
			txn_end(c, "tempfail", "spool_error", buf_cstr(&reply));
			goto out;
		}
		edit_headers(ctx, c, &v, false);
		txn_end(c, "accept", "unscanned", NULL);
		r = SMFIS_ACCEPT;
		goto out;
	}
	if (!t->skip_scan && scan_engine_has_stage(c->engine, SCAN_STAGE_DATA)) {
		struct milter_job *job = job_for(c, SCAN_STAGE_DATA, t->id);

		/* the job owns the spool from here */
		job->spool = t->spool;
		t->spool = NULL;
		if (!milter_job_wait(milter_instance, job, c->conf->milter_content_budget_ms)) {
			milter_job_release(&job);
			r = internal_error(ctx, c, t->id, "scan over [milter] content_budget", &reply);
			if (r != SMFIS_CONTINUE) {
				txn_end(c, "tempfail", "scan_timeout", buf_cstr(&reply));
				goto out;
			}
			edit_headers(ctx, c, &v, false);
			txn_end(c, "accept", "unscanned", NULL);
			r = SMFIS_ACCEPT;
			goto out;
		}
		if (job->spool_error)
			scan_result_force(&job->result, "pipeline", VERDICT_TEMPFAIL, 451, "4.3.0",
					  "spool_error", "Error: queue file read error");
		scan_result_merge(&t->result, &job->result);
		milter_job_release(&job);
		verdict_decide(c->conf, &t->result, &v);
		scanned = true;
	}
	if (held(c->conf, v.action)) {
		struct buf why = BUF_INIT;
		char clean[256];

		edit_headers(ctx, c, &v, scanned);
		buf_appendf(&why, "mxmoat: %s (%s) score=%.2f id=%s", verdict_action_name(v.action),
			    v.reason[0] != '\0' ? v.reason : "-", v.score, id_format(t->id).s);
		milter_hdr_reply_text(clean, sizeof(clean), buf_cstr(&why));
		if (smfi_quarantine(ctx, clean) == MI_FAILURE)
			log_warning("id=%s event=milter_quarantine error=\"refused by the MTA\"",
				    id_format(t->id).s);
		buf_reset(&reply);
		buf_appendf(&reply, "held: %s", clean);
		txn_end(c, "hold", v.reason, buf_cstr(&reply));
		buf_deinit(&why);
		r = SMFIS_ACCEPT;
		goto out;
	}
	switch (v.action) {
	case VERDICT_REJECT:
	case VERDICT_TEMPFAIL:
		set_reply(ctx, v.code, v.enhanced, v.text, t->id, &reply);
		txn_end(c, verdict_action_name(v.action), v.reason, buf_cstr(&reply));
		r = v.action == VERDICT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
		break;
	case VERDICT_DISCARD:
		txn_end(c, "discard", v.reason, NULL);
		r = SMFIS_DISCARD;
		break;
	case VERDICT_ACCEPT:
	case VERDICT_TAG:
		edit_headers(ctx, c, &v, scanned);
		txn_end(c, verdict_action_name(v.action), v.reason, NULL);
		r = SMFIS_ACCEPT;
		break;
	}
out:
	verdict_deinit(&v);
	buf_deinit(&reply);
	return r;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct milter_conn *c = conn_of(ctx);

	if (c != NULL && c->txn != NULL)
		txn_end(c, "abort", "mta_abort", NULL);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct milter_conn *c = conn_of(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	smfi_setpriv(ctx, NULL);
	if (c->txn != NULL)
		txn_end(c, "abort", "disconnect", NULL);
	log_debug("sid=%016llx event=milter_close client=%s messages=%u ms=%llu",
		  (unsigned long long)c->sid, c->ip, c->messages,
		  (unsigned long long)(milter_now_ms() - c->start_ms));
	free(c->client_name);
	free(c->helo);
	scan_engine_unref(&c->engine);
	free(c);
	__atomic_sub_fetch(&milter_instance->connections, 1, __ATOMIC_SEQ_CST);
	stats_connection_close(STATS_FRONTEND_MILTER);
	return SMFIS_CONTINUE;
}

struct smfiDesc milter_cb_desc = {
	.xxfi_name = (char *)"mxmoat",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = NULL,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_unknown = NULL,
	.xxfi_data = cb_data,
	.xxfi_negotiate = cb_negotiate,
};
