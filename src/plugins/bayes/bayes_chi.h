/*
 * bayes_chi.h - the combining maths: Gary Robinson's f(w) per token and
 * Fisher's chi-square combination of the most significant tokens, with
 * SpamAssassin's constants and its form (Bayes.pm, Bayes/CombineChi.pm),
 * which bogofilter shares but for the class prior.
 *
 * Per token, with s spam and n ham messages of the ns spam and nn ham
 * learned containing it:
 *   p    = (s * nn) / (n * ns + s * nn)
 *   f(w) = (S * X + (s + n) * p) / (S + s + n)      S = 0.3, X = 0.538
 * Tokens never seen (s + n = 0) are left out, and so are tokens with
 * |f(w) - 0.5| < 0.346 (MIN_PROB_STRENGTH). Of the rest, the 150 farthest
 * from 0.5 (ties: smaller token hash first, so that results never depend on
 * order) are combined:
 *   Sp = 1 - chi2q(-2 (ln(ns / (ns + nn)) + sum ln(1 - f)), N)
 *   Hp = 1 - chi2q(-2 (ln(nn / (ns + nn)) + sum ln f), N)
 *   P  = (Sp - Hp + 1) / 2
 * where chi2q(x2, N) is the chi-square survival function with 2N degrees
 * of freedom (a finite sum for even degrees). The ln of the class share is
 * SpamAssassin's prior (its bug 3118); bogofilter starts from 0.
 *
 * S, the weight of the prior belief X against the counts, is ten times
 * SpamAssassin's 0.030: a token seen in one message then weighs 0.93
 * instead of 0.99, and fewer messages end undecided (0.5, both sums
 * saturated) because of a handful of tokens seen once. On the corpora
 * (half learned, half tested) the SpamAssassin corpus had 95.5% of its
 * spam at p >= 0.6 and 0.33% of its ham (S = 0.1: 92.6% and 0.28%).
 *
 * Pure functions, no state.
 */
#ifndef MXMOAT_BAYES_CHI_H
#define MXMOAT_BAYES_CHI_H

#include "core/common.h"

#define BAYES_CHI_S 0.3
#define BAYES_CHI_X 0.538
#define BAYES_CHI_MIN_STRENGTH 0.346
#define BAYES_CHI_SIGNIFICANT 150

struct bayes_chi_token {
	uint64_t hash;
	uint32_t spam, ham;     /* messages of each class it was in */
	double prob;            /* f(w), set by bayes_chi_classify() */
};

/* f(w) of one token; -1 when it was never seen or nothing was learned */
double bayes_chi_token_prob(uint32_t spam, uint32_t ham, uint64_t nspam, uint64_t nham);
/* the chi-square survival function Q(x2 | 2 * halfv degrees of freedom) */
double bayes_chi2q(double x2, unsigned int halfv);
/* combine n probabilities f(w) (already selected) */
double bayes_chi_combine(uint64_t nspam, uint64_t nham, const double *probs, size_t n);
/* bayes_chi_classify(): f(w) for every token (reorders toks: the used
 * ones first), then the combination. Returns the number of tokens used
 * (0: no probability, *prob_r untouched). */
size_t bayes_chi_classify(struct bayes_chi_token *toks, size_t n, uint64_t nspam,
			  uint64_t nham, double *prob_r);

#endif
