/*
 * smtp_addr_fuzz.c - MAIL/RCPT argument parser and xtext on arbitrary
 * bytes. Byte 0 picks MAIL or RCPT; the rest is the argument.
 *
 * Invariants: views point into the argument; a parsed path is bounded,
 * free of control characters, local "@" domain (or RCPT postmaster, or
 * the MAIL null path); has_utf8 tells the truth; parameters obey their
 * grammar, are unique and bounded; rebuilding "FROM:<path> params"
 * parses to the same; xtext decode(encode(x)) == x.
 */
#include "core/buf.h"
#include "smtp/smtp_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "check failed: %s (line %d)\n",  \
				#cond, __LINE__);                        \
			abort();                                         \
		}                                                        \
	} while (0)

static bool
inside(struct view v, struct view arg)
{
	return v.p >= arg.p && v.p + v.len <= arg.p + arg.len;
}

static void
check_params(const struct smtp_path_args *a, struct view arg)
{
	size_t i, k;
	int rc;

	CHECK(a->nparams <= BOUND_ESMTP_PARAMS);
	for (i = 0; i < a->nparams; i++) {
		const struct smtp_param *p = &a->params[i];

		CHECK(p->keyword.len > 0 && inside(p->keyword, arg));
		for (k = 0; k < p->keyword.len; k++) {
			unsigned char c = (unsigned char)p->keyword.p[k];

			CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (k > 0 && ((c >= '0' && c <= '9') || c == '-')));
		}
		if (p->value.p != NULL) {
			CHECK(p->value.len > 0 && inside(p->value, arg));
			for (k = 0; k < p->value.len; k++) {
				unsigned char c = (unsigned char)p->value.p[k];

				CHECK(c >= 33 && c <= 126 && c != '=');
			}
		}
		for (k = 0; k < i; k++)
			CHECK(!view_eq_nocase(a->params[k].keyword, p->keyword));
		rc = smtp_param_check(p);
		CHECK(rc >= -1 && rc <= 1);
	}
}

static void
check_path(enum smtp_path_kind kind, const struct smtp_path_args *a,
	   struct view arg)
{
	bool utf8 = false;
	size_t i;

	CHECK(a->path.len <= BOUND_PATH);
	if (a->null_path) {
		CHECK(kind == SMTP_PATH_MAIL);
		CHECK(a->path.len == 0 && a->local.len == 0 && a->domain.len == 0);
		CHECK(!a->has_utf8);
		return;
	}
	CHECK(inside(a->path, arg) && inside(a->local, arg) &&
	      inside(a->domain, arg));
	CHECK(a->local.len > 0 && a->local.p == a->path.p);
	if (a->domain.len == 0) {
		/* <Postmaster>, or an unqualified address: taken as Postfix
		 * takes them (its restrictions decide) */
		CHECK(a->path.len == a->local.len);
	} else {
		CHECK(a->path.len == a->local.len + 1 + a->domain.len);
		CHECK(a->path.p[a->local.len] == '@');
	}
	for (i = 0; i < a->path.len; i++) {
		unsigned char c = (unsigned char)a->path.p[i];

		CHECK(c >= 0x20 && c != 0x7f);
		if (c >= 0x80)
			utf8 = true;
	}
	CHECK(utf8 == a->has_utf8);
}

static void
check_reparse(enum smtp_path_kind kind, const struct smtp_path_args *a)
{
	struct buf b = BUF_INIT;
	struct smtp_path_args a2;
	enum smtp_addr_error kind2;
	const char *error;
	size_t i;

	buf_append_str(&b, kind == SMTP_PATH_MAIL ? "FROM:<" : "TO:<");
	buf_append_view(&b, a->path);
	buf_append_char(&b, '>');
	for (i = 0; i < a->nparams; i++) {
		buf_append_char(&b, ' ');
		buf_append_view(&b, a->params[i].keyword);
		if (a->params[i].value.p != NULL) {
			buf_append_char(&b, '=');
			buf_append_view(&b, a->params[i].value);
		}
	}
	CHECK(smtp_addr_parse(kind, view_from_buf(&b), &a2, &kind2, &error) == 0);
	CHECK(view_eq(a2.path, a->path) && view_eq(a2.local, a->local) &&
	      view_eq(a2.domain, a->domain));
	CHECK(a2.null_path == a->null_path && a2.has_utf8 == a->has_utf8);
	CHECK(a2.nparams == a->nparams);
	buf_deinit(&b);
}

static void
check_xtext(struct view v)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT, enc2 = BUF_INIT;

	smtp_xtext_encode(&enc, v);
	CHECK(smtp_xtext_is_valid(view_from_buf(&enc)));
	CHECK(smtp_xtext_decode(&dec, view_from_buf(&enc)) == 0);
	CHECK(dec.len == v.len && (v.len == 0 || memcmp(dec.data, v.p, v.len) == 0));
	buf_reset(&dec);
	if (smtp_xtext_is_valid(v)) {
		CHECK(smtp_xtext_decode(&dec, v) == 0);
		CHECK(dec.len <= v.len);
		smtp_xtext_encode(&enc2, view_from_buf(&dec));
		CHECK(smtp_xtext_is_valid(view_from_buf(&enc2)));
	} else {
		CHECK(smtp_xtext_decode(&dec, v) == -1);
		CHECK(dec.len == 0);
	}
	buf_deinit(&enc);
	buf_deinit(&dec);
	buf_deinit(&enc2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum smtp_path_kind kind;
	struct smtp_path_args a;
	enum smtp_addr_error err = (enum smtp_addr_error)-1;
	const char *error = NULL;
	struct view arg;
	size_t i;
	int rc;

	if (size < 1)
		return 0;
	kind = data[0] & 1 ? SMTP_PATH_RCPT : SMTP_PATH_MAIL;
	arg = (struct view){ (const char *)data + 1, size - 1 };

	rc = smtp_addr_parse(kind, arg, &a, &err, &error);
	if (rc == 0) {
		CHECK(err == SMTP_ADDR_OK);
		check_path(kind, &a, arg);
		check_params(&a, arg);
		for (i = 0; i < a.nparams; i++) {
			char kw[64];
			size_t n = MIN(a.params[i].keyword.len, sizeof(kw) - 1);

			memcpy(kw, a.params[i].keyword.p, n);
			kw[n] = '\0';
			if (n == a.params[i].keyword.len)
				CHECK(smtp_addr_find_param(&a, kw) == &a.params[i]);
		}
		check_reparse(kind, &a);
	} else {
		CHECK(rc == -1);
		CHECK(err == SMTP_ADDR_ERR_SYNTAX || err == SMTP_ADDR_ERR_ADDRESS ||
		      err == SMTP_ADDR_ERR_PARAMS);
		CHECK(error != NULL && error[0] != '\0');
	}
	check_xtext(arg);
	return 0;
}
