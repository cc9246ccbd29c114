/*
 * plugin.h - the scan plugin ABI.
 *
 * A plugin is a versioned descriptor (struct scan_plugin) compiled into
 * mxmoatd and listed in plugins.c. For every configuration snapshot the
 * pipeline calls init() once, in a thread of its own (never on the event
 * loop): it reads the plugin's configuration keys and builds the plugin's
 * state (compiled rules, a ClamAV engine, a Redis address, ...). The state
 * is immutable afterwards and shared by all scan workers; deinit() frees
 * it when the last request that used the snapshot is done.
 *
 * For each message (or envelope step) the pipeline calls, on a scan worker
 * thread, for each plugin that declared the stage in `stages`, in order of
 * `priority` (lower first):
 *   check() - cheap: should run() be called for this request at all?
 *             (NULL = always)
 *   run()   - do the work and add results: symbols (name, score, detail)
 *             with scan_result_add(), or a forced action with
 *             scan_result_force(). Blocking I/O is allowed (Redis, clamd)
 *             but must be bounded by the plugin's own timeouts; run() must
 *             not keep pointers into the request after it returns.
 * run() returns 0, or -1 when the plugin failed (scanner down, timeout):
 * the pipeline then applies the plugin's failure policy (fail_action):
 * SCAN_FAIL_OPEN skips it (e.g. Redis down: no greylisting), SCAN_FAIL_TEMPFAIL
 * forces 451 4.7.1 (e.g. the antivirus is down: fail closed).
 *
 * Plugins never decide the outcome: verdict/ alone turns symbols and forced
 * actions into accept, tag, tempfail, reject or discard (invariant 4).
 *
 * Bump SCAN_PLUGIN_ABI when a struct here changes incompatibly; the
 * pipeline refuses plugins built for another version.
 */
#ifndef MXMOAT_SCAN_PLUGIN_H
#define MXMOAT_SCAN_PLUGIN_H

#include "conf/conf.h"
#include "msg/msg.h"
#include "msg/spool.h"
#include "scan/result.h"

#define SCAN_PLUGIN_ABI 1

enum scan_stage {
	SCAN_STAGE_CONNECT,
	SCAN_STAGE_HELO,
	SCAN_STAGE_MAIL,
	SCAN_STAGE_RCPT,
	SCAN_STAGE_DATA,
	SCAN_STAGE_COUNT
};

#define SCAN_STAGE_BIT(s) (1u << (s))

enum scan_fail { SCAN_FAIL_OPEN, SCAN_FAIL_TEMPFAIL };

/* what a plugin sees of one request; all strings are NUL-terminated and
 * valid for the duration of run() */
struct scan_request {
	uint64_t id;             /* decision id of the transaction */
	uint64_t sid;            /* session id (logs) */
	enum scan_stage stage;
	const struct conf *conf;
	/* envelope */
	const char *client_ip;   /* "192.0.2.1", "2001:db8::1" */
	const char *client_name; /* verified host name, or "[UNAVAILABLE]" /
				    "[TEMPUNAVAIL]" */
	const char *helo;        /* "" before HELO/EHLO */
	const char *mail_from;   /* reverse-path, "" for <> (NULL before MAIL) */
	const char *const *rcpts;/* accepted recipients */
	size_t nrcpts;
	const char *rcpt;        /* SCAN_STAGE_RCPT: the recipient at hand */
	bool authenticated;      /* SMTP AUTH succeeded (no greylisting) */
	bool trusted;            /* client in [scan] trusted_networks (set
				    by the pipeline) */
	/* DATA stage only */
	struct spool *spool;     /* the message as received (CRLF) */
	const struct msg *msg;   /* parsed once by the pipeline */
	/* results of earlier plugins in this request (e.g. the rules score
	 * for a data-stage greylist band); read-only */
	const struct scan_result *so_far;
};

struct scan_plugin {
	unsigned int abi;        /* SCAN_PLUGIN_ABI */
	const char *name;        /* "rules", "clamav", "greylist", ... */
	unsigned int stages;     /* SCAN_STAGE_BIT()s */
	int priority;            /* lower runs first */
	/* init(): build the state from the snapshot. *enabled_r = false
	 * means the plugin is switched off in this configuration (it is then
	 * not run). Returns 0, or -1 with *error_r (heap string). */
	int (*init)(const struct conf *conf, void **state_r, bool *enabled_r,
		    char **error_r);
	void (*deinit)(void *state);
	bool (*check)(const void *state, const struct scan_request *req);
	int (*run)(const void *state, const struct scan_request *req,
		   struct scan_result *res);
	/* failure policy of this plugin for the snapshot's configuration */
	enum scan_fail (*fail_action)(const void *state);
	/* optional: one line for logs and `mxmoat lint` (signature count,
	 * rule count, ...), written into out */
	void (*describe)(const void *state, struct buf *out);
	/* optional: has the plugin's data on disk changed since init() (the
	 * ClamAV database directory)? Called on a scan worker every [scan]
	 * watch_interval; true makes the daemon build a new engine snapshot
	 * with the running configuration and swap it in, as a reload does.
	 * Must be cheap (a few stat() calls) and thread-safe. */
	bool (*stale)(const void *state);
	/* SCAN_PLUGIN_* bits */
	unsigned int flags;
	/* optional, RCPT stage: answer on the event loop, without blocking
	 * and without I/O (a cache, a static whitelist), so that the request
	 * does not travel to a worker and back. Returns 1 answered (results
	 * added; run() is not called), 0 not answerable here (nothing added:
	 * the request goes to a worker as usual). It runs on the event-loop
	 * thread while run() runs on the workers: what it touches besides the
	 * immutable state must be thread-safe (greylist_cache has a mutex).
	 * It is called only when every plugin that wants the request (check())
	 * has a run_fast, but one of them may still answer 0 after another
	 * answered 1: the request then goes to the workers anyway, so add
	 * results only when answering 1. */
	int (*run_fast)(const void *state, const struct scan_request *req,
			struct scan_result *res);
};

/* the plugin's symbols make a spam score (rules, Bayes): when one of these
 * ran, the message gets X-Spam-Score / X-Spam-Status */
#define SCAN_PLUGIN_SCORES (1u << 0)

#endif
