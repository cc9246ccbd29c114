/*
 * bayes_token_fuzz.c - the Bayes tokenizer and digest on arbitrary input:
 * the whole message (parsed with the default limits) and the raw bytes as
 * text. Byte 0 picks the token bound (1 to 256, or the default).
 *
 * Invariants: at most max tokens, each hash distinct and not 0, the same
 * as bayes_token_hash() of the string the sink saw; truncated only when
 * the bound was reached; the digest is the same when computed twice.
 */
#include "msg/msg.h"
#include "plugins/bayes/bayes_token.h"
#include "core/bounds.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

FUZZ_NO_ENTROPIC

struct seen {
	struct bayes_tokens *t;
	size_t calls;
};

static void
sink(void *ctx, const char *token, size_t len)
{
	struct seen *s = ctx;

	/* called for each new token, after it was stored */
	CHECK(len > 0 && len <= 400);
	CHECK(s->t->n == s->calls + 1);
	CHECK(s->t->hashes[s->calls] == bayes_token_hash(token, len));
	s->calls++;
}

static void
check_tokens(const struct bayes_tokens *t)
{
	size_t i, j;

	CHECK(t->n <= t->max);
	CHECK(!t->truncated || t->n == t->max);
	for (i = 0; i < t->n; i++) {
		CHECK(t->hashes[i] != 0);
		for (j = 0; j < i && t->n <= 256; j++)
			CHECK(t->hashes[i] != t->hashes[j]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_limits l;
	struct bayes_tokens t;
	struct seen s;
	struct msg *m;
	unsigned char d1[BAYES_DIGEST_LEN], d2[BAYES_DIGEST_LEN];
	size_t max;

	if (size < 1)
		return 0;
	max = data[0] == 0 ? BOUND_BAYES_TOKENS : data[0];
	msg_limits_default(&l);
	m = msg_parse_mem(&l, data + 1, size - 1);
	bayes_tokens_init(&t, max);
	s = (struct seen){ &t, 0 };
	t.sink = sink;
	t.sink_ctx = &s;
	bayes_token_msg(&t, m);
	check_tokens(&t);
	CHECK(s.calls == t.n);
	bayes_tokens_deinit(&t);
	bayes_token_digest(m, d1);
	bayes_token_digest(m, d2);
	CHECK(memcmp(d1, d2, sizeof(d1)) == 0);
	msg_free(&m);

	bayes_tokens_init(&t, max);
	s = (struct seen){ &t, 0 };
	t.sink = sink;
	t.sink_ctx = &s;
	bayes_token_text(&t, "S:", "S2:", (const char *)data + 1, size - 1);
	check_tokens(&t);
	bayes_tokens_deinit(&t);
	return 0;
}
