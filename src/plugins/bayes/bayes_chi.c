#include "plugins/bayes/bayes_chi.h"

#include <math.h>

double
bayes_chi_token_prob(uint32_t spam, uint32_t ham, uint64_t nspam, uint64_t nham)
{
	double s = spam, n = ham, p;

	if (spam + ham == 0 || nspam == 0 || nham == 0)
		return -1;
	p = (s * (double)nham) / (n * (double)nspam + s * (double)nham);
	return (BAYES_CHI_S * BAYES_CHI_X + (s + n) * p) / (BAYES_CHI_S + s + n);
}

double
bayes_chi2q(double x2, unsigned int halfv)
{
	double m = x2 / 2.0, sum, term;
	unsigned int i;

	sum = term = exp(-m);
	for (i = 1; i < halfv; i++) {
		term *= m / i;
		sum += term;
	}
	return sum < 1.0 ? sum : 1.0;
}

double
bayes_chi_combine(uint64_t nspam, uint64_t nham, const double *probs, size_t n)
{
	double total = (double)nspam + (double)nham, ls, lh, sp, hp;
	size_t i;

	if (n == 0 || nspam == 0 || nham == 0)
		return 0.5;
	/* sums of logarithms: SpamAssassin multiplies and renormalises with
	 * frexp() to avoid underflow; the logarithm of the product is the same */
	ls = log((double)nspam / total);
	lh = log((double)nham / total);
	for (i = 0; i < n; i++) {
		ls += log1p(-probs[i]);
		lh += log(probs[i]);
	}
	sp = 1.0 - bayes_chi2q(-2.0 * ls, (unsigned int)n);
	hp = 1.0 - bayes_chi2q(-2.0 * lh, (unsigned int)n);
	return (sp - hp + 1.0) / 2.0;
}

static int
by_strength(const void *a, const void *b)
{
	const struct bayes_chi_token *x = a, *y = b;
	double sx = fabs(x->prob - 0.5), sy = fabs(y->prob - 0.5);

	if (sx != sy)
		return sx > sy ? -1 : 1;
	return (x->hash > y->hash) - (x->hash < y->hash);
}

size_t
bayes_chi_classify(struct bayes_chi_token *toks, size_t n, uint64_t nspam, uint64_t nham,
		   double *prob_r)
{
	double probs[BAYES_CHI_SIGNIFICANT];
	size_t i, used = 0, keep = 0;

	for (i = 0; i < n; i++) {
		double p = bayes_chi_token_prob(toks[i].spam, toks[i].ham, nspam, nham);

		toks[i].prob = p;
		if (p >= 0 && fabs(p - 0.5) >= BAYES_CHI_MIN_STRENGTH) {
			struct bayes_chi_token tmp = toks[keep];

			toks[keep++] = toks[i];
			toks[i] = tmp;
		}
	}
	if (keep == 0)
		return 0;
	qsort(toks, keep, sizeof(*toks), by_strength);
	used = MIN(keep, (size_t)BAYES_CHI_SIGNIFICANT);
	for (i = 0; i < used; i++)
		probs[i] = toks[i].prob;
	*prob_r = bayes_chi_combine(nspam, nham, probs, used);
	return used;
}
