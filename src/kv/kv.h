/*
 * kv.h - the Redis client shared by the plugins that keep state in Redis
 * (greylisting, Bayes, history), on hiredis.
 *
 * Contract: kv_new() copies the [redis] settings of one configuration
 * snapshot into an immutable handle; it never connects. kv_call() runs
 * one command, blocking, on a connection of the calling thread (each scan
 * worker has its own for each handle it uses, up to 4 handles, kept in
 * thread-local storage and reused across requests), so it is for scan
 * workers and the CLI, never for the event loop. Every connect and every command is bounded by the configured
 * timeouts (250 ms by default).
 *
 * Failure handling, shared by all threads that use one handle: a failed
 * connect, a timeout, an I/O error or a reply that says the server cannot
 * serve us (READONLY, LOADING, MASTERDOWN, NOAUTH) marks Redis down. While
 * it is down kv_call() fails at once without touching the network (the
 * caller fails open); after reconnect_min one thread probes (the others
 * keep failing fast), and each failed probe doubles the wait up to
 * reconnect_max. A connection that the server closed (Redis restarted) is
 * reconnected once on the spot. Going down, staying down (at most every
 * 10 s, with the number of skipped calls) and coming back are logged.
 *
 * Sentinel: with [redis] sentinels set, every (re)connection asks the
 * sentinels in turn for the primary of sentinel_master and checks with
 * ROLE that it is one; READONLY (a demoted primary after a failover) makes
 * the next attempt ask again.
 *
 * Ownership: kv_call() returns a reply the caller frees with
 * kv_reply_free(), or NULL with *error_r pointing to a static or
 * thread-local string (valid until the thread's next kv_call()). Redis
 * error replies other than those above (e.g. NOSCRIPT) are returned as
 * replies of type REDIS_REPLY_ERROR. kv_free() may run while other threads
 * still hold connections opened for the handle: each thread closes its
 * connection when it needs the slot for another handle, or when it exits.
 */
#ifndef MXMOAT_KV_H
#define MXMOAT_KV_H

#include "conf/conf.h"

#include <hiredis/hiredis.h>

struct kv;

struct kv_stats {
	uint64_t calls;      /* commands attempted */
	uint64_t failures;   /* commands that failed on the network or server */
	uint64_t skipped;    /* calls refused at once while Redis was down */
	bool up;
};

int kv_new(const struct conf *conf, struct kv **kv_r, char **error_r);
void kv_free(struct kv **kv);
redisReply *kv_call(struct kv *kv, int argc, const char **argv, const size_t *argvlen,
		    const char **error_r);
/* kv_callv(): the same with NUL-terminated strings */
redisReply *kv_callv(struct kv *kv, const char **error_r, const char *arg0, ...);
void kv_reply_free(redisReply *r);

/* a Lua script, run by its SHA-1 (EVALSHA) and sent in full (EVAL) only
 * when the server does not know it (first use, restart, SCRIPT FLUSH) */
struct kv_script {
	const char *text;
	char sha[41];
};

void kv_script_init(struct kv_script *s, const char *text);
/* kv_eval(): argv is what follows the script: numkeys, keys, arguments */
redisReply *kv_eval(struct kv *kv, const struct kv_script *s, int argc, const char **argv,
		    const size_t *argvlen, const char **error_r);
/* kv_prefix(): [redis] prefix */
const char *kv_prefix(const struct kv *kv);
void kv_get_stats(struct kv *kv, struct kv_stats *st_r);
/* kv_describe(): "127.0.0.1:6379 db 0" or "sentinel mymaster via ..." */
void kv_describe(const struct kv *kv, struct buf *out);

#endif
