/*
 * attach_policy_test.c - file names as Windows opens them, blocked and
 * double extensions, type lists and content sniffing.
 */
#include "conf/conf.h"
#include "plugins/clamav/attach_policy.h"

#include <setjmp.h>
#include <cmocka.h>

static struct attach_policy *
policy_with(const char *text)
{
	struct conf *c = NULL;
	struct attach_policy *p = NULL;
	char *error = NULL;

	if (conf_load_string("t.conf", text, strlen(text), &c, &error) < 0)
		fail_msg("%s", error);
	if (attach_policy_new(c, &p, &error) < 0)
		fail_msg("%s", error);
	conf_unref(&c);
	return p;
}

static void
test_normalize(void **state)
{
	static const char *const cases[][2] = {
		{ "Invoice.EXE", "invoice.exe" },
		{ "C:\\Users\\x\\evil.exe", "evil.exe" },
		{ "../../evil.exe", "evil.exe" },
		{ "evil.exe.", "evil.exe" },
		{ "evil.exe . .", "evil.exe" },
		/* U+202E RIGHT-TO-LEFT OVERRIDE: shown as "photoexe.jpg" */
		{ "photo\xe2\x80\xaegpj.exe", "photogpj.exe" },
		/* zero-width space and soft hyphen inside the extension */
		{ "x.e\xe2\x80\x8bx\xc2\xad" "e", "x.exe" },
		{ "a\tb\r\n.exe", "ab.exe" },
		{ "r\xc3\xa9sum\xc3\xa9.PDF", "r\xc3\xa9sum\xc3\xa9.pdf" },
		{ "", "" },
	};
	struct buf out = BUF_INIT;
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		attach_policy_normalize(cases[i][0], &out);
		assert_string_equal(buf_cstr(&out), cases[i][1]);
	}
	buf_deinit(&out);
}

static void
test_default_names(void **state)
{
	static const struct {
		const char *name;
		enum attach_match m;
		const char *ext;
	} cases[] = {
		{ "setup.exe", ATTACH_BLOCKED_EXT, "exe" },
		{ "SETUP.EXE", ATTACH_BLOCKED_EXT, "exe" },
		{ "invoice.pdf.exe", ATTACH_DOUBLE_EXT, "exe" },
		{ "scan.jpg        .scr", ATTACH_DOUBLE_EXT, "scr" },
		{ "invoice.pdf.exe.", ATTACH_DOUBLE_EXT, "exe" },
		{ "my.v2.build.exe", ATTACH_BLOCKED_EXT, "exe" },
		{ "photo\xe2\x80\xaegpj.js", ATTACH_BLOCKED_EXT, "js" },
		{ "disk.iso", ATTACH_BLOCKED_EXT, "iso" },
		{ "script.vbs", ATTACH_BLOCKED_EXT, "vbs" },
		{ "C:\\tmp\\x.lnk", ATTACH_BLOCKED_EXT, "lnk" },
		{ "report.pdf", ATTACH_OK, NULL },
		{ "report.exe.pdf", ATTACH_OK, NULL },
		{ "archive.zip", ATTACH_OK, NULL },
		{ "exe", ATTACH_OK, NULL },
		{ "noextension", ATTACH_OK, NULL },
		{ ".exe", ATTACH_BLOCKED_EXT, "exe" },
		{ "x.exe_backup", ATTACH_OK, NULL },
	};
	struct attach_policy *p = policy_with("");
	size_t i;

	assert_true(attach_policy_extensions(p) > 40);
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		char ext[ATTACH_EXT_MAX] = "";
		enum attach_match m = attach_policy_check_name(p, cases[i].name, ext);

		if (m != cases[i].m)
			fail_msg("%s: %d, expected %d", cases[i].name, m, cases[i].m);
		if (cases[i].ext != NULL)
			assert_string_equal(ext, cases[i].ext);
	}
	attach_policy_free(&p);
}

static void
test_configured_lists(void **state)
{
	struct attach_policy *p =
		policy_with("[attachments]\nblock_extensions = .DOCM, xlsm xlsm\n"
			    "block_types = msexe, CL_TYPE_zip\n");
	char *error = NULL;
	struct conf *c = NULL;
	struct attach_policy *bad = NULL;
	const char *text = "[attachments]\nblock_extensions = exe, a/b\n";

	assert_int_equal(attach_policy_extensions(p), 2);
	assert_int_equal(attach_policy_check_name(p, "macro.docm", NULL), ATTACH_BLOCKED_EXT);
	assert_int_equal(attach_policy_check_name(p, "setup.exe", NULL), ATTACH_OK);
	assert_true(attach_policy_type_blocked(p, "CL_TYPE_MSEXE"));
	assert_true(attach_policy_type_blocked(p, "CL_TYPE_ZIP"));
	assert_false(attach_policy_type_blocked(p, "CL_TYPE_PDF"));
	assert_false(attach_policy_type_blocked(p, NULL));
	attach_policy_free(&p);

	assert_int_equal(conf_load_string("t.conf", text, strlen(text), &c, &error), 0);
	assert_int_equal(attach_policy_new(c, &bad, &error), -1);
	assert_string_equal(error, "[attachments] block_extensions: invalid entry \"a/b\"");
	free(error);
	conf_unref(&c);

	/* empty lists block nothing */
	p = policy_with("[attachments]\nblock_extensions =\nblock_types =\n");
	assert_int_equal(attach_policy_check_name(p, "setup.exe", NULL), ATTACH_OK);
	assert_false(attach_policy_type_blocked(p, "CL_TYPE_MSEXE"));
	attach_policy_free(&p);
}

static void
test_sniff(void **state)
{
	unsigned char pe[0x100];
	unsigned char text_mz[0x100];

	memset(pe, 0, sizeof(pe));
	pe[0] = 'M';
	pe[1] = 'Z';
	pe[0x3c] = 0x80;
	memcpy(pe + 0x80, "PE\0\0", 4);
	assert_string_equal(attach_policy_sniff(pe, sizeof(pe)), "CL_TYPE_MSEXE");
	/* "MZ" alone is how some text starts */
	memset(text_mz, 'a', sizeof(text_mz));
	memcpy(text_mz, "MZ is a newspaper", 17);
	assert_null(attach_policy_sniff(text_mz, sizeof(text_mz)));
	/* e_lfanew out of range */
	pe[0x3c] = 0xfe;
	assert_null(attach_policy_sniff(pe, sizeof(pe)));

	assert_string_equal(attach_policy_sniff("\x7f" "ELF\x02\x01", 6), "CL_TYPE_ELF");
	assert_string_equal(attach_policy_sniff("\xcf\xfa\xed\xfe\x07\x00", 6), "CL_TYPE_MACHO");
	assert_string_equal(attach_policy_sniff("\xca\xfe\xba\xbe\x00\x00\x00\x02", 8),
			    "CL_TYPE_MACHO_UNIBIN");
	/* a Java class file has the same magic, then its version */
	assert_null(attach_policy_sniff("\xca\xfe\xba\xbe\x00\x00\x00\x34", 8));
	assert_string_equal(attach_policy_sniff("PK\3\4\x14\0", 6), "CL_TYPE_ZIP");
	assert_string_equal(attach_policy_sniff("%PDF-1.7\n", 9), "CL_TYPE_PDF");
	assert_string_equal(attach_policy_sniff("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8),
			    "CL_TYPE_MSOLE2");
	assert_null(attach_policy_sniff("Hello, world", 12));
	assert_null(attach_policy_sniff("MZ", 2));
	assert_null(attach_policy_sniff("", 0));
}

static void
test_safe_name(void **state)
{
	struct buf out = BUF_INIT;

	attach_policy_safe_name("r\xc3\xa9sum\xc3\xa9\r\n.pdf", 100, &out);
	assert_string_equal(buf_cstr(&out), "r?sum???.pdf");
	attach_policy_safe_name("abcdefghijklmnop", 10, &out);
	assert_string_equal(buf_cstr(&out), "abcdefg...");
	attach_policy_safe_name("", 10, &out);
	assert_string_equal(buf_cstr(&out), "");
	buf_deinit(&out);
}

/* a stored ZIP with members (name, flags), central directory and end
 * record; returns its length */
static size_t
make_zip(unsigned char *out, const char *const *names, const unsigned int *flags, size_t n)
{
	size_t len = 0, cd, i, offs[4];

	for (i = 0; i < n; i++) {
		unsigned char h[30] = { 'P', 'K', 3, 4, 20, 0 };
		size_t nl = strlen(names[i]);

		offs[i] = len;
		h[6] = (unsigned char)flags[i];
		h[18] = h[22] = 2; /* sizes: 2 bytes of data */
		h[26] = (unsigned char)nl;
		memcpy(out + len, h, sizeof(h));
		memcpy(out + len + 30, names[i], nl);
		memcpy(out + len + 30 + nl, "hi", 2);
		len += 30 + nl + 2;
	}
	cd = len;
	for (i = 0; i < n; i++) {
		unsigned char h[46] = { 'P', 'K', 1, 2, 20, 0, 20, 0 };
		size_t nl = strlen(names[i]);

		h[8] = (unsigned char)flags[i];
		h[20] = h[24] = 2;
		h[28] = (unsigned char)nl;
		h[42] = (unsigned char)offs[i];
		memcpy(out + len, h, sizeof(h));
		memcpy(out + len + 46, names[i], nl);
		len += 46 + nl;
	}
	{
		unsigned char e[22] = { 'P', 'K', 5, 6 };

		e[8] = e[10] = (unsigned char)n;
		e[12] = (unsigned char)(len - cd);
		e[16] = (unsigned char)cd;
		memcpy(out + len, e, sizeof(e));
		len += sizeof(e);
	}
	return len;
}

static void
test_zip_encrypted(void **state)
{
	static const char *const names[] = { "readme.txt", "secret.doc" };
	static const unsigned int plain[] = { 0, 0 }, first[] = { 1, 0 }, second[] = { 0, 9 };
	unsigned char z[512];
	char member[16];
	size_t len;

	len = make_zip(z, names, plain, 2);
	assert_false(attach_policy_zip_encrypted(z, len, member, sizeof(member)));
	assert_string_equal(member, "");
	len = make_zip(z, names, first, 2);
	assert_true(attach_policy_zip_encrypted(z, len, member, sizeof(member)));
	assert_string_equal(member, "readme.txt");
	/* the second member (flags 9: encrypted, data descriptor) */
	len = make_zip(z, names, second, 2);
	assert_true(attach_policy_zip_encrypted(z, len, member, sizeof(member)));
	assert_string_equal(member, "secret.doc");
	assert_true(attach_policy_zip_encrypted(z, len, NULL, 0));
	/* a name cut to the buffer */
	assert_true(attach_policy_zip_encrypted(z, len, member, 4));
	assert_string_equal(member, "sec");
	/* truncated before the central directory: not found, no overread */
	assert_false(attach_policy_zip_encrypted(z, len - 30, member, sizeof(member)));
	/* an end record that points outside the data */
	z[len - 22 + 12] = 0xff;
	z[len - 22 + 13] = 0xff;
	assert_false(attach_policy_zip_encrypted(z, len, member, sizeof(member)));
	/* declared sizes (2 bytes each here) */
	len = make_zip(z, names, plain, 2);
	assert_true(attach_policy_zip_oversized(z, len, 1, member, sizeof(member)));
	assert_string_equal(member, "readme.txt");
	assert_false(attach_policy_zip_oversized(z, len, 2, member, sizeof(member)));
	assert_false(attach_policy_zip_oversized(z, len, 0, member, sizeof(member)));
	/* the central directory's size of the second member */
	z[len - 22 - 46 - 10 + 24] = 0x10;
	z[len - 22 - 46 - 10 + 26] = 0x01;
	assert_true(attach_policy_zip_oversized(z, len, 1000, member, sizeof(member)));
	assert_string_equal(member, "secret.doc");
	/* ZIP64 (sizes elsewhere): not judged here */
	memset(z + len - 22 - 46 - 10 + 24, 0xff, 4);
	assert_false(attach_policy_zip_oversized(z, len, 1000, member, sizeof(member)));
	/* not a ZIP */
	assert_false(attach_policy_zip_encrypted("PK", 2, member, sizeof(member)));
	assert_false(attach_policy_zip_encrypted("%PDF-1.4 and some more text here..", 34, NULL, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_default_names),
		cmocka_unit_test(test_configured_lists),
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_safe_name),
		cmocka_unit_test(test_zip_encrypted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
