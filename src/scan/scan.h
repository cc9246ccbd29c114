/*
 * scan.h - the scan pipeline: an engine snapshot (configuration + the
 * state of every enabled plugin) and the function that runs one stage of
 * one request through it.
 *
 * Contract: scan_engine_new() calls every plugin's init() and is slow (it
 * compiles rules, loads signatures): call it off the event loop (start-up,
 * or a reload job on the scan pool). The engine is immutable and
 * refcounted like the configuration it holds; a transaction keeps the
 * engine it started with, so a reload never changes the rules under a
 * message being scanned.
 *
 * scan_engine_run() runs on a scan worker: every enabled plugin that
 * declared the request's stage, in priority order, adding to one result.
 * For the DATA stage the caller passes the parsed message (see
 * scan_engine_needs_msg()). A plugin whose run() fails is handled by its
 * failure policy: skipped (fail open) or a forced 451 4.7.1 (fail closed).
 */
#ifndef MXMOAT_SCAN_H
#define MXMOAT_SCAN_H

#include "scan/plugin.h"
#include "scan/result.h"

#define SCAN_MAX_PLUGINS 16

struct scan_engine;

int scan_engine_new(struct conf *conf, struct scan_engine **engine_r, char **error_r);
struct scan_engine *scan_engine_ref(struct scan_engine *e);
void scan_engine_unref(struct scan_engine **e);
struct conf *scan_engine_conf(const struct scan_engine *e);
bool scan_engine_has_stage(const struct scan_engine *e, enum scan_stage stage);
bool scan_engine_needs_msg(const struct scan_engine *e);
const struct msg_limits *scan_engine_msg_limits(const struct scan_engine *e);
void scan_engine_run(const struct scan_engine *e, struct scan_request *req,
		     struct scan_result *res);
/* scan_engine_run_fast(): the stage on the event loop, for plugins that
 * can answer there (run_fast). true: every plugin that wanted the request
 * answered (res is the result); false: the request needs a worker (reset
 * res and submit it as usual). */
bool scan_engine_run_fast(const struct scan_engine *e, struct scan_request *req,
			  struct scan_result *res);
/* scan_engine_scan_data(): the DATA stage of one message: parse the
 * spooled message (when a plugin needs it; *msg_r gets it, the caller
 * frees it) and run the plugins. The proxy's scan job, the milter and
 * `mxmoat scan` all come through here (one verdict path). Returns 0, or
 * -1 when the spool cannot be read (*error_r). */
int scan_engine_scan_data(const struct scan_engine *e, struct scan_request *req,
			  struct msg **msg_r, struct scan_result *res, const char **error_r);
/* scan_engine_stale_plugin(): the first plugin whose data on disk
 * changed since the engine was built (plugin stale()), or NULL. On a scan
 * worker: it may stat files. */
const char *scan_engine_stale_plugin(const struct scan_engine *e);
/* one line per enabled plugin: "name: <describe()>" */
void scan_engine_describe(const struct scan_engine *e, struct buf *out);

/* the compiled-in plugins, NULL-terminated (plugins.c) */
extern const struct scan_plugin *const scan_plugins[];

#endif
