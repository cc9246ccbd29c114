/*
 * bayes_store.h - the Bayes database in Redis: token counts, learned
 * message digests, and the message totals, on the shared client (kv.h).
 *
 * Layout, under P = [redis] prefix + [bayes] key (e.g. "mxmoat:bayes:"):
 *   P meta    hash: nspam, nham (messages learned), ntokens (entries),
 *             buckets, seen_buckets (the layout, fixed at creation)
 *   P t:N     token bucket N: field = 48 bits of the token hash (8 chars,
 *             base64url), value SPAM * 2^32 + HAM (one HINCRBY learns both)
 *   P m:N     digest bucket N: field = 96 bits of the message digest,
 *             value "s" or "h" and the day (since 1970) it was learned
 * A token goes to bucket (hash >> 16) mod buckets. The number of buckets
 * comes from [bayes] memory when the first message is learned (each holds
 * up to about 100 entries: Redis keeps such small hashes as listpacks,
 * at most about 26 bytes an entry) and is stored in meta; a later budget only
 * changes how full buckets may get. A token bucket that grows past its cap
 * drops the entries of fewest messages down to 7/8 of it (as rspamd's
 * expiry: tokens seen once are the bulk and say least), a digest bucket
 * those learned longest ago: pruning bucket by bucket keeps the whole
 * database within the budget. A bucket gets [bayes] expire as TTL whenever
 * an entry is added to it (meta at every learning): a database nobody
 * learns into goes away.
 *
 * Round trips: classification is ONE EVALSHA (a read-only Lua script
 * that returns the totals and every token's counts); learning a batch of
 * messages is TWO (the digests' states, then one atomic script that checks
 * those states again, applies the merged token deltas, stores the digests
 * and prunes). When another node changed one of the digests in between,
 * the script refuses and the batch is redone (at most a few times).
 *
 * Learning a message that is learned already as the same class changes
 * nothing (BAYES_ALREADY); as the other class it moves its tokens
 * (BAYES_RELEARNED); forgetting (class BAYES_NONE) takes them away.
 *
 * Errors: Redis down or slow fails the call at once (kv.h) with *error_r
 * (a static or thread-local string).
 *
 * Thread-safety: a store may be used by several threads at once.
 */
#ifndef MXMOAT_BAYES_STORE_H
#define MXMOAT_BAYES_STORE_H

#include "conf/conf.h"
#include "plugins/bayes/bayes_chi.h"
#include "plugins/bayes/bayes_token.h"

enum bayes_class { BAYES_NONE, BAYES_SPAM, BAYES_HAM };

enum bayes_learn_result {
	BAYES_LEARNED,    /* new */
	BAYES_RELEARNED,  /* was learned as the other class: moved */
	BAYES_ALREADY,    /* learned as this class already: nothing done */
	BAYES_FORGOTTEN,
	BAYES_UNKNOWN,    /* forget: it was not learned */
};

struct bayes_counts {
	uint64_t nspam, nham, ntokens;
	uint64_t buckets, seen_buckets; /* layout; 0 = no database yet */
};

struct bayes_learn_msg {
	unsigned char digest[BAYES_DIGEST_LEN];
	const uint64_t *hashes;
	size_t nhashes;
	enum bayes_class want;           /* BAYES_NONE: forget */
	enum bayes_learn_result result;  /* out */
};

struct bayes_store;
struct kv;

/* bayes_store_new(): key_suffix (may be NULL) goes after [bayes] key (the
 * corpus command's private databases) */
int bayes_store_new(const struct conf *conf, const char *key_suffix, struct bayes_store **st_r,
		    char **error_r);
void bayes_store_free(struct bayes_store **st);
const char *bayes_store_prefix(const struct bayes_store *st);
struct kv *bayes_store_kv(struct bayes_store *st);

/* bayes_store_lookup(): the totals, and, when at least min_spam spam and
 * min_ham ham were learned, each token's counts (toks[i].hash in,
 * .spam/.ham out; *ready_r says which). 0, or -1 with *error_r. */
int bayes_store_lookup(struct bayes_store *st, struct bayes_chi_token *toks, size_t n,
		       uint64_t min_spam, uint64_t min_ham, struct bayes_counts *counts_r,
		       bool *ready_r, const char **error_r);
/* bayes_store_learn(): learn or forget a batch (each msgs[i].result
 * set); the same digest may come several times (the last want wins). */
int bayes_store_learn(struct bayes_store *st, struct bayes_learn_msg *msgs, size_t n,
		      struct bayes_counts *counts_r, const char **error_r);
int bayes_store_counts(struct bayes_store *st, struct bayes_counts *counts_r,
		       const char **error_r);
/* bayes_store_reset(): delete every key of the database (SCAN + DEL);
 * *deleted_r keys */
int bayes_store_reset(struct bayes_store *st, uint64_t *deleted_r, const char **error_r);
/* tokens the layout holds at most */
uint64_t bayes_store_capacity(const struct bayes_store *st);

const char *bayes_learn_result_name(enum bayes_learn_result r);

#endif
