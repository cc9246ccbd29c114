/*
 * milter.h - the milter front end: libmilter's listener in mxmoatd, for
 * sites that keep Postfix on port 25 (smtpd_milters = inet:HOST:PORT).
 *
 * Contract: milter_new() binds [milter] listen (smfi_opensocket: a bind
 * error is fatal at start-up) and runs smfi_main() in a thread of its own;
 * libmilter then calls our callbacks (milter_cb.c) from its connection
 * threads. The callbacks feed the same path as the proxy: the envelope
 * and the spooled message go to scan_engine_run() / scan_engine_scan_data()
 * as a self-contained job on the scan pool (never in libmilter's threads),
 * and verdict_decide() alone turns the result into an action; a callback
 * waits for its job at most [milter] command_budget (connect ... RCPT) or
 * content_budget (end of message), both below Postfix's milter timeouts.
 * Past the budget, or on any internal error, [milter] on_error applies
 * (tempfail, or accept); the daemon never stops for one message.
 *
 * Engine snapshots: milter_reload() (on the event loop, from the reload
 * that swapped the server's engine) makes new MTA connections use the new
 * engine; a connection keeps the engine it started with, as proxy
 * sessions do. The current engine is behind a mutex because libmilter's
 * threads read it.
 *
 * Signals: smfi_main() blocks SIGHUP, SIGTERM and SIGINT in its own
 * threads and starts a thread that sigwait()s them and stops libmilter on
 * the first one. mxmoatd's event-loop thread (the main thread) never
 * blocks them, and Linux delivers a process-directed signal to the main
 * thread when it does not block it, so they reach the libevent signal
 * events and a SIGHUP reloads without stopping the milter. A libmilter
 * stop that we did not ask for (smfi_main() returning early) is logged
 * as an error and reported by milter_failed(): mxmoatd then shuts down
 * with status 1 so that its supervisor restarts it, rather than run on
 * with Postfix getting milter_default_action for every message.
 *
 * Shutdown: milter_shutdown() starts draining: new MTA connections are
 * refused at negotiation and new transactions get 421 4.3.2 (Postfix then
 * closes the SMTP session; its client retries later), while transactions
 * in progress finish. milter_drained() is true once none is left.
 * milter_free() then stops libmilter: smfi_stop() (in a thread of its
 * own: it waits for libmilter's accept loop, which we wake with a
 * connection of our own instead of waiting up to 5 s), and joins the
 * smfi_main() thread. smfi_stop() is not called earlier because with
 * libmilter's worker pool it also ends the sessions in progress.
 *
 * Threads: milter_new/reload/shutdown/drained/free run on the event loop
 * thread; everything in milter_cb.c runs on libmilter's threads.
 */
#ifndef MXMOAT_MILTER_H
#define MXMOAT_MILTER_H

#include "core/common.h"

struct milter;
struct scan_engine;
struct scan_pool;

/* milter_new(): with the server's current engine (a reference is taken)
 * and pool. Returns NULL with *error_r (static text) on failure. */
struct milter *milter_new(struct scan_engine *engine, struct scan_pool *pool,
			  const char **error_r);
/* milter_reload(): new connections use this engine (a reference is taken) */
void milter_reload(struct milter *m, struct scan_engine *engine);
void milter_shutdown(struct milter *m);
bool milter_draining(const struct milter *m);
/* milter_drained(): no transaction in progress any more */
bool milter_drained(const struct milter *m);
/* milter_failed(): libmilter stopped without milter_shutdown() */
bool milter_failed(const struct milter *m);
void milter_free(struct milter **m);

#endif
