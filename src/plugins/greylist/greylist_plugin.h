/*
 * greylist_plugin.h - greylisting as scan plugins, state in Redis.
 *
 * Two descriptors share one implementation; [greylist] stage enables one
 * of them, so that with stage = data no RCPT goes through the scan pool:
 *   greylist_rcpt_plugin  SCAN_STAGE_RCPT, each recipient on its own;
 *   greylist_data_plugin  SCAN_STAGE_DATA, priority after the rules, for
 *                         messages whose score so far is in the band.
 *
 * A decision: authenticated clients and trusted ones ([scan]
 * trusted_networks, set by the pipeline) are skipped (check());
 * the static whitelists (greylist_list.h) are looked at without Redis;
 * then ONE Redis round trip (a Lua script, atomic, with Redis's clock so
 * that nodes with different clocks agree) reads the auto-whitelist entry
 * of the client and the triplet, and updates them:
 *   triplet unknown           -> remembered for retry_window; 451 4.7.1
 *   seen less than delay ago  -> 451 4.7.1 (retry_window not extended)
 *   seen delay..retry_window  -> pass; remembered for expire
 *   passed before             -> pass; expire refreshed
 *   client auto-whitelisted   -> pass (after auto_whitelist messages that
 *                                passed, counted once per transaction)
 * Entries are strings "FIRST_MS,PASSES" (triplets) and "COUNT,TXN,CLIENT"
 * or "m,0,CLIENT" for manual entries (auto-whitelist), every one written
 * with a TTL.
 *
 * Passes are remembered on each node for cache_ttl (greylist_cache.h) and
 * answered without Redis. What needs no I/O (authenticated/trusted, the
 * static whitelists, the cache) is answered on the event loop (run_fast),
 * so that known senders do not even cost a trip to a scan worker.
 *
 * Redis down or slow (kv.h): the decision is skipped (symbol
 * GREYLIST_SKIP, counted, logged rate-limited) unless redis_failure =
 * tempfail. Every outcome adds a symbol of score 0 (GREYLIST_NEW,
 * GREYLIST_EARLY, GREYLIST_PASS, GREYLIST_KNOWN, GREYLIST_AWL,
 * GREYLIST_WHITELIST, GREYLIST_SKIP) so that the summary line shows it.
 */
#ifndef MXMOAT_GREYLIST_PLUGIN_H
#define MXMOAT_GREYLIST_PLUGIN_H

#include "scan/plugin.h"

extern const struct scan_plugin greylist_rcpt_plugin;
extern const struct scan_plugin greylist_data_plugin;

/* the decision script, for `mxmoat greylist` (same keys, same values) */
extern const char greylist_plugin_script[];

/* greylist_plugin_whitelist_path(): the whitelist file a configuration
 * names (NULL = none); *is_default_r when it is the shipped one */
const char *greylist_plugin_whitelist_path(const struct conf *conf, bool *is_default_r);

#endif
