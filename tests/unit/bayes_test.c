/*
 * bayes_test.c - the Bayes classifier's pure parts: the tokenizer (word
 * rules, subject pairs, long words, CJK, addresses, the per-message
 * bound, the tokens of a whole message), the token hash (a storage
 * format), the learned-message digest, and the combining maths (Robinson's
 * f(w), the chi-square survival function, Fisher's combination, the
 * selection of significant tokens) on known inputs with outputs computed
 * independently (Python, the same formulas), and the probability bands.
 * Storage runs against a real redis-server in tests/integration/
 * test_bayes.py.
 */
#include "msg/msg.h"
#include "plugins/bayes/bayes_chi.h"
#include "plugins/bayes/bayes_plugin.h"
#include "plugins/bayes/bayes_token.h"
#include "scan/result.h"

#include <math.h>
#include <setjmp.h>
#include <cmocka.h>

static void
collect(void *ctx, const char *token, size_t len)
{
	struct buf *b = ctx;

	if (b->len > 0)
		buf_append_char(b, '|');
	buf_append(b, token, len);
}

/* the tokens of text, joined by '|' */
static void
text_tokens(const char *prefix, const char *pair_prefix, const char *text, struct buf *out)
{
	struct bayes_tokens t;

	bayes_tokens_init(&t, 100);
	t.sink = collect;
	t.sink_ctx = out;
	bayes_token_text(&t, prefix, pair_prefix, text, strlen(text));
	bayes_tokens_deinit(&t);
}

static void
test_words(void **state)
{
	static const char *const cases[][4] = {
		/* prefix, pair prefix, text, tokens */
		{ "", NULL, "Hello FREE money!!! Click here: win $100, it's iPhone time",
		  "hello|free|FREE|money!!!|money|click|here|win|$100|100|it's|its|iphone|"
		  "iPhone|time" },
		/* words under 3 bytes are not counted but do not break pairs */
		{ "S:", "S2:", "Hi to you Bob", "S:you|S:bob|S2:you bob" },
		{ "S:", "S2:", "cheap meds, cheap MEDS",
		  "S:cheap|S:meds|S2:cheap meds|S2:meds cheap|S:MEDS" },
		/* trimmed of - ' . , _ * at both ends */
		{ "", NULL, "--hello-- 'quoted' ...dots... *** __x__", "hello|quoted|dots" },
		/* longer than 15 bytes: sk: and the first 7 characters */
		{ "", NULL, "supercalifragilisticexpialidocious", "sk:superca" },
		/* ... unless CJK: one token per 3-byte character */
		{ "", NULL, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9"
			    "\xe3\x83\x88",
		  "u8:\xe6\x97\xa5|u8:\xe6\x9c\xac|u8:\xe8\xaa\x9e|u8:\xe3\x83\x86|u8:\xe3\x82\xad|"
		  "u8:\xe3\x82\xb9|u8:\xe3\x83\x88" },
		/* a short UTF-8 word is a word */
		{ "", NULL, "caf\xc3\xa9 na\xc3\xafve", "caf\xc3\xa9|na\xc3\xafve" },
		{ "", NULL, "mail me at John.Doe@Example.COM now",
		  "mail|E:john.doe@example.com|ED:example.com|ED:com|now" },
		/* the same token twice counts once */
		{ "", NULL, "spam spam SPAM spam", "spam|SPAM" },
		{ "I:", NULL, "hidden words", "I:hidden|I:words" },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct buf b = BUF_INIT;

		text_tokens(cases[i][0], cases[i][1], cases[i][2], &b);
		if (strcmp(buf_cstr(&b), cases[i][3]) != 0)
			fail_msg("case %zu %s:\n got %s\nwant %s", i, cases[i][2], buf_cstr(&b),
				 cases[i][3]);
		buf_deinit(&b);
	}
}

static void
test_bound(void **state)
{
	struct bayes_tokens t;
	const char *text = "one two three four five";

	bayes_tokens_init(&t, 3);
	bayes_token_text(&t, "", NULL, text, strlen(text));
	assert_int_equal(t.n, 3);
	assert_true(t.truncated);
	assert_true(t.hashes[0] == bayes_token_hash("one", 3));
	assert_true(t.hashes[2] == bayes_token_hash("three", 5));
	/* a token kept already still "fits" */
	assert_true(bayes_tokens_add(&t, "two", 3));
	assert_false(bayes_tokens_add(&t, "six", 3));
	bayes_tokens_deinit(&t);
}

static void
test_hash(void **state)
{
	/* FNV-1a 64 + MurmurHash3 fmix64: the format in Redis */
	assert_true(bayes_token_hash("", 0) == 0xefd01f60ba992926ULL);
	assert_true(bayes_token_hash("hello", 5) == 0xe9c562c0fdb23244ULL);
	assert_true(bayes_token_hash("S:viagra", 8) == 0xba0516d9a2c32125ULL);
}

static struct msg *
parse(const char *text)
{
	struct msg_limits l;

	msg_limits_default(&l);
	return msg_parse_mem(&l, text, strlen(text));
}

static const char MESSAGE[] =
	"Received: from mx.sender.example (mx.sender.example [192.0.2.7])\r\n"
	"\tby mx.example.net with ESMTP id 4AbC; Tue, 01 Dec 2026 12:00:00 +0000\r\n"
	"From: \"Prize Office\" <Winner@Lottery.Example.ORG>\r\n"
	"To: you@example.net\r\n"
	"Subject: You have WON\r\n"
	"Message-ID: <20261201.120000.ABCD@mail.lottery.example.org>\r\n"
	"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\n"
	"X-Mailer: BulkMailer 3.1\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"\r\n"
	"Claim your prize at http://claim.prize.example.co.uk/now today\r\n"
	"--b1\r\n"
	"Content-Type: application/octet-stream; name=\"form.exe\"\r\n"
	"Content-Disposition: attachment; filename=\"form.exe\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"TVqQAAMAAAAEAAAA\r\n"
	"--b1--\r\n";

static void
test_message_tokens(void **state)
{
	static const char *const want[] = {
		"HN:from", "HN:x-mailer", "S:you", "S:have", "S:won", "S:WON", "S2:you have",
		"S2:have won", "R:from", "R:mx.sender.example", "R:sender.example",
		"R:example", "R:192.0.2.7", "R:192.0.2", "R:mx.example.net", "R:esmtp",
		"F:prize", "F:office", "FA:winner@lottery.example.org",
		"FD:lottery.example.org", "FD:example.org", "FD:org", "TD:example.net",
		"MD:mail.lottery.example.org", "MS:9.9.A", "UA:bulkmailer", "CT:multipart/mixed",
		"PT:text/plain", "PC:utf-8", "A:application/octet-stream", "AX:exe",
		"U:claim.prize.example.co.uk", "UD:example.co.uk", "claim", "your", "prize",
		"today",
	};
	/* not counted: where it went, and when */
	static const char *const unwanted[] = {
		"HN:received", "HN:date", "R:2026", "R:dec", "R:4abc", "R:ESMTP", "2:claim your",
	};
	struct msg *m = parse(MESSAGE);
	struct bayes_tokens t;
	struct buf b = BUF_INIT;
	size_t i;

	bayes_tokens_init(&t, 1000);
	t.sink = collect;
	t.sink_ctx = &b;
	bayes_token_msg(&t, m);
	buf_append_char(&b, '|');
	for (i = 0; i < N_ELEMENTS(want); i++) {
		struct buf w = BUF_INIT;

		buf_appendf(&w, "|%s|", want[i]);
		if (strstr(buf_cstr(&b), buf_cstr(&w)) == NULL &&
		    strncmp(buf_cstr(&b), buf_cstr(&w) + 1, w.len - 1) != 0)
			fail_msg("no token %s in %s", want[i], buf_cstr(&b));
		buf_deinit(&w);
	}
	for (i = 0; i < N_ELEMENTS(unwanted); i++) {
		struct buf w = BUF_INIT;

		buf_appendf(&w, "|%s|", unwanted[i]);
		if (strstr(buf_cstr(&b), buf_cstr(&w)) != NULL)
			fail_msg("unwanted token %s in %s", unwanted[i], buf_cstr(&b));
		buf_deinit(&w);
	}
	assert_false(t.truncated);
	bayes_tokens_deinit(&t);
	buf_deinit(&b);
	msg_free(&m);
}

/* the digest: the same message relayed another way (other Received, LF)
 * is the same; another body or subject is not */
static void
test_digest(void **state)
{
	const char *a = "Received: by a.example\r\nSubject: hi\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n";
	const char *b = "Received: by b.example\nReceived: by c.example\nSubject: hi\n"
			"Message-ID: <1@x>\n\nbody\n";
	const char *c = "Received: by a.example\r\nSubject: hi\r\nMessage-ID: <1@x>\r\n\r\nBody\r\n";
	const char *d = "Received: by a.example\r\nSubject: ho\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n";
	const char *texts[] = { a, b, c, d };
	unsigned char dg[4][BAYES_DIGEST_LEN];
	size_t i;

	for (i = 0; i < 4; i++) {
		struct msg *m = parse(texts[i]);

		bayes_token_digest(m, dg[i]);
		msg_free(&m);
	}
	assert_memory_equal(dg[0], dg[1], BAYES_DIGEST_LEN);
	assert_memory_not_equal(dg[0], dg[2], BAYES_DIGEST_LEN);
	assert_memory_not_equal(dg[0], dg[3], BAYES_DIGEST_LEN);
}

#define EPS 1e-9

static void
test_token_prob(void **state)
{
	static const struct {
		uint32_t s, h;
		uint64_t ns, nh;
		double want;
	} cases[] = {
		/* f(w) = (S X + n p) / (S + n), S = 0.3, X = 0.538 */
		{ 1, 0, 10, 10, 0.893384615385 },
		{ 0, 1, 10, 10, 0.124153846154 },
		{ 5, 5, 10, 20, 0.662919093851 },
		{ 30, 2, 100, 300, 0.974171759322 },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++)
		assert_float_equal(bayes_chi_token_prob(cases[i].s, cases[i].h, cases[i].ns,
							cases[i].nh),
				   cases[i].want, EPS);
	/* never seen, or nothing learned of a class: no probability */
	assert_true(bayes_chi_token_prob(0, 0, 10, 10) < 0);
	assert_true(bayes_chi_token_prob(1, 0, 10, 0) < 0);
}

static void
test_chi2q(void **state)
{
	/* 2 degrees of freedom: e^(-x/2) */
	assert_float_equal(bayes_chi2q(2.0, 1), 0.367879441171, EPS);
	assert_float_equal(bayes_chi2q(4.0, 2), 0.406005849710, EPS);
	/* the 5% point of chi-square with 4 degrees of freedom */
	assert_float_equal(bayes_chi2q(9.4877, 2), 0.050000599541, EPS);
	assert_float_equal(bayes_chi2q(300.0, 150), 0.489141770251, EPS);
	assert_float_equal(bayes_chi2q(0.0, 10), 1.0, EPS);
	/* far in the tail: 0, never negative or NaN */
	assert_true(bayes_chi2q(5000.0, 150) >= 0 && bayes_chi2q(5000.0, 150) < 1e-100);
}

static void
test_combine(void **state)
{
	const double spammy[] = { 0.99, 0.99, 0.99 }, hammy[] = { 0.01, 0.01, 0.01 };
	const double mixed[] = { 0.9, 0.1 }, uneven[] = { 0.95, 0.8, 0.2 }, middle[] = { 0.5 };

	assert_float_equal(bayes_chi_combine(10, 10, spammy, 3), 0.981451173074, EPS);
	assert_float_equal(bayes_chi_combine(10, 10, hammy, 3), 0.018548826926, EPS);
	/* symmetric evidence with equal classes: undecided */
	assert_float_equal(bayes_chi_combine(10, 10, mixed, 2), 0.5, EPS);
	assert_float_equal(bayes_chi_combine(10, 10, middle, 1), 0.5, EPS);
	/* SpamAssassin's prior: three times more ham learned */
	assert_float_equal(bayes_chi_combine(100, 300, uneven, 3), 0.788649737788, EPS);
	assert_float_equal(bayes_chi_combine(10, 10, NULL, 0), 0.5, EPS);
}

static void
test_classify(void **state)
{
	struct bayes_chi_token toks[200];
	double p = -1;
	size_t i, used;

	/* weak tokens (|f - 0.5| < 0.346) are left out, unseen ones too */
	memset(toks, 0, sizeof(toks));
	toks[0] = (struct bayes_chi_token){ .hash = 1, .spam = 5, .ham = 5 };   /* 0.5 */
	toks[1] = (struct bayes_chi_token){ .hash = 2, .spam = 0, .ham = 0 };   /* unseen */
	toks[2] = (struct bayes_chi_token){ .hash = 3, .spam = 30, .ham = 0 };  /* 0.995 */
	toks[3] = (struct bayes_chi_token){ .hash = 4, .spam = 20, .ham = 1 };  /* 0.94 */
	used = bayes_chi_classify(toks, 4, 100, 100, &p);
	assert_int_equal(used, 2);
	assert_true(toks[0].hash == 3 && toks[1].hash == 4); /* strongest first */
	{
		const double probs[] = { toks[0].prob, toks[1].prob };

		assert_float_equal(p, bayes_chi_combine(100, 100, probs, 2), EPS);
	}
	assert_true(p > 0.9);

	/* nothing significant: no probability, p untouched */
	p = -1;
	toks[0] = (struct bayes_chi_token){ .hash = 1, .spam = 5, .ham = 5 };
	assert_int_equal(bayes_chi_classify(toks, 1, 100, 100, &p), 0);
	assert_true(p == -1);

	/* at most 150 tokens, the farthest from 0.5 */
	for (i = 0; i < 200; i++)
		toks[i] = (struct bayes_chi_token){ .hash = i + 1, .spam = i < 160 ? 0 : 50,
						    .ham = i < 160 ? 50 : 1 };
	used = bayes_chi_classify(toks, 200, 100, 100, &p);
	assert_int_equal(used, BAYES_CHI_SIGNIFICANT);
	for (i = 0; i < used; i++)
		assert_true(toks[i].ham == 50); /* (0, 50) is stronger than (50, 1) */
	assert_true(p < 0.01);
}

static void
test_bands(void **state)
{
	double scores[BAYES_BANDS];
	char *error = NULL;

	assert_int_equal(bayes_plugin_band(0.0), 0);
	assert_string_equal(bayes_plugin_band_names[bayes_plugin_band(0.005)], "BAYES_00");
	assert_string_equal(bayes_plugin_band_names[bayes_plugin_band(0.03)], "BAYES_05");
	assert_string_equal(bayes_plugin_band_names[bayes_plugin_band(0.5)], "BAYES_50");
	assert_string_equal(bayes_plugin_band_names[bayes_plugin_band(0.6)], "BAYES_60");
	assert_string_equal(bayes_plugin_band_names[bayes_plugin_band(0.97)], "BAYES_95");
	/* BAYES_999 comes on top of BAYES_99, never instead */
	assert_string_equal(bayes_plugin_band_names[bayes_plugin_band(0.9999)], "BAYES_99");

	assert_int_equal(bayes_plugin_scores("-1.9 -0.5 -0.1 -0.1 0.8 5 5 5 5 1", scores, &error), 0);
	assert_float_equal(scores[0], -1.9, EPS);
	assert_float_equal(scores[9], 1.0, EPS);
	assert_int_equal(bayes_plugin_scores("1,2,3,4,5,6,7,8,9,10", scores, &error), 0);
	assert_float_equal(scores[4], 5, EPS);
	assert_int_equal(bayes_plugin_scores("1 2 3", scores, &error), -1);
	assert_non_null(strstr(error, "expected 10 numbers"));
	free(error);
	error = NULL;
	assert_int_equal(bayes_plugin_scores("1 2 3 4 5 6 7 8 9 10 11", scores, &error), -1);
	free(error);
}

static void
test_score_without_bayes(void **state)
{
	struct scan_result r;

	scan_result_init(&r);
	scan_result_add(&r, "rules", "RULE_A", 2.5, NULL);
	scan_result_add(&r, "bayes", "BAYES_99", 5, NULL);
	scan_result_add(&r, "rules", "RULE_B", -0.5, NULL);
	assert_float_equal(bayes_plugin_score_without(&r), 2.0, EPS);
	scan_result_deinit(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_message_tokens),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_token_prob),
		cmocka_unit_test(test_chi2q),
		cmocka_unit_test(test_combine),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_bands),
		cmocka_unit_test(test_score_without_bayes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
