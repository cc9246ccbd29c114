/*
 * url_test.c - URL normalisation (hosts, IDN, IP forms, escapes,
 * defanged forms, userinfo) and finding URLs in text.
 */
#include "core/buf.h"
#include "msg/url.h"

#include <setjmp.h>
#include <cmocka.h>

struct n_case {
	const char *name;
	const char *raw;
	const char *url;   /* NULL: not a URL we keep */
	const char *host;
	bool ip;
};

static const struct n_case ncases[] = {
	{ "plain", "http://example.com/a", "http://example.com/a", "example.com", false },
	{ "scheme and host lower-cased", "HTTP://WWW.Example.COM/Path", "http://www.example.com/Path", "www.example.com", false },
	{ "empty path", "https://example.com", "https://example.com/", "example.com", false },
	{ "default port dropped", "http://example.com:80/x", "http://example.com/x", "example.com", false },
	{ "other port kept", "https://example.com:8443/x", "https://example.com:8443/x", "example.com", false },
	{ "schemeless www", "www.example.com/x", "http://www.example.com/x", "www.example.com", false },
	{ "hxxp defanged", "hxxp://evil.example/x", "http://evil.example/x", "evil.example", false },
	{ "hxxps defanged", "hxxps://evil.example", "https://evil.example/", "evil.example", false },
	{ "defanged dots", "http://evil[.]example(dot)com/", "http://evil.example.com/", "evil.example.com", false },
	{ "backslashes", "http:\\\\evil.example\\a\\b", "http://evil.example/a/b", "evil.example", false },
	{ "extra slashes", "http:///evil.example/", "http://evil.example/", "evil.example", false },
	{ "userinfo is not the host", "http://paypal.com@evil.example/login", "http://paypal.com@evil.example/login", "evil.example", false },
	{ "percent-encoded host", "http://%65vil.%65xample/", "http://evil.example/", "evil.example", false },
	{ "unreserved escapes decoded", "http://e.example/%7Euser/%41%2f%3F", "http://e.example/~user/A%2F%3F", "e.example", false },
	{ "dotted IPv4", "http://192.168.1.1/", "http://192.168.1.1/", "192.168.1.1", true },
	{ "decimal IPv4", "http://3232235777/", "http://192.168.1.1/", "192.168.1.1", true },
	{ "hex IPv4", "http://0xC0A80101/", "http://192.168.1.1/", "192.168.1.1", true },
	{ "octal IPv4", "http://0300.0250.01.01/", "http://192.168.1.1/", "192.168.1.1", true },
	{ "three-part IPv4", "http://192.168.257/", "http://192.168.1.1/", "192.168.1.1", true },
	{ "IPv6 literal", "http://[2001:DB8::1]:8080/", "http://[2001:db8::1]:8080/", "[2001:db8::1]", true },
	{ "IDN punycode shown as Unicode", "http://xn--bcher-kva.example/", "http://b\xc3\xbc" "cher.example/", "b\xc3\xbc" "cher.example", false },
	{ "IDN Unicode mapped", "http://B\xc3\x9c" "CHER.example/", "http://b\xc3\xbc" "cher.example/", "b\xc3\xbc" "cher.example", false },
	{ "ideographic full stop", "http://example\xe3\x80\x82" "com/", "http://example.com/", "example.com", false },
	{ "trailing dot", "http://example.com./", "http://example.com/", "example.com", false },
	{ "space in path escaped", "http://e.example/a b", "http://e.example/a%20b", "e.example", false },
	{ "query and fragment kept", "http://e.example/p?q=%41#f", "http://e.example/p?q=A#f", "e.example", false },
	{ "mailto", "mailto:Someone@EXAMPLE.com?subject=x", "mailto:Someone@example.com", "", false },
	{ "bare address as mailto", "Someone@EXAMPLE.com", "mailto:Someone@example.com", "", false },
	{ "schemeless ftp", "ftp.example.com/pub", "ftp://ftp.example.com/pub", "ftp.example.com", false },
	{ "schemeless www2", "WWW2.example.com", "http://www2.example.com/", "www2.example.com", false },
	{ "decimal IPv4 with userinfo trick", "http://www.bank.example@3232235777/", "http://www.bank.example@192.168.1.1/", "192.168.1.1", true },
	{ "hex-dotted IPv4", "http://0xc0.0xa8.0x01.0x01/", "http://192.168.1.1/", "192.168.1.1", true },
	{ "IDN with userinfo", "http://user:pw@xn--80ak6aa92e.com/", "http://user:pw@\xd0\xb0\xd1\x80\xd1\x80\xd3\x8f\xd0\xb5.com/", "\xd0\xb0\xd1\x80\xd1\x80\xd3\x8f\xd0\xb5.com", false },
	{ "spaced-out host", "www . cheap-meds . example", "http://www.cheap-meds.example/", "www.cheap-meds.example", false },
	{ "fullwidth digits are an IPv4 host", "http://\xef\xbc\x91\xef\xbc\x92\xef\xbc\x97.0.0.1/x", "http://127.0.0.1/x", "127.0.0.1", true },
	/* UTS 46 maps U+3000 to a space: no host (url_fuzz) */
	{ "ideographic space in a host", "https:/@4\xe3\x80\x80" "1:", NULL, NULL, false },
	{ "mailto without address", "mailto:nobody", NULL, NULL, false },
	{ "javascript dropped", "javascript:alert(1)", NULL, NULL, false },
	{ "cid dropped", "cid:part1@example", NULL, NULL, false },
	{ "relative dropped", "/path/x", NULL, NULL, false },
	{ "bad host characters", "http://exa$mple.com/", NULL, NULL, false },
	{ "empty host", "http:///", NULL, NULL, false },
};

static void
test_normalise(void **state)
{
	const struct n_case *c = *state;
	struct buf url = BUF_INIT, host = BUF_INIT;
	bool ip = true, ok = url_normalise(c->raw, strlen(c->raw), &url, &host, &ip);

	if (c->url == NULL) {
		assert_false(ok);
	} else {
		assert_true(ok);
		assert_string_equal(buf_cstr(&url), c->url);
		assert_string_equal(buf_cstr(&host), c->host);
		assert_int_equal(ip, c->ip);
	}
	buf_deinit(&url);
	buf_deinit(&host);
}

struct s_case {
	const char *name;
	const char *text;
	const char *found; /* "raw;" for each */
};

static const struct s_case scases[] = {
	{ "one URL", "see http://example.com/x for more", "http://example.com/x;" },
	{ "trailing punctuation", "Go to https://e.example/a. Or (http://f.example/b), ok?", "https://e.example/a;http://f.example/b;" },
	{ "balanced parens kept", "wiki http://w.example/A_(b) end", "http://w.example/A_(b);" },
	{ "www without scheme", "visit www.example.com today", "www.example.com;" },
	{ "www inside a word is not one", "awww.example.com", "" },
	{ "defanged", "hxxp://bad.example/x and hxxps://bad2.example", "hxxp://bad.example/x;hxxps://bad2.example;" },
	{ "backslash scheme", "http:\\\\bad.example", "http:\\\\bad.example;" },
	{ "angle brackets end it", "<http://a.example/>", "http://a.example/;" },
	{ "quotes end it", "\"http://q.example/x\"", "http://q.example/x;" },
	{ "mailto", "write to mailto:a@b.example now", "mailto:a@b.example;" },
	{ "bare address", "mail john.doe+x@Mail.Example.com, or not", "john.doe+x@Mail.Example.com;" },
	{ "bare address with trailing dot", "to a_b@c-d.example.", "a_b@c-d.example;" },
	{ "no TLD, no address", "user@localhost and a@b.c1 and @x.example and a.@x.example", "" },
	{ "address after a URL", "http://h.example/ x@y.example", "http://h.example/;x@y.example;" },
	{ "userinfo stays in the URL", "http://u@h.example/p", "http://u@h.example/p;" },
	{ "schemeless ftp and www1", "get ftp.example.org/x or www1.example.net", "ftp.example.org/x;www1.example.net;" },
	{ "address right before a scheme", "x@b.example:http://h.example/", "x@b.example;http://h.example/;" },
	{ "no scheme inside an address", "x@b.hxxp://h.example/", "x@b.hxxp;" },
	{ "spaced-out host", "go to www . cheap-meds . example now", "www . cheap-meds . example;" },
	{ "spaced after the dots", "WWW. Evil. COM, today", "WWW. Evil. COM;" },
	{ "prose is no spaced host", "www. Visit us. It is www .42 and www . x", "" },
	{ "ftp scheme not doubled", "ftp://f.example/x", "ftp://f.example/x;" },
	{ "NBSP ends it", "http://n.example/\xc2\xa0next", "http://n.example/;" },
	{ "unknown scheme", "foo://x.example gopher://y", "" },
	{ "several", "http://a.example http://b.example", "http://a.example;http://b.example;" },
	{ "no URL", "just text: nothing here", "" },
};

static bool
scan_cb(void *ctx, struct view raw)
{
	struct buf *b = ctx;

	buf_append_view(b, raw);
	buf_append_char(b, ';');
	return true;
}

static void
test_scan(void **state)
{
	const struct s_case *c = *state;
	struct buf found = BUF_INIT;

	url_scan(c->text, strlen(c->text), scan_cb, &found);
	assert_string_equal(buf_cstr(&found), c->found);
	buf_deinit(&found);
}

static void
test_join(void **state)
{
	struct buf out = BUF_INIT;

	assert_true(url_join("http://h.example/a/b.html", 25, "c.html", 6, &out));
	assert_string_equal(buf_cstr(&out), "http://h.example/a/c.html");
	buf_reset(&out);
	assert_true(url_join("http://h.example/a/b.html", 25, "/root", 5, &out));
	assert_string_equal(buf_cstr(&out), "http://h.example/root");
	buf_reset(&out);
	assert_true(url_join("https://h.example", 17, "//o.example/x", 13, &out));
	assert_string_equal(buf_cstr(&out), "https://o.example/x");
	buf_reset(&out);
	assert_true(url_join("http://h.example/", 17, "ftp://f.example/", 16, &out));
	assert_string_equal(buf_cstr(&out), "ftp://f.example/");
	buf_reset(&out);
	assert_false(url_join("not a url", 9, "x", 1, &out));
	buf_deinit(&out);
}

static void
test_ipv4(void **state)
{
	uint32_t a;

	assert_true(url_ipv4("1.2.3.4", 7, &a));
	assert_int_equal(a, 0x01020304);
	assert_true(url_ipv4("0x7f.1", 6, &a));
	assert_int_equal(a, 0x7f000001);
	assert_false(url_ipv4("256.1.1.1", 9, &a));
	assert_false(url_ipv4("1.2.3.4.5", 9, &a));
	assert_false(url_ipv4("1..2", 4, &a));
	assert_false(url_ipv4("08.1.1.1", 8, &a));
	assert_false(url_ipv4("4294967296", 10, &a));
	assert_false(url_ipv4("example.com", 11, &a));
}

int
main(void)
{
	struct CMUnitTest tests[N_ELEMENTS(ncases) + N_ELEMENTS(scases) + 2];
	size_t i, n = 0;

	for (i = 0; i < N_ELEMENTS(ncases); i++)
		tests[n++] = (struct CMUnitTest){ ncases[i].name, test_normalise, NULL, NULL, (void *)&ncases[i] };
	for (i = 0; i < N_ELEMENTS(scases); i++)
		tests[n++] = (struct CMUnitTest){ scases[i].name, test_scan, NULL, NULL, (void *)&scases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_join);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ipv4);
	return _cmocka_run_group_tests("url", tests, n, NULL, NULL);
}
