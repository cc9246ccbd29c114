/*
 * relay.h - the downstream MTA connection of one client session.
 *
 * Contract: one struct relay per client session, driven in lock-step: at
 * most one command (or the message transfer) is outstanding, and its
 * reply is delivered to the owner's callback. The relay never forwards
 * client bytes: the caller hands it complete command lines it built
 * itself, and message content only through relay_send_data(), which
 * dot-stuffs and rebuilds every line from the spool.
 *
 * Failures (connect refused, timeout, connection lost, a malformed or
 * over-long reply, unsolicited bytes) are reported once through the
 * callback with status -1 and relay_error() says why; the relay is then
 * down for good (relay_is_up() false) and the owner answers its client
 * with one generic 4xx (as Postfix's smtpd_proxy does).
 *
 * Limits: replies are bounded by smtp_reply (BOUND_REPLY_LINE and
 * BOUND_REPLY_LINES); the message is streamed from the spool in chunks,
 * keeping at most about RELAY_OUT_HIGH bytes queued for the socket.
 *
 * Ownership: relay_free() may be called at any time but never from inside
 * the relay's own callback (the session defers its frees).
 */
#ifndef MXMOAT_RELAY_H
#define MXMOAT_RELAY_H

#include "core/netaddr.h"
#include "smtp/smtp_reply.h"
#include "msg/spool.h"

struct event_base;
struct header_edit;
struct relay;

/* status 1: a complete reply; RELAY_TLS_UP: the STARTTLS handshake is
 * done (reply NULL); -1: failure (reply NULL). */
typedef void relay_reply_fn(void *ctx, int status, const struct smtp_reply *reply);

#define RELAY_TLS_UP 2

typedef struct ssl_ctx_st SSL_CTX;

struct relay *relay_new(struct event_base *base, uint64_t sid, relay_reply_fn *cb,
			void *ctx);
void relay_free(struct relay **r);
/* relay_connect(): connect and wait for the greeting (reply to the cb). */
void relay_connect(struct relay *r, const struct netaddr *addr, uint64_t timeout_ms);
/* relay_command(): send one line (CRLF appended) and wait for its reply.
 * Returns 0, or -1 at once (no callback) when the relay is down. */
int relay_command(struct relay *r, const char *line, size_t len, uint64_t timeout_ms);
/* relay_send_data(): after a 354, send the spool's content dot-stuffed and
 * the final ".", then wait for the reply. With an edit (may be NULL), its
 * fields go first and its skipped ranges are left out; spool and edit
 * must stay alive until the reply. Returns as relay_command(). */
int relay_send_data(struct relay *r, struct spool *spool, const struct header_edit *edit,
		    uint64_t timeout_ms);
/* relay_expect_starttls(): the next command sent is STARTTLS: bytes that
 * follow its 220 are dropped (injected plaintext), not a protocol error */
void relay_expect_starttls(struct relay *r);
/* relay_starttls(): after the 220 to STARTTLS, start TLS (SNI and, with a
 * verifying ctx, the certificate's name: name); the callback gets
 * RELAY_TLS_UP or -1. */
int relay_starttls(struct relay *r, SSL_CTX *ctx, const char *name, uint64_t timeout_ms);
bool relay_is_tls(const struct relay *r);
/* relay_quit(): send QUIT without waiting; the relay is down afterwards. */
void relay_quit(struct relay *r);
bool relay_is_up(const struct relay *r);
bool relay_is_busy(const struct relay *r);
const char *relay_error(const struct relay *r);
/* relay_elapsed_ms(): time the last completed command took. */
uint64_t relay_elapsed_ms(const struct relay *r);

#endif
