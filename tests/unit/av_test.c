/*
 * av_test.c - the antivirus pieces below the plugin: detection names to
 * findings, findings to verdicts (every action), clamd's replies and the
 * INSTREAM client against a fake clamd, and the libclamav engine with a
 * signature database made here (EICAR's hex as a body signature).
 */
#include "conf/conf.h"
#include "plugins/clamav/av_clamd.h"
#include "plugins/clamav/av_engine.h"
#include "plugins/clamav/av_findings.h"
#include "scan/result.h"
#include "verdict/verdict.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

/* built at run time: EICAR is never stored in the repository */
static char eicar[69];

static void
make_eicar(void)
{
	/* the standard 68-byte test string, assembled from two halves */
	snprintf(eicar, sizeof(eicar), "%s%s", "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-",
		 "ANTIVIRUS-TEST-FILE!$H+H*");
}

static struct conf *
conf_with(const char *text)
{
	struct conf *c = NULL;
	char *error = NULL;

	if (conf_load_string("t.conf", text, strlen(text), &c, &error) < 0)
		fail_msg("%s", error);
	return c;
}

static void
test_classify(void **state)
{
	static const struct {
		const char *name;
		enum av_kind kind;
		bool ignore;
	} cases[] = {
		{ "Eicar-Test-Signature", AV_VIRUS, false },
		{ "Win.Trojan.Agent-1234", AV_VIRUS, false },
		{ "Heuristics.Limits.Exceeded.MaxFileSize", AV_LIMIT, false },
		{ "Heuristics.Limits.Exceeded.MaxScanTime", AV_LIMIT, false },
		{ "Heuristics.Encrypted.Zip", AV_ENCRYPTED, false },
		{ "Heuristics.Encrypted.PDF", AV_ENCRYPTED, false },
		{ "Heuristics.Broken.Executable", AV_BROKEN, false },
		{ "Heuristics.Phishing.Email.SpoofedDomain", AV_VIRUS, false },
		{ "Detected.By.Callback", AV_VIRUS, true },
		{ "Detected.By.Callback.Inspection", AV_VIRUS, true },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		bool ignore;

		assert_int_equal(av_findings_classify(cases[i].name, &ignore), cases[i].kind);
		assert_int_equal(ignore, cases[i].ignore);
	}
}

static void
test_findings_dedupe(void **state)
{
	struct av_findings f;
	unsigned int i;

	av_findings_init(&f);
	av_findings_add_name(&f, "Eicar", "a.zip/x.exe");
	av_findings_add_name(&f, "Eicar", "a.zip/x.exe");
	av_findings_add_name(&f, "Detected.By.Callback", "a.zip/x.exe");
	av_findings_add_name(&f, "Heuristics.Limits.Exceeded.MaxFiles", "b.zip");
	assert_int_equal(f.n, 2);
	assert_string_equal(f.items[1].what, "MaxFiles");
	/* the raw message after the parts: the same virus elsewhere is the
	 * same finding */
	f.secondary = true;
	av_findings_add_name(&f, "Eicar", "message/x.exe");
	av_findings_add_name(&f, "Other", "message/y.exe");
	f.secondary = false;
	assert_int_equal(f.n, 3);
	/* names from the sender are made safe */
	av_findings_add(&f, AV_BLOCKED_EXT, "exe", "\xe2\x80\xaegpj.exe\r\n");
	assert_string_equal(f.items[3].where, "?gpj.exe??");
	for (i = 0; i < 100; i++) {
		char w[32];

		snprintf(w, sizeof(w), "f%u.exe", i);
		av_findings_add(&f, AV_BLOCKED_EXT, "exe", w);
	}
	assert_int_equal(f.n, AV_MAX_FINDINGS);
	assert_int_equal(f.count[AV_BLOCKED_EXT], 101);
	assert_true(f.dropped > 0);
}

struct decided {
	enum verdict_action action;
	int code;
	char enhanced[16];
	char text[256];
	char reason[48];
	char headers[1024];
};

static void
decide(const char *conf_text, const struct av_findings *f, const char *scanned_by,
       struct decided *d)
{
	struct conf *c = conf_with(conf_text);
	struct scan_result r;
	struct verdict v;

	scan_result_init(&r);
	verdict_init(&v);
	av_findings_apply(f, c, "clamav", scanned_by, &r);
	verdict_decide(c, &r, &v);
	memset(d, 0, sizeof(*d));
	d->action = v.action;
	d->code = v.code;
	snprintf(d->enhanced, sizeof(d->enhanced), "%s", v.enhanced);
	snprintf(d->text, sizeof(d->text), "%s", v.text);
	snprintf(d->reason, sizeof(d->reason), "%s", v.reason);
	snprintf(d->headers, sizeof(d->headers), "%s", buf_cstr(&v.headers));
	verdict_deinit(&v);
	scan_result_deinit(&r);
	conf_unref(&c);
}

static void
test_virus_actions(void **state)
{
	struct av_findings f;
	struct decided d;

	av_findings_init(&f);
	av_findings_add_name(&f, "Eicar-Test-Signature.UNOFFICIAL", "eicar.com");
	av_findings_add_name(&f, "Eicar-Test-Signature-NDB.UNOFFICIAL", "eicar.com");
	av_findings_add_name(&f, "Eicar-Test-Signature.UNOFFICIAL", "b/eicar.com");

	decide("[verdict]\nadd_headers = never\n", &f, "mxmoat with ClamAV", &d);
	assert_int_equal(d.action, VERDICT_REJECT);
	assert_int_equal(d.code, 554);
	assert_string_equal(d.enhanced, "5.7.1");
	assert_string_equal(d.text, "Virus found: Eicar-Test-Signature.UNOFFICIAL (+1 more)");
	assert_string_equal(d.reason, "virus");

	decide("[clamav]\nvirus_action = tag\n[verdict]\nadd_headers = never\n", &f,
	       "mxmoat with ClamAV", &d);
	assert_int_equal(d.action, VERDICT_TAG);
	assert_string_equal(d.headers, "X-Virus-Scanned: mxmoat with ClamAV\r\n"
				       "X-Virus-Status: Infected (Eicar-Test-Signature.UNOFFICIAL)\r\n");

	decide("[clamav]\nvirus_action = discard\nadd_headers = no\n[verdict]\nadd_headers = never\n",
	       &f, "mxmoat with ClamAV", &d);
	assert_int_equal(d.action, VERDICT_DISCARD);
	assert_string_equal(d.headers, "");
}

static void
test_clean_headers(void **state)
{
	struct av_findings f;
	struct decided d;

	av_findings_init(&f);
	decide("[verdict]\nadd_headers = never\n", &f, "mxmoat with ClamAV 1.4.6", &d);
	assert_int_equal(d.action, VERDICT_ACCEPT);
	assert_string_equal(d.headers, "X-Virus-Scanned: mxmoat with ClamAV 1.4.6\r\n"
				       "X-Virus-Status: Clean\r\n");
	/* the attachment policy alone writes no X-Virus-Status */
	decide("[verdict]\nadd_headers = never\n", &f, NULL, &d);
	assert_string_equal(d.headers, "");
}

static void
test_unscannable_actions(void **state)
{
	struct av_findings f;
	struct decided d;

	av_findings_init(&f);
	av_findings_add_name(&f, "Heuristics.Limits.Exceeded.MaxFileSize", "big.zip/zeros.bin");

	decide("[verdict]\nadd_headers = never\n", &f, "s", &d);
	assert_int_equal(d.action, VERDICT_REJECT);
	assert_int_equal(d.code, 554);
	assert_string_equal(d.enhanced, "5.7.0");
	assert_string_equal(d.text, "Message cannot be scanned: MaxFileSize in big.zip/zeros.bin");
	assert_string_equal(d.reason, "unscannable");

	decide("[clamav]\nunscannable_action = tempfail\n", &f, "s", &d);
	assert_int_equal(d.action, VERDICT_TEMPFAIL);
	assert_int_equal(d.code, 451);
	assert_string_equal(d.enhanced, "4.7.0");
	assert_string_equal(d.text, "Message cannot be scanned: MaxFileSize in big.zip/zeros.bin, "
				    "try again later");

	decide("[clamav]\nunscannable_action = tag\n[verdict]\nadd_headers = never\n", &f, "s", &d);
	assert_int_equal(d.action, VERDICT_TAG);
	assert_string_equal(d.headers, "X-Virus-Scanned: s\r\nX-Virus-Status: Unscannable "
				       "(MaxFileSize)\r\n");

	/* a virus wins over a limit in the same message */
	av_findings_add_name(&f, "Eicar", "x");
	decide("", &f, "s", &d);
	assert_int_equal(d.action, VERDICT_REJECT);
	assert_string_equal(d.enhanced, "5.7.1");
	assert_string_equal(d.reason, "virus");
}

static void
test_encrypted_and_attachment_actions(void **state)
{
	struct av_findings f;
	struct decided d;

	av_findings_init(&f);
	av_findings_add_name(&f, "Heuristics.Encrypted.Zip", "secret.zip");
	decide("", &f, "s", &d);
	assert_int_equal(d.action, VERDICT_REJECT);
	assert_int_equal(d.code, 554);
	assert_string_equal(d.enhanced, "5.7.0");
	assert_string_equal(d.text, "Encrypted content cannot be scanned: secret.zip");
	assert_string_equal(d.reason, "encrypted");
	decide("[clamav]\nencrypted_action = tag\n[verdict]\nadd_headers = never\n", &f, "s", &d);
	assert_int_equal(d.action, VERDICT_TAG);
	assert_string_equal(d.headers, "X-Virus-Scanned: s\r\nX-Virus-Status: Encrypted "
				       "(secret.zip)\r\n");

	av_findings_init(&f);
	av_findings_add(&f, AV_DOUBLE_EXT, "exe", "invoice.pdf.exe");
	decide("", &f, NULL, &d);
	assert_int_equal(d.action, VERDICT_REJECT);
	assert_int_equal(d.code, 554);
	assert_string_equal(d.enhanced, "5.7.1");
	assert_string_equal(d.text, "Attachment not accepted: invoice.pdf.exe (double extension exe)");
	assert_string_equal(d.reason, "attachment");
	decide("[attachments]\naction = tag\n[verdict]\nadd_headers = never\n", &f, NULL, &d);
	assert_int_equal(d.action, VERDICT_TAG);
	assert_string_equal(d.headers, "X-Virus-Attachment: Blocked (invoice.pdf.exe)\r\n");
	decide("[attachments]\naction = tempfail\n", &f, NULL, &d);
	assert_int_equal(d.action, VERDICT_TEMPFAIL);
	assert_int_equal(d.code, 451);
	assert_string_equal(d.enhanced, "4.7.1");

	av_findings_init(&f);
	av_findings_add(&f, AV_BLOCKED_TYPE, "CL_TYPE_MSEXE", "report.txt");
	decide("", &f, NULL, &d);
	assert_string_equal(d.text, "Attachment not accepted: report.txt (file type CL_TYPE_MSEXE)");
}

static void
test_clamd_replies(void **state)
{
	static const struct {
		const char *reply;
		size_t len;
		int ret;
		enum av_kind kind;
		const char *what;
		const char *err;
	} cases[] = {
		{ "stream: OK", 11, 0, AV_KINDS, NULL, NULL },
		{ "stream: OK\n", 11, 0, AV_KINDS, NULL, NULL },
		{ "stream: Eicar-Test-Signature FOUND", 35, 0, AV_VIRUS, "Eicar-Test-Signature", NULL },
		{ "1: stream: Win.Test.X FOUND", 28, 0, AV_VIRUS, "Win.Test.X", NULL },
		{ "stream: Heuristics.Encrypted.Zip FOUND", 39, 0, AV_ENCRYPTED,
		  "Heuristics.Encrypted.Zip", NULL },
		{ "stream: Heuristics.Limits.Exceeded.MaxScanSize FOUND", 53, 0, AV_LIMIT,
		  "MaxScanSize", NULL },
		{ "INSTREAM size limit exceeded. ERROR", 36, 0, AV_LIMIT, "StreamMaxLength", NULL },
		{ "stream: Can't allocate memory ERROR", 36, -1, AV_KINDS, NULL,
		  "clamd: stream: Can't allocate memory ERROR" },
		{ "UNKNOWN COMMAND", 16, -1, AV_KINDS, NULL,
		  "clamd: unexpected reply \"UNKNOWN COMMAND\"" },
		{ "", 0, -1, AV_KINDS, NULL, "clamd: no reply" },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct av_findings f;
		char err[256] = "";
		int ret;

		av_findings_init(&f);
		ret = av_clamd_parse_reply(cases[i].reply, cases[i].len, "x", &f, err, sizeof(err));
		if (ret != cases[i].ret)
			fail_msg("%s: %d (%s)", cases[i].reply, ret, err);
		if (cases[i].kind == AV_KINDS) {
			assert_int_equal(f.n, 0);
		} else {
			assert_int_equal(f.n, 1);
			assert_int_equal(f.items[0].kind, cases[i].kind);
			assert_string_equal(f.items[0].what, cases[i].what);
		}
		if (cases[i].err != NULL)
			assert_string_equal(err, cases[i].err);
	}
}

/* --- a fake clamd on a unix socket --------------------------------------- */

struct fake_clamd {
	int lfd;
	char path[108];
	const char *reply;     /* NULL: never answer */
	size_t received;       /* object bytes, from the chunk lengths */
	bool framing_ok;
	pthread_t thread;
};

static bool
read_n(int fd, void *p, size_t n)
{
	char *s = p;

	while (n > 0) {
		ssize_t r = read(fd, s, n);

		if (r <= 0)
			return false;
		s += r;
		n -= (size_t)r;
	}
	return true;
}

static void *
fake_clamd_run(void *arg)
{
	struct fake_clamd *fc = arg;
	int fd = accept(fc->lfd, NULL, NULL);
	char cmd[10];
	char *chunk = malloc(AV_CLAMD_CHUNK);

	fc->framing_ok = false;
	if (fd >= 0 && read_n(fd, cmd, sizeof(cmd)) && memcmp(cmd, "zINSTREAM", 10) == 0) {
		for (;;) {
			uint32_t len;

			if (!read_n(fd, &len, 4))
				break;
			len = ntohl(len);
			if (len == 0) {
				fc->framing_ok = true;
				break;
			}
			if (len > AV_CLAMD_CHUNK || !read_n(fd, chunk, len))
				break;
			fc->received += len;
		}
		if (fc->reply != NULL) {
			if (write(fd, fc->reply, strlen(fc->reply) + 1) < 0)
				fc->framing_ok = false;
		} else {
			sleep(2);
		}
	}
	free(chunk);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void
fake_clamd_start(struct fake_clamd *fc, const char *reply, struct netaddr *addr)
{
	struct sockaddr_un su;
	const char *error = NULL;
	char ep[200];

	memset(fc, 0, sizeof(*fc));
	snprintf(fc->path, sizeof(fc->path), "/tmp/mxmoat-av-test-%ld.sock", (long)getpid());
	unlink(fc->path);
	fc->reply = reply;
	fc->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	snprintf(su.sun_path, sizeof(su.sun_path), "%s", fc->path);
	assert_int_equal(bind(fc->lfd, (struct sockaddr *)&su, sizeof(su)), 0);
	assert_int_equal(listen(fc->lfd, 4), 0);
	snprintf(ep, sizeof(ep), "unix:%s", fc->path);
	assert_int_equal(netaddr_parse_endpoint(ep, addr, &error), 0);
	assert_int_equal(pthread_create(&fc->thread, NULL, fake_clamd_run, fc), 0);
}

static void
fake_clamd_stop(struct fake_clamd *fc)
{
	pthread_join(fc->thread, NULL);
	close(fc->lfd);
	unlink(fc->path);
}

static void
test_clamd_client(void **state)
{
	struct fake_clamd fc;
	struct netaddr addr;
	struct av_findings f;
	char err[256] = "";
	/* more than one chunk */
	size_t big = AV_CLAMD_CHUNK * 2 + 17;
	char *data = calloc(1, big);

	fake_clamd_start(&fc, "stream: Eicar-Test-Signature FOUND", &addr);
	av_findings_init(&f);
	assert_int_equal(av_clamd_scan(&addr, 5000, data, big, NULL, "eicar.com", &f, err,
				       sizeof(err)),
			 0);
	fake_clamd_stop(&fc);
	assert_true(fc.framing_ok);
	assert_int_equal(fc.received, big);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.items[0].what, "Eicar-Test-Signature");
	assert_string_equal(f.items[0].where, "eicar.com");

	fake_clamd_start(&fc, "stream: OK", &addr);
	av_findings_init(&f);
	assert_int_equal(av_clamd_scan(&addr, 5000, "hello", 5, NULL, "m", &f, err, sizeof(err)), 0);
	fake_clamd_stop(&fc);
	assert_int_equal(f.n, 0);

	/* clamd that never answers: a timeout is an error (tempfail) */
	fake_clamd_start(&fc, NULL, &addr);
	av_findings_init(&f);
	assert_int_equal(av_clamd_scan(&addr, 300, "hello", 5, NULL, "m", &f, err, sizeof(err)), -1);
	assert_string_equal(err, "clamd: timeout");
	fake_clamd_stop(&fc);

	/* nobody listening */
	av_findings_init(&f);
	assert_int_equal(av_clamd_scan(&addr, 1000, "hello", 5, NULL, "m", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "connect"));
	free(data);
}

/* --- libclamav -------------------------------------------------------------- */

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
make_db(char *dir, size_t dirlen)
{
	char path[300];
	struct buf sig = BUF_INIT;
	size_t i;

	snprintf(dir, dirlen, "/tmp/mxmoat-av-test-db-%ld", (long)getpid());
	mkdir(dir, 0700);
	buf_append_str(&sig, "Test-Eicar-NDB:0:*:");
	for (i = 0; i < strlen(eicar); i++)
		buf_appendf(&sig, "%02x", (unsigned char)eicar[i]);
	buf_append_char(&sig, '\n');
	snprintf(path, sizeof(path), "%s/test.ndb", dir);
	write_file(path, buf_cstr(&sig));
	buf_deinit(&sig);
}

static void
remove_db(const char *dir)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_engine(void **state)
{
	struct av_engine_settings s;
	struct av_engine *e = NULL;
	struct av_findings f;
	char dir[200], path[300], *error = NULL;
	char serr[200];
	char text[200];
	struct buf d = BUF_INIT;

	make_db(dir, sizeof(dir));
	memset(&s, 0, sizeof(s));
	s.database = dir;
	s.tmpdir = "/tmp";
	s.max_scan_size = 10 * 1024 * 1024;
	s.max_file_size = 5 * 1024 * 1024;
	s.max_recursion = 10;
	s.max_files = 100;
	s.max_scan_time_ms = 10000;
	if (av_engine_new(&s, &e, &error) < 0)
		fail_msg("%s", error);
	assert_int_equal(av_engine_signatures(e), 1);
	av_engine_describe(e, &d);
	assert_non_null(strstr(buf_cstr(&d), "1 signatures from"));
	buf_deinit(&d);

	av_findings_init(&f);
	assert_int_equal(av_engine_scan(e, 1, eicar, strlen(eicar), NULL, 0, "eicar.com", &f, serr, sizeof(serr)), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.items[0].kind, AV_VIRUS);
	assert_string_equal(f.items[0].what, "Test-Eicar-NDB.UNOFFICIAL");
	assert_string_equal(f.items[0].where, "eicar.com");

	/* inline in text */
	snprintf(text, sizeof(text), "Hello,\r\n\r\n%s\r\n\r\nBye\r\n", eicar);
	av_findings_init(&f);
	assert_int_equal(av_engine_scan(e, 2, text, strlen(text), NULL, AV_SCAN_NO_MAIL_PARSER, "body", &f, serr, sizeof(serr)), 0);
	assert_int_equal(f.n, 1);

	av_findings_init(&f);
	assert_int_equal(av_engine_scan(e, 3, "harmless", 8, NULL, 0, "clean.txt", &f, serr, sizeof(serr)), 0);
	assert_int_equal(f.n, 0);
	/* libclamav ignores files of 5 bytes and less: not an error either */
	assert_int_equal(av_engine_scan(e, 4, "hi\r\n", 4, NULL, 0, "tiny.txt", &f, serr, sizeof(serr)), 0);
	assert_int_equal(av_engine_scan(e, 4, "hello", 5, NULL, 0, "tiny.txt", &f, serr, sizeof(serr)), 0);
	assert_int_equal(f.n, 0);
	/* again: from libclamav's clean cache, still a scan (not an error) */
	assert_int_equal(av_engine_scan(e, 4, "harmless", 8, NULL, 0, "clean.txt", &f, serr, sizeof(serr)), 0);
	assert_int_equal(f.n, 0);
	av_engine_free(&e);

	/* libclamav cannot create its temporary directory: it answers clean
	 * without scanning; that is a scanner error */
	s.tmpdir = "/nonexistent/mxmoat-av-test";
	if (av_engine_new(&s, &e, &error) < 0)
		fail_msg("%s", error);
	av_findings_init(&f);
	assert_int_equal(av_engine_scan(e, 5, eicar, strlen(eicar), NULL, 0, "eicar.com", &f, serr, sizeof(serr)), -1);
	assert_non_null(strstr(serr, "nothing scanned"));
	assert_non_null(strstr(serr, "temporary directory"));
	assert_int_equal(f.n, 0);
	av_engine_free(&e);
	s.tmpdir = "/tmp";
	if (av_engine_new(&s, &e, &error) < 0)
		fail_msg("%s", error);

	/* the directory changes: stale */
	assert_false(av_engine_is_stale(e));
	sleep(1); /* cl_statchkdir compares mtimes in seconds */
	snprintf(path, sizeof(path), "%s/more.ndb", dir);
	write_file(path, "Test-Other:0:*:6d786d6f61742d746573742d737472696e67\n");
	assert_true(av_engine_is_stale(e));
	av_engine_free(&e);
	assert_null(e);

	/* a broken database: the reason is in the error */
	write_file(path, "Broken:0:*:zz-not-hex\n");
	assert_int_equal(av_engine_new(&s, &e, &error), -1);
	assert_non_null(strstr(error, "loading"));
	assert_non_null(strstr(error, dir));
	free(error);
	error = NULL;

	/* no database at all */
	remove_db(dir);
	assert_int_equal(av_engine_new(&s, &e, &error), -1);
	free(error);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_findings_dedupe),
		cmocka_unit_test(test_virus_actions),
		cmocka_unit_test(test_clean_headers),
		cmocka_unit_test(test_unscannable_actions),
		cmocka_unit_test(test_encrypted_and_attachment_actions),
		cmocka_unit_test(test_clamd_replies),
		cmocka_unit_test(test_clamd_client),
		cmocka_unit_test(test_engine),
	};

	make_eicar();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
