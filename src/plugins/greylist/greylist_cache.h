/*
 * greylist_cache.h - a bounded in-process memory of recent passes, so that
 * mail from known senders does not cost a Redis round trip per recipient.
 *
 * Only positive answers are kept: a triplet that passed (GREYLIST_KNOWN)
 * and an auto-whitelisted client (GREYLIST_AWL), each for [greylist]
 * cache_ttl; a greylisted triplet is never cached, its retry must see
 * Redis. Consequences, by design: a pass served from the cache does not
 * refresh the entry's TTL in Redis nor count towards the auto-whitelist
 * (both happen again at the next Redis decision, at most cache_ttl
 * later), and `mxmoat greylist drop` takes effect on each node within
 * cache_ttl.
 *
 * Fixed size (cache_size entries, 4-way set associative, oldest of a set
 * replaced), allocated once per configuration snapshot; one mutex (a
 * lookup is a few loads, far cheaper than the Redis call it saves).
 * Keys are the Redis key strings, remembered by two 64-bit hashes.
 */
#ifndef MXMOAT_GREYLIST_CACHE_H
#define MXMOAT_GREYLIST_CACHE_H

#include "core/common.h"

struct greylist_cache;

/* entries 0 or ttl_ms 0: no cache (lookups miss, stores do nothing) */
struct greylist_cache *greylist_cache_new(size_t entries, uint64_t ttl_ms);
void greylist_cache_free(struct greylist_cache **c);
/* the value stored for key, if it is younger than the TTL */
bool greylist_cache_get(struct greylist_cache *c, const char *key, int *value_r);
void greylist_cache_put(struct greylist_cache *c, const char *key, int value);
size_t greylist_cache_size(const struct greylist_cache *c);

#endif
