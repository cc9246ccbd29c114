/*
 * bayes_plugin.h - the Bayesian classifier as scan plugins (data stage),
 * with its database in Redis (bayes_store.h).
 *
 * Two descriptors share one implementation:
 *   bayes_plugin            priority 150 (after the rules, before the
 *                           data-stage greylisting band that reads the
 *                           score): tokenizes the message (bayes_token.h),
 *                           looks every token up in ONE Redis round trip and
 *                           combines them (bayes_chi.h). Once [bayes]
 *                           min_spam spam and min_ham ham were learned it adds
 *                           one of BAYES_00, BAYES_05, BAYES_20, BAYES_40,
 *                           BAYES_50, BAYES_60, BAYES_80, BAYES_95, BAYES_99
 *                           (SpamAssassin's bands of the spam probability;
 *                           scores from [bayes] scores) and BAYES_999 at
 *                           99.9% and more, with "p=PROB tokens=USED/ALL" as
 *                           detail. Before that, or when no token of the
 *                           message is known and significant: nothing.
 *   bayes_autolearn_plugin  priority 950 (after every scorer), [bayes]
 *                           autolearn only: a message without forced action
 *                           whose score without the Bayes symbols is at
 *                           least autolearn_spam_score (or at most
 *                           autolearn_ham_score) is learned as spam (ham):
 *                           symbol BAYES_AUTOLEARN (score 0, detail
 *                           "spam learned", "ham already", ...).
 *
 * Redis down or slow (kv.h): the message gets BAYES_SKIP (score 0, the
 * error as detail) and goes on (fail open, logged rate-limited by kv.c);
 * autolearn skips it likewise.
 */
#ifndef MXMOAT_BAYES_PLUGIN_H
#define MXMOAT_BAYES_PLUGIN_H

#include "scan/plugin.h"

#define BAYES_BANDS 10          /* BAYES_00 ... BAYES_99, BAYES_999 */

extern const struct scan_plugin bayes_plugin;
extern const struct scan_plugin bayes_autolearn_plugin;

/* the band names, and their lower bounds of the probability */
extern const char *const bayes_plugin_band_names[BAYES_BANDS];
extern const double bayes_plugin_band_min[BAYES_BANDS];

/* bayes_plugin_scores(): parse [bayes] scores (BAYES_BANDS numbers).
 * 0, or -1 with *error_r (heap). */
int bayes_plugin_scores(const char *text, double scores_r[BAYES_BANDS], char **error_r);
/* bayes_plugin_band(): the band of a probability (0 .. BAYES_BANDS - 2;
 * BAYES_999 comes on top of BAYES_99) */
unsigned int bayes_plugin_band(double prob);
/* bayes_plugin_tokenize(): the tokens and digest of a message with the
 * configured bound (the plugin, `mxmoat learn` and `mxmoat corpus`
 * tokenize alike); deinit t with bayes_tokens_deinit() */
struct bayes_tokens;
void bayes_plugin_tokenize(const struct conf *conf, const struct msg *m, struct bayes_tokens *t,
			   unsigned char *digest);
/* bayes_plugin_score_without(): the score of res without the symbols of
 * the bayes plugins (what autolearn and `mxmoat corpus` "rules alone"
 * count) */
double bayes_plugin_score_without(const struct scan_result *res);

#endif
