/*
 * msg_test.c - the message model as scanners see it: parts, file names,
 * decoded bodies and text, URLs, headers and addresses, the readings of
 * ambiguous messages, encoded messages parsed again, limits, spools, and
 * the [mime] configuration.
 */
#include "core/buf.h"
#include "msg/msg.h"
#include "conf/conf.h"

#include <setjmp.h>
#include <cmocka.h>
#include <time.h>
#include <unistd.h>

static struct msg *
parse(const char *s)
{
	struct msg_limits l;

	msg_limits_default(&l);
	return msg_parse_mem(&l, s, strlen(s));
}

static const struct msg_part *
part(const struct msg *m, size_t reading, size_t i)
{
	assert_true(reading < m->nreadings);
	assert_true(i < m->readings[reading].nparts);
	assert_int_equal(m->readings[reading].parts[i]->index, i);
	return m->readings[reading].parts[i];
}

static void
test_typical_message(void **state)
{
	static const char in[] =
		"From: =?utf-8?q?J=C3=B6rg?= <jorg@Example.COM>\r\n"
		"To: a@x.example, \"B, C\" <bc@y.example>\r\n"
		"Subject: =?iso-8859-1?q?R=E9sum=E9?=\r\n"
		"Received: one\r\n"
		"received: two\r\n"
		"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
		"\r\n"
		"--outer\r\n"
		"Content-Type: multipart/alternative; boundary=inner\r\n"
		"\r\n"
		"--inner\r\n"
		"Content-Type: text/plain; charset=iso-8859-1\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n"
		"\r\n"
		"Caf=E9 at www.example.org/menu.\r\n"
		"--inner\r\n"
		"Content-Type: text/html; charset=utf-8\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"\r\n"
		"PHA+Q2FmJmVhY3V0ZTsgPGEgaHJlZj0iaHR0cDovL0VYQU1QTEUuY29tL20iPm1lbnU8L2E+PC9w\r\n"
		"Pg==\r\n"
		"--inner--\r\n"
		"--outer\r\n"
		"Content-Type: application/octet-stream; name=\"fallback.bin\"\r\n"
		"Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.exe\r\n"
		"Content-ID: <id1@x>\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"\r\n"
		"TVqQAA==\r\n"
		"--outer--\r\n";
	struct msg *m = parse(in);
	const struct msg_part *p;
	const struct msg_header *h;
	struct msg_address *addrs = NULL;
	size_t n;

	assert_int_equal(m->nreadings, 1);
	assert_int_equal(m->readings[0].nparts, 5);
	assert_int_equal(m->size, sizeof(in) - 1);
	p = part(m, 0, 0);
	assert_string_equal(p->type, "multipart");
	assert_string_equal(p->boundary, "outer");
	assert_int_equal(p->nchildren, 2);
	p = part(m, 0, 2);
	assert_string_equal(p->subtype, "plain");
	assert_string_equal(p->charset, "iso-8859-1");
	assert_int_equal(p->cte, MSG_CTE_QP);
	assert_string_equal(buf_cstr(&p->decoded), "Caf\xe9 at www.example.org/menu.");
	assert_string_equal(buf_cstr(&p->text), "Caf\xc3\xa9 at www.example.org/menu.");
	assert_ptr_equal(p->parent, part(m, 0, 1));
	assert_int_equal(p->depth, 2);
	p = part(m, 0, 3);
	assert_string_equal(p->subtype, "html");
	assert_string_equal(buf_cstr(&p->text), "Caf\xc3\xa9 menu\n");
	p = part(m, 0, 4);
	assert_true(p->is_attachment);
	assert_int_equal(p->nfilenames, 2);
	assert_string_equal(msg_part_filename(p), "\xe2\x82\xac.exe");
	assert_string_equal(p->filenames[1], "fallback.bin");
	assert_string_equal(p->content_id, "id1@x");
	assert_int_equal(p->decoded.len, 4);
	assert_memory_equal(p->decoded.data, "MZ\x90\0", 4);
	assert_int_equal(p->text.len, 0);
	/* body offsets point at the body in the message */
	assert_memory_equal(in + p->body_offset, "TVqQAA==", 8);
	/* the CRLF before the delimiter belongs to the delimiter */
	assert_int_equal(p->body_end - p->body_offset, 8);

	/* URLs: text and href, normalised, in part order */
	assert_int_equal(m->nurls, 2);
	assert_string_equal(m->urls[0].url, "http://www.example.org/menu");
	assert_int_equal(m->urls[0].source, MSG_URL_TEXT);
	assert_int_equal(m->urls[0].part, 2);
	assert_string_equal(m->urls[1].url, "http://example.com/m");
	assert_string_equal(m->urls[1].host, "example.com");
	assert_string_equal(m->urls[1].raw, "http://EXAMPLE.com/m");
	assert_string_equal(m->urls[1].link_text, "menu");
	assert_int_equal(m->urls[1].source, MSG_URL_HREF);

	/* headers */
	assert_int_equal(m->nheaders, 6);
	assert_int_equal(msg_header_count(m, "RECEIVED"), 2);
	assert_string_equal(msg_header_get(m, "received", 1)->value, "two");
	assert_null(msg_header_get(m, "received", 2));
	h = msg_header_get(m, "subject", 0);
	assert_string_equal(h->value, "=?iso-8859-1?q?R=E9sum=E9?=");
	assert_string_equal(h->decoded, "R\xc3\xa9sum\xc3\xa9");
	assert_true(h->raw.p >= m->raw_headers.data &&
		    h->raw.p + h->raw.len <= m->raw_headers.data + m->raw_headers.len);
	assert_memory_equal(h->raw.p, "Subject: =?iso", 14);
	assert_int_equal(h->offset, (uint64_t)(strstr(in, "Subject:") - in));
	n = msg_header_addresses(m, msg_header_get(m, "from", 0), &addrs);
	assert_int_equal(n, 1);
	assert_string_equal(addrs[0].display, "J\xc3\xb6rg");
	assert_string_equal(addrs[0].domain, "example.com");
	msg_addresses_free(&addrs, n);
	n = msg_header_addresses(m, msg_header_get(m, "to", 0), &addrs);
	assert_int_equal(n, 2);
	assert_string_equal(addrs[1].display, "B, C");
	msg_addresses_free(&addrs, n);
	assert_int_equal(m->flags & ~(unsigned int)MSG_FLAG_BARE_LF, 0);
	msg_free(&m);
	assert_null(m);
}

struct visit {
	unsigned int count;
	unsigned int readings[16];
	const char *types[16];
};

static bool
visit_cb(void *ctx, const struct msg *m, unsigned int reading, const struct msg_part *p)
{
	struct visit *v = ctx;

	if (v->count < 16) {
		v->readings[v->count] = reading;
		v->types[v->count] = p->subtype;
	}
	v->count++;
	return true;
}

/* the ClamAV evasion: boundary=X; boundary=Y. Both readings are kept; the
 * attachment is in reading 1; foreach visits shared parts once */
static void
test_two_boundaries(void **state)
{
	static const char in[] =
		"Content-Type: multipart/mixed; boundary=X; boundary=Y\n\n"
		"--X\nContent-Type: text/plain\n\nharmless\n--X--\n"
		"--Y\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
		"TVqQAA==\n--Y--\n";
	struct msg *m = parse(in);
	struct visit v = { 0 };

	assert_int_equal(m->nreadings, 2);
	assert_true(m->flags & MSG_FLAG_TWO_BOUNDARIES);
	assert_string_equal(part(m, 0, 1)->subtype, "plain");
	assert_string_equal(part(m, 1, 1)->subtype, "octet-stream");
	assert_memory_equal(part(m, 1, 1)->decoded.data, "MZ\x90\0", 4);
	msg_foreach_part(m, visit_cb, &v);
	/* r0: multipart, text; r1: multipart (different preamble and
	 * boundary, but byte for byte the same body: once), attachment */
	assert_int_equal(v.count, 3);
	assert_int_equal(v.readings[2], 1);
	assert_string_equal(v.types[2], "octet-stream");
	msg_free(&m);
}

/* a message/rfc822 in base64: decoded and parsed again */
static void
test_encoded_message(void **state)
{
	static const char in[] =
		"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
		"U3ViamVjdDogaW5uZXIKQ29udGVudC1UeXBlOiB0ZXh0L3BsYWluCgpoZWxsbyBodHRwOi8vaW5u\n"
		"ZXIuZXhhbXBsZS8K\n";
	struct msg *m = parse(in);
	const struct msg_part *inner;

	assert_int_equal(m->readings[0].nparts, 2);
	inner = part(m, 0, 1);
	assert_ptr_equal(inner->parent, part(m, 0, 0));
	assert_ptr_equal(inner->offset_base, part(m, 0, 0));
	assert_string_equal(inner->headers[0].decoded, "inner");
	assert_string_equal(buf_cstr(&inner->text), "hello http://inner.example/\n");
	assert_int_equal(m->nurls, 1);
	assert_int_equal(m->urls[0].part, 1);
	msg_free(&m);
}

/* a multipart whose body is base64: the delimiters appear only decoded */
static void
test_encoded_multipart(void **state)
{
	static const char in[] =
		"Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n"
		"LS1iCkNvbnRlbnQtVHlwZTogdGV4dC9odG1sCgo8cD5oaWRkZW48L3A+Ci0tYi0tCg==\n";
	struct msg *m = parse(in);

	assert_true(m->flags & MSG_FLAG_BOUNDARY_IN_BASE64);
	assert_int_equal(m->nreadings, 2);
	assert_int_equal(m->readings[0].nparts, 1);
	assert_int_equal(m->readings[1].nparts, 2);
	assert_string_equal(part(m, 1, 1)->subtype, "html");
	assert_string_equal(buf_cstr(&part(m, 1, 1)->text), "hidden\n");
	msg_free(&m);
}

/* an inline uuencoded file becomes a part of its own */
static void
test_inline_uuencode(void **state)
{
	static const char in[] = "Subject: uu\n\nsee attached\n\nbegin 644 run.exe\n#86)C\n`\nend\n\nbye\n";
	struct msg *m = parse(in);
	const struct msg_part *t = part(m, 0, 0), *f;

	assert_int_equal(m->readings[0].nparts, 2);
	f = part(m, 0, 1);
	assert_ptr_equal(f->parent, t);
	assert_ptr_equal(f->offset_base, t);
	assert_string_equal(msg_part_filename(f), "run.exe");
	assert_true(f->is_attachment);
	assert_string_equal(buf_cstr(&f->decoded), "abc");
	assert_string_equal(buf_cstr(&t->text), "see attached\n\n\nbye\n");
	msg_free(&m);
}

static void
test_limits(void **state)
{
	struct msg_limits l;
	struct buf in = BUF_INIT;
	struct msg *m;
	int i;

	msg_limits_default(&l);
	l.decoded_part = 10;
	l.text_part = 5;
	l.urls = 3;
	buf_append_str(&in, "Subject: x\n\n");
	for (i = 0; i < 10; i++)
		buf_appendf(&in, "http://h%d.example/\n", i);
	m = msg_parse_mem(&l, in.data, in.len);
	assert_int_equal(part(m, 0, 0)->decoded.len, 10);
	assert_int_equal(part(m, 0, 0)->text.len, 5);
	assert_true(m->flags & MSG_FLAG_LIMIT_DECODED);
	assert_true(m->flags & MSG_FLAG_LIMIT_TEXT);
	msg_free(&m);

	/* URLs past the limit */
	msg_limits_default(&l);
	l.urls = 3;
	m = msg_parse_mem(&l, in.data, in.len);
	assert_int_equal(m->nurls, 3);
	assert_true(m->flags & MSG_FLAG_LIMIT_URLS);
	msg_free(&m);

	/* one reading only */
	msg_limits_default(&l);
	l.readings = 1;
	m = msg_parse_mem(&l, "Content-Type: text/plain\nContent-Type: text/html\n\nx", 50);
	assert_int_equal(m->nreadings, 1);
	assert_true(m->flags & MSG_FLAG_LIMIT_READINGS);
	msg_free(&m);
	buf_deinit(&in);
}

/* the same message from a spool in memory and on file */
static void
test_spool(void **state)
{
	char dir[] = "/tmp/mxmoat-msg-test.XXXXXX";
	static const char in[] = "Subject: spool\r\nContent-Type: text/html\r\n\r\n<b>bold</b> http://s.example/\r\n";
	const char *error = NULL;
	uint64_t limits[] = { 1 << 20, 8 };
	size_t k;

	assert_non_null(mkdtemp(dir));
	for (k = 0; k < N_ELEMENTS(limits); k++) {
		struct spool *s = spool_new(dir, limits[k]);
		struct msg *m = NULL;
		size_t i;

		for (i = 0; i < sizeof(in) - 1; i += 7)
			assert_int_equal(spool_write(s, in + i, MIN(7, sizeof(in) - 1 - i), &error), 0);
		assert_int_equal(spool_finish(s, &error), 0);
		assert_int_equal(spool_in_memory(s), k == 0);
		assert_int_equal(msg_parse(NULL, s, &m, &error), 0);
		assert_int_equal(m->size, sizeof(in) - 1);
		assert_string_equal(buf_cstr(&part(m, 0, 0)->text), "bold http://s.example/\n");
		assert_string_equal(msg_header_get(m, "subject", 0)->value, "spool");
		assert_int_equal(m->raw_headers.len, strlen("Subject: spool\r\nContent-Type: text/html\r\n\r\n"));
		assert_int_equal(m->nurls, 1);
		msg_free(&m);
		spool_free(&s);
	}
	rmdir(dir);
}

/* the [mime] defaults of the configuration are bounds.h's */
static void
test_conf_defaults(void **state)
{
	struct msg_limits a, b;
	struct conf *c = NULL;
	char *error = NULL;

	assert_int_equal(conf_load(NULL, &c, &error), 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	msg_limits_default(&a);
	msg_limits_from_conf(c, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	conf_unref(&c);
	assert_int_equal(conf_load_string("t.conf", "[mime]\nmax_parts = 7\nmax_header_size = 1K\n", 42,
					  &c, &error), 0);
	msg_limits_from_conf(c, &b);
	assert_int_equal(b.parts, 7);
	assert_int_equal(b.header_block, 1024);
	conf_unref(&c);
}

static void
test_flag_names(void **state)
{
	unsigned int bit, i = 0;
	const char *names[32];

	for (bit = 1; bit != 0 && bit <= MSG_FLAG_BAD_PARAMS; bit <<= 1) {
		const char *n = msg_flag_name((enum msg_flag)bit);
		unsigned int k;

		assert_string_not_equal(n, "unknown");
		for (k = 0; k < i; k++)
			assert_string_not_equal(names[k], n);
		names[i++] = n;
	}
	assert_string_equal(msg_flag_name(MSG_FLAG_LIMIT_READINGS), "limit-readings");
}

/* bare CRs: the reading of clients that end lines there is kept too, so
 * the attachment hidden behind CR-only delimiters is seen */
static void
test_bare_cr_reading(void **state)
{
	static const char in[] = "Content-Type: multipart/mixed; boundary=b\n\nx\r--b\r"
				 "Content-Type: application/octet-stream; name=\"a.exe\"\r\rMZ\r--b--\r";
	struct msg *m = parse(in);

	assert_true(m->flags & MSG_FLAG_BARE_CR);
	assert_int_equal(m->nreadings, 2);
	assert_int_equal(m->readings[0].nparts, 1);
	assert_int_equal(m->readings[1].nparts, 2);
	assert_string_equal(msg_part_filename(part(m, 1, 1)), "a.exe");
	assert_string_equal(buf_cstr(&part(m, 1, 1)->decoded), "MZ");
	msg_free(&m);
	/* a CR that changes nothing: one reading */
	m = parse("Subject: x\n\nline one\rstill one\n");
	assert_true(m->flags & MSG_FLAG_BARE_CR);
	assert_int_equal(m->nreadings, 1);
	msg_free(&m);
}

/* URLs in text as SpamAssassin's uri rules see them: bare addresses as
 * mailto:, schemeless www./ftp. hosts, obfuscated hosts normalised */
static void
test_text_urls(void **state)
{
	static const char in[] = "Subject:\n folded\n\nWrite to Sales@Example.COM or see\n"
				 "www.shop.example, hxxp://0x7f.1/x and http://bank.example@evil.example/\n";
	struct msg *m = parse(in);
	const char *want[] = { "mailto:Sales@example.com", "http://www.shop.example/",
			       "http://127.0.0.1/x", "http://bank.example@evil.example/" };
	size_t i;

	assert_string_equal(msg_header_get(m, "subject", 0)->value, "folded");
	assert_int_equal(m->nurls, N_ELEMENTS(want));
	for (i = 0; i < N_ELEMENTS(want); i++)
		assert_string_equal(m->urls[i].url, want[i]);
	assert_true(m->urls[2].host_is_ip);
	assert_string_equal(m->urls[3].host, "evil.example");
	msg_free(&m);
}

/* time stays linear in the input on shapes that make naive parsers
 * quadratic: 8 times the input must not cost much more than 8 times the
 * time (quadratic work would cost 64 times); CPU time of this process,
 * the best of three runs, so a loaded machine does not decide it */
struct shape {
	const char *name;
	const char *head; /* once */
	const char *unit; /* repeated */
};

static const struct shape shapes[] = {
	{ "many header fields", "", "X-A: b\n" },
	{ "one folded header", "Subject: x\n", " folded line\n" },
	{ "many Content-Type fields", "", "Content-Type: text/plain; charset=x\n" },
	{ "many encoded words", "Subject: ", "=?utf-8?q?=C3=A9?= " },
	{ "many RFC 2231 sections", "Content-Type: text/plain; n*0=x", "; n*1=y" },
	{ "deep multiparts", "", "Content-Type: multipart/mixed; boundary=b\n\n--b\n" },
	{ "many parts", "Content-Type: multipart/mixed; boundary=b\n\n", "--b\n\nx\n" },
	{ "delimiter-like lines", "Content-Type: multipart/mixed; boundary=bb\n\n--bb\n\n", "--b\n--bbx\n" },
	{ "boundaries in base64", "Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n",
	  "LS1iCgp4Cg==\n" },
	{ "at signs", "\n", "a@b@" },
	{ "long local parts", "\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@" },
	{ "URL starts", "\n", "http://www.www.ftp.:" },
	{ "HTML tags", "Content-Type: text/html\n\n", "<a href=http://a.example/><div style=\"display:none\">" },
	{ "HTML unclosed comment", "Content-Type: text/html\n\n<!--", "<p>&amp;x" },
	{ "HTML unclosed tag", "Content-Type: text/html\n\n<a href=\"", "<b x=1 " },
	{ "bare CRs", "Content-Type: multipart/mixed; boundary=b\n\n", "--b\rx\r" },
	{ "uuencode starts", "\n", "begin 644 a\n#86)C\n" },
	{ "uuencode begin lines", "\n", "begin 644 a\n#86)C" },
	{ "HTML comments", "Content-Type: text/html\n\n", "<!-- c -->x" },
};

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
time_shape(const struct shape *sh, size_t size)
{
	struct buf in = BUF_INIT;
	double best = 1e9;
	int run;

	buf_append_str(&in, sh->head);
	while (in.len < size)
		buf_append_str(&in, sh->unit);
	for (run = 0; run < 3; run++) {
		double t0 = cpu_now(), t;
		struct msg *m = msg_parse_mem(NULL, in.data, in.len);

		msg_free(&m);
		t = cpu_now() - t0;
		if (t < best)
			best = t;
	}
	buf_deinit(&in);
	return best;
}

static void
test_linear_time(void **state)
{
	size_t i;

	for (i = 0; i < N_ELEMENTS(shapes); i++) {
		double t1 = time_shape(&shapes[i], 128 * 1024);
		double t8 = time_shape(&shapes[i], 1024 * 1024);

		print_message("%-26s 128 KiB %.4f s, 1 MiB %.4f s (x%.1f)\n", shapes[i].name, t1, t8,
			      t1 > 0 ? t8 / t1 : 0.0);
		if (t8 > 24 * t1 + 0.01)
			fail_msg("%s: 128 KiB in %.4f s, 1 MiB in %.4f s", shapes[i].name, t1, t8);
	}
}

/* garbage in: still a message, flagged, never NULL */
static void
test_garbage(void **state)
{
	static const char in[] = "\0\r\r\n--\n:\n\n\xff\xfe";
	struct msg *m = msg_parse_mem(NULL, in, sizeof(in) - 1);

	assert_non_null(m);
	assert_int_equal(m->nreadings >= 1, 1);
	assert_non_null(m->readings[0].root);
	msg_free(&m);
	m = msg_parse_mem(NULL, NULL, 0);
	assert_int_equal(m->readings[0].nparts, 1);
	msg_free(&m);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typical_message),
		cmocka_unit_test(test_two_boundaries),
		cmocka_unit_test(test_encoded_message),
		cmocka_unit_test(test_encoded_multipart),
		cmocka_unit_test(test_inline_uuencode),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_spool),
		cmocka_unit_test(test_conf_defaults),
		cmocka_unit_test(test_flag_names),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_bare_cr_reading),
		cmocka_unit_test(test_text_urls),
		cmocka_unit_test(test_linear_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
