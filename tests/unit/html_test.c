/*
 * html_test.c - HTML to text: tags, white space, entities, hidden text,
 * links, base href, limits.
 */
#include "core/buf.h"
#include "msg/html.h"

#include <setjmp.h>
#include <cmocka.h>

struct h_case {
	const char *name;
	const char *in;
	const char *text;    /* visible text */
	const char *hidden;  /* hidden text */
	const char *links;   /* "K:url|text;" for every link, K = H/S/O */
};

static const struct h_case cases[] = {
	{ "tags stripped", "<p>Hello <b>world</b></p>", "Hello world\n", "", "" },
	{ "white space collapsed", "a \n\t b   c", "a b c\n", "", "" },
	{ "br and blocks break lines", "one<br>two<div>three</div>four", "one\ntwo\nthree\nfour\n", "", "" },
	{ "table cells spaced", "<table><tr><td>a</td><td>b</td></tr></table>", "a b\n", "", "" },
	{ "no space inside a word", "<td>a<b>b</b>c</td>", "abc\n", "", "" },
	{ "pre keeps white space", "<pre>a  b\n c</pre>", "a  b\n c\n", "", "" },
	{ "named entities", "&lt;&amp;&gt; &quot;&apos; &eacute;&nbsp;&euro;", "<&> \"' \xc3\xa9\xc2\xa0\xe2\x82\xac\n", "", "" },
	{ "legacy entity without semicolon", "AT&T &copy 2024 &ampx", "AT&T \xc2\xa9 2024 &x\n", "", "" },
	{ "numeric entities", "&#65;&#x42;&#X43; &#128; &#0; &#x110000;", "ABC \xe2\x82\xac \xef\xbf\xbd \xef\xbf\xbd\n", "", "" },
	{ "two-code-point entity", "&NotEqualTilde;", "\xe2\x89\x82\xcc\xb8\n", "", "" },
	{ "unknown entity kept", "&nosuch; & x", "&nosuch; & x\n", "", "" },
	{ "script and style dropped", "a<script>var x='<b>';</script>b<style>p{}</style>c", "abc\n", "", "" },
	{ "comments dropped", "a<!-- <p>hidden</p> -->b<!DOCTYPE html>c", "abc\n", "", "" },
	{ "title dropped", "<head><title>T</title></head><body>B</body>", "B\n", "", "" },
	{ "display none hidden", "Buy <span style=\"display: none\">xyzzy</span>now", "Buy now\n", "xyzzy\n", "" },
	{ "visibility hidden", "<div style='VISIBILITY:hidden'>secret</div>shown", "shown\n", "secret\n", "" },
	{ "zero font size", "<font style=\"font-size:0px\">tiny</font>big", "big\n", "tiny\n", "" },
	{ "one pixel font", "<span style=\"font-size: 1px\">tiny</span>big", "big\n", "tiny\n", "" },
	{ "white on white", "<font color=\"#FFFFFF\">ghost</font>text", "text\n", "ghost\n", "" },
	{ "same colour as background", "<div style=\"background-color:#000;color:black\">ghost</div>ok", "ok\n", "ghost\n", "" },
	{ "near colour as background", "<body bgcolor=\"#ffffff\"><span style=\"color:#fefefe\">ghost</span>ok</body>", "ok\n", "ghost\n", "" },
	{ "dark text visible", "<span style=\"color:#333\">dark</span>", "dark\n", "", "" },
	{ "mso-hide", "<span style=\"mso-hide:all\">preheader</span>body", "body\n", "preheader\n", "" },
	{ "zero height overflow hidden", "<div style=\"max-height:0;overflow:hidden\">pre</div>x", "x\n", "pre\n", "" },
	{ "hidden attribute", "<p hidden>h</p>v", "v\n", "h\n", "" },
	{ "opacity zero", "<span style=\"opacity:0\">o</span>v", "v\n", "o\n", "" },
	{ "nested hidden inherits", "<div style=\"display:none\"><p>a <b>b</b></p></div>c", "c\n", "a b\n", "" },
	{ "link with text", "<a href=\"http://example.com/x\">Click <b>here</b></a>", "Click here\n", "",
	  "H:http://example.com/x|Click here;" },
	{ "entity in href", "<a href=\"http://e.com/?a=1&amp;b=2\">x</a>", "x\n", "", "H:http://e.com/?a=1&b=2|x;" },
	{ "unclosed a ends at the next a", "<a href=\"http://a.example/\">one<a href=\"http://b.example/\">two", "onetwo\n", "",
	  "H:http://a.example/|one;H:http://b.example/|two;" },
	{ "img src", "<img src=\"http://img.example/p.gif\" alt=\"x\">", "", "", "S:http://img.example/p.gif|;" },
	{ "background and css url", "<td background=\"http://bg.example/a.png\" style=\"background:url('http://css.example/b.png')\">x</td>",
	  "x\n", "", "S:http://bg.example/a.png|;S:http://css.example/b.png|;" },
	{ "form action and meta refresh", "<form action=\"http://f.example/post\"></form><meta http-equiv=refresh content=\"0; url=http://r.example/\">",
	  "", "", "O:http://f.example/post|;O:http://r.example/|;" },
	{ "relative link without base dropped", "<a href=\"/path\">p</a><a href=\"#top\">t</a>", "pt\n", "", "" },
	{ "relative link with base", "<base href=\"http://base.example/dir/page.html\"><a href=\"sub/x\">r</a><a href=\"/abs\">a</a>",
	  "ra\n", "", "H:http://base.example/dir/sub/x|r;H:http://base.example/abs|a;" },
	{ "mailto link", "<a href=\"mailto:x@example.com\">mail</a>", "mail\n", "", "H:mailto:x@example.com|mail;" },
	{ "protocol-relative src without base", "<img src=\"//img.example/p.gif\">", "", "", "S:http://img.example/p.gif|;" },
	{ "tabs and newlines in href dropped", "<a href=\" ht&#9;tp:/\n/ev&#x0A;il.example/\">x</a>", "x\n", "",
	  "H:http://evil.example/|x;" },
	{ "unquoted attribute", "<a href=http://u.example/q>u</a>", "u\n", "", "H:http://u.example/q|u;" },
	{ "lone less-than", "a < b and c<", "a < b and c<\n", "", "" },
	{ "gt inside quoted attribute", "<a title=\"1 > 0\" href=\"http://g.example/\">g</a>", "g\n", "", "H:http://g.example/|g;" },
	{ "upper-case tags", "<P>X<BR>Y</P>", "X\nY\n", "", "" },
	{ "unterminated tag still links", "text<a href=\"http://e.example", "text\n", "", "H:http://e.example|;" },
	{ "empty", "", "", "", "" },
};

static bool
link_cb(void *ctx, enum html_link_kind kind, struct view url, struct view text)
{
	struct buf *b = ctx;

	buf_append_char(b, kind == HTML_LINK_HREF ? 'H' : kind == HTML_LINK_SRC ? 'S' : 'O');
	buf_append_char(b, ':');
	buf_append_view(b, url);
	buf_append_char(b, '|');
	buf_append_view(b, text);
	buf_append_char(b, ';');
	return true;
}

static void
test_case(void **state)
{
	const struct h_case *c = *state;
	struct buf text = BUF_INIT, hidden = BUF_INIT, links = BUF_INIT;
	unsigned int r = html_to_text(c->in, strlen(c->in), &text, &hidden, 0, link_cb, &links);

	assert_string_equal(buf_cstr(&text), c->text);
	assert_string_equal(buf_cstr(&hidden), c->hidden);
	assert_string_equal(buf_cstr(&links), c->links);
	assert_int_equal((r & HTML_R_HIDDEN) != 0, c->hidden[0] != '\0');
	buf_deinit(&text);
	buf_deinit(&hidden);
	buf_deinit(&links);
}

static bool
stop_cb(void *ctx, enum html_link_kind kind, struct view url, struct view text)
{
	int *n = ctx;

	return ++*n < 2;
}

static void
test_limits(void **state)
{
	struct buf in = BUF_INIT, text = BUF_INIT, hidden = BUF_INIT;
	unsigned int r;
	int i, n = 0;

	for (i = 0; i < 5000; i++)
		buf_append_str(&in, "<div><a href=\"http://x.example/\">\xc3\xa9</a>");
	r = html_to_text(in.data, in.len, &text, &hidden, 101, stop_cb, &n);
	assert_true(r & HTML_R_TRUNCATED);
	assert_true(text.len <= 101);
	assert_int_equal(text.len % 3, 2); /* never half an e-acute */
	assert_int_equal(n, 2);
	buf_deinit(&in);
	buf_deinit(&text);
	buf_deinit(&hidden);
}

static void
test_meta_charset(void **state)
{
	char cs[32];
	const char *a = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\">";
	const char *b = "<meta charset='utf-8'>";

	assert_true(html_meta_charset(a, strlen(a), cs, sizeof(cs)));
	assert_string_equal(cs, "windows-1251");
	assert_true(html_meta_charset(b, strlen(b), cs, sizeof(cs)));
	assert_string_equal(cs, "utf-8");
	assert_false(html_meta_charset("<p>charset=x</p>", 16, cs, sizeof(cs)));
}

int
main(void)
{
	struct CMUnitTest tests[N_ELEMENTS(cases) + 2];
	size_t i, n = 0;

	for (i = 0; i < N_ELEMENTS(cases); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_case, NULL, NULL, (void *)&cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_limits);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_meta_charset);
	return _cmocka_run_group_tests("html", tests, n, NULL, NULL);
}
