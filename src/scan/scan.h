/*
 * scan.h - the scan pipeline: one message and its envelope in, a verdict
 * out.
 *
 * Contract: a scan request is self-contained (envelope strings, the spool,
 * a config snapshot reference), so it can run on a worker thread or in
 * another process. This pipeline has no plugins yet: every
 * message is accepted. The plugin ABI (src/scan/plugin.h) and the worker
 * pool arrive with the first plugin (the rules engine); the proxy already
 * calls the pipeline through this function so that nothing in the
 * session changes when they do.
 */
#ifndef MXMOAT_SCAN_H
#define MXMOAT_SCAN_H

#include "conf/conf.h"
#include "msg/spool.h"
#include "verdict/verdict.h"

struct scan_envelope {
	const char *client_ip;
	const char *client_name;
	const char *helo;
	const char *mail_from;
	size_t nrcpts;
	const char *const *rcpts;
};

int scan_message(const struct conf *conf, const struct scan_envelope *env,
		 struct spool *spool, struct verdict *verdict_r);

#endif
