/*
 * session_private.h - the session and transaction structs, shared by
 * session.c (I/O, lifecycle, replies, timers), session_cmd.c (the verbs)
 * and session_data.c (DATA, scanning, delivery). Private to src/server/.
 *
 * Shape (after OpenSMTPD's smtp_session.c): a session struct separate
 * from the transaction struct; an explicit state; every verb goes check
 * -> (scan stage) -> proceed; the session waiting on the downstream is
 * resumed by the relay callback through `pending`, an explicit enum of
 * what the reply is for. All input limits are enforced in session_input().
 */
#ifndef MXMOAT_SESSION_PRIVATE_H
#define MXMOAT_SESSION_PRIVATE_H

#include "server/session.h"
#include "server/server.h"
#include "core/buf.h"
#include "core/id.h"
#include "smtp/smtp_cmd.h"
#include "smtp/smtp_dot.h"
#include "smtp/smtp_reply.h"
#include "relay/relay.h"
#include "msg/spool.h"
#include "verdict/verdict.h"
#include "verdict/header_edit.h"
#include "scan/result.h"
#include "scan/plugin.h"

struct bufferevent;
struct event;

enum session_state {
	SESSION_CONNECTING,  /* waiting for the downstream greeting + EHLO */
	SESSION_COMMAND,     /* reading commands */
	SESSION_WAITING,     /* a downstream reply is pending; input paused */
	SESSION_DATA,        /* reading message content */
	SESSION_SCANNING,    /* a scan job runs on the pool; input paused */
	SESSION_TLS,         /* STARTTLS: 220 sent, handshake running */
	SESSION_AUTH,        /* AUTH: the next line answers the downstream's 334 */
	SESSION_DELIVERING,  /* message being sent downstream */
	SESSION_CLOSING,     /* final output being flushed */
};

/* what the outstanding downstream command is */
enum session_pending {
	PENDING_NONE,
	PENDING_GREETING,
	PENDING_EHLO_INIT,
	PENDING_STARTTLS,    /* STARTTLS to the downstream */
	PENDING_TLS_HANDSHAKE,
	PENDING_XCLIENT,
	PENDING_EHLO_XCLIENT,
	PENDING_XFORWARD,
	PENDING_MAIL,
	PENDING_RCPT,
	PENDING_RSET,        /* downstream RSET, then deferred_reply is sent */
	PENDING_AUTH,        /* AUTH (or a continuation line) relayed */
	PENDING_REPLAY_RSET, /* a replay: the downstream transaction again */
	PENDING_REPLAY_MAIL,
	PENDING_REPLAY_RCPT,
	PENDING_DATA,
	PENDING_DOT,
};

/* the client attributes passed downstream (ours, or an authorized
 * upstream's XFORWARD) */
struct session_client_attrs {
	char addr[NETADDR_IP_MAX + 8];
	char name[256];
	char port[8];
	char proto[16];
	char helo[BOUND_HELO + 1];
	char source[16];
	char ident[80];
};

struct txn {
	uint64_t id;
	uint64_t start_ms;
	char *mail_from;         /* reverse-path, "" for <> */
	struct buf mail_cmd;     /* the MAIL command we send downstream */
	struct buf rcpt_cmd;     /* the RCPT command being relayed */
	char *rcpt_pending;      /* its address */
	char **rcpts;            /* accepted by the downstream and by us */
	char **rcpt_cmds;        /* their RCPT commands, for a replay */
	size_t nrcpts;
	/* the downstream holds a recipient we refused (RCPT stage) */
	bool downstream_dirty;
	size_t replay_index;
	size_t rcpts_tried;
	uint64_t declared_size;
	bool smtputf8;
	bool mail_sent;          /* MAIL accepted downstream */
	/* DATA */
	struct spool *spool;
	struct smtp_dot_decoder dec;
	uint64_t data_bytes;     /* decoded bytes received */
	bool too_big;
	bool spool_failed;
	uint64_t data_deadline_ms;
	struct verdict verdict;
	struct header_edit edit;
	struct scan_result result;
	char downstream_id[65];
	/* BDAT (RFC 3030) */
	bool bdat;               /* the message comes in BDAT chunks */
	bool bdat_last;          /* the chunk being read is the LAST one */
	bool bdat_cr;            /* the previous octet was a CR */
	uint64_t bdat_remaining; /* octets of the chunk still to read */
	uint64_t bdat_chunk;     /* size of the chunk being read */
	/* the last reply given for this transaction (summary line) */
	struct buf final_reply;
	/* the last refusal of a RCPT (ours or the downstream's), CRLF
	 * excluded: the reply of a transaction that ends with none accepted */
	struct buf rcpt_refusal;
	char *subject;           /* first Subject, decoded (DATA-stage scan) */
};

struct session {
	uint64_t sid;
	struct server *server;
	struct scan_engine *engine;  /* the snapshot this session uses */
	struct conf *conf;           /* = the engine's */
	struct bufferevent *bev;
	struct event *timer;
	struct relay *relay;
	struct session *prev, *next; /* server's list */
	struct session *sid_next;     /* server's id table */

	enum session_state state;
	enum session_pending pending;
	/* the greeting waits for both the downstream and the name lookup */
	bool downstream_ready;
	bool dns_pending;
	struct netaddr client, local;
	char client_ip[NETADDR_IP_MAX];
	struct session_client_attrs attrs;
	bool xforward_allowed;   /* client may send XFORWARD */
	bool xforward_seen;

	/* downstream capabilities (last EHLO) and what we offer the client */
	struct smtp_caps caps;
	unsigned int offer;      /* enum smtp_cap bits */
	uint64_t offer_size;
	bool xclient_sent;

	char helo[BOUND_HELO + 1];
	bool helo_seen;
	bool esmtp;
	bool authenticated;     /* SMTP AUTH succeeded downstream */
	bool tls;               /* the session runs over TLS */
	/* AUTH pass-through: the AUTH command waiting for XCLIENT/EHLO */
	struct buf auth_line;
	char auth_login[256];   /* the SASL mechanism, for logs (never data) */
	bool tls_start_pending; /* STARTTLS: wait until the 220 is out */
	char tls_info[96];      /* "TLSv1.3 TLS_AES_256_GCM_SHA384 256" */
	unsigned int errors;
	bool discarding_line;   /* skipping the rest of an over-long line */
	bool client_eof;
	bool client_eof_hard;   /* socket error: nothing more can be written */
	bool draining;
	bool free_scheduled;
	bool bdat_refusing;     /* reading a refused BDAT chunk to its end */
	uint64_t bdat_discard;  /* its octets still to read */
	uint64_t close_deadline_ms; /* CLOSING: free at the latest then */

	struct buf line;        /* current command line */
	struct buf deferred_reply; /* written when the downstream RSET is done */
	struct txn *txn;
	/* a command relayed while we wait: its verb, for logging */
	enum smtp_verb relayed_verb;
	uint64_t start_ms;
	unsigned int txn_count;
};

/* session.c */
uint64_t session_now_ms(void);
void session_reply(struct session *s, int code, const char *enh, const char *fmt, ...)
	ATTR_PRINTF(4, 5);
/* session_reply_error(): our own 4xx/5xx: counts an error and appends
 * the decision id; returns false if the session was closed for too many
 * errors. */
bool session_reply_error(struct session *s, int code, const char *enh, const char *fmt, ...)
	ATTR_PRINTF(4, 5);
/* session_format_own(): our own reply line with the decision id, into out
 * (for deferred replies); logs it when it is 4xx/5xx. */
void session_format_own(struct session *s, struct buf *out, int code, const char *enh,
			const char *fmt, ...) ATTR_PRINTF(5, 6);
/* session_write(): raw reply bytes already formatted by us */
void session_write(struct session *s, const struct buf *b);
/* session_abort_downstream(): end the downstream transaction with RSET,
 * then send `reply` (already formatted) to the client. */
void session_abort_downstream(struct session *s, const struct buf *reply);
/* session_reply_relayed(): the downstream's reply, rebuilt; false if the
 * session was closed for too many errors. */
bool session_reply_relayed(struct session *s, const struct smtp_reply *r);
void session_close(struct session *s, const char *reason);
/* session_close_reply(): 421-style reply then close */
void session_close_reply(struct session *s, int code, const char *enh, const char *text,
			 const char *reason);
void session_resume(struct session *s);
/* session_maybe_greet(): greet once the downstream and DNS are ready */
void session_maybe_greet(struct session *s);
void session_arm_timer(struct session *s, uint64_t ms);
void session_disarm_timer(struct session *s);
void session_send(struct session *s, enum session_pending what, const struct buf *line);
/* the decision id of the current transaction, or a fresh one */
uint64_t session_decision_id(struct session *s);

/* session.c: STARTTLS once the 220 has been flushed */
void session_tls_start(struct session *s);

/* session_cmd.c */
void txn_add_rcpt(struct txn *t);
void session_rcpt_scanned(struct session *s, struct scan_result *res);
void session_replay_begin(struct session *s);
void session_replay_reply(struct session *s, enum session_pending what,
			  const struct smtp_reply *r);
void session_cmd_dispatch(struct session *s, const char *line, size_t len);
/* session_auth_input(): a line answering the downstream's 334 */
void session_auth_input(struct session *s, const char *line, size_t len);
void session_cmd_reply(struct session *s, int status, const struct smtp_reply *r);
void session_connected(struct session *s);
void txn_free(struct txn **t);
void session_txn_end(struct session *s, const char *action, const char *reason,
		     const char *reply);

/* session_data.c */
void session_data_begin(struct session *s);
void session_bdat_begin(struct session *s, const struct smtp_cmd *c);
void session_bdat_refused(struct session *s);
/* session_data_input(): consume DATA bytes; returns bytes used */
size_t session_data_input(struct session *s, const char *p, size_t len, bool *done_r);
void session_data_end(struct session *s);
void session_data_reply(struct session *s, int status, const struct smtp_reply *r);
void session_data_timeout(struct session *s);
/* session_data_scanned(): the DATA-stage scan is done (t->result filled) */
void session_data_scanned(struct session *s);
/* session_data_send(): DATA downstream (after the verdict, and a replay) */
void session_data_send(struct session *s);
/* session_replay_failed(): a replay was refused: 451, keep the message */
void session_replay_failed(struct session *s);

/* session_scan.c */
void session_scan_submit(struct session *s, enum scan_stage stage);

#endif
