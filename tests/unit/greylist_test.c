/*
 * greylist_test.c - greylisting's normalisation, keys, static whitelists,
 * configuration, and the Redis client's fail-fast behaviour without a
 * server (the rest runs against a real redis-server in
 * tests/integration/test_greylist.py).
 */
#include "conf/conf.h"
#include "kv/kv.h"
#include "plugins/greylist/greylist_cache.h"
#include "plugins/greylist/greylist_key.h"
#include "plugins/greylist/greylist_list.h"
#include "plugins/greylist/greylist_plugin.h"
#include "scan/result.h"

#include <setjmp.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

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
test_sender_folding(void **state)
{
	static const char *const cases[][2] = {
		{ "", "<>" },
		{ "User@Example.ORG", "user@example.org" },
		{ "user+tag@example.org", "user@example.org" },
		{ "+user@example.org", "+user@example.org" },
		{ "prvs=1234abcdef=user@example.org", "user@example.org" },
		{ "PRVS=9876FEDCBA=User+x@example.org", "user@example.org" },
		{ "msprvs1=17abcdef=bounces@example.org", "bounces@example.org" },
		{ "btv1==0123abcd==user@example.org", "user@example.org" },
		{ "SRS0=HHH=TT=example.net=owner@forwarder.example", "owner@example.net" },
		{ "SRS0+HHH=TT=Example.NET=Owner@forwarder.example", "owner@example.net" },
		{ "SRS1=HHH=fwd1.example==HHH=TT=example.net=owner@fwd2.example",
		  "owner@example.net" },
		{ "bounce-1234-5678@list.example", "bounce-#-#@list.example" },
		{ "12345@example.org", "#@example.org" },
		{ "abc123@example.org", "abc123@example.org" },
		{ "news.2026.12@example.org", "news.#.#@example.org" },
		{ "localonly", "localonly" },
		/* a malformed SRS stays as it is (minus the number) */
		{ "srs0=broken@example.org", "srs0=broken@example.org" },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct buf b = BUF_INIT;

		greylist_key_sender(cases[i][0], &b);
		if (strcmp(buf_cstr(&b), cases[i][1]) != 0)
			fail_msg("sender \"%s\": got \"%s\", want \"%s\"", cases[i][0], buf_cstr(&b),
				 cases[i][1]);
		buf_deinit(&b);
	}
}

static void
test_sender_domain_and_rcpt(void **state)
{
	struct buf b = BUF_INIT;

	greylist_key_sender_domain("SRS0=H=T=Example.NET=x@fwd.example", &b);
	assert_string_equal(buf_cstr(&b), "example.net");
	buf_reset(&b);
	greylist_key_sender_domain("", &b);
	assert_string_equal(buf_cstr(&b), "");
	buf_reset(&b);
	greylist_key_rcpt("Bob+Box@Example.COM", &b);
	assert_string_equal(buf_cstr(&b), "bob+box@example.com");
	buf_deinit(&b);
}

static void
test_networks(void **state)
{
	static const struct {
		const char *ip;
		unsigned int v4, v6;
		const char *want;
	} cases[] = {
		{ "192.0.2.77", 24, 64, "192.0.2.0/24" },
		{ "192.0.2.77", 32, 64, "192.0.2.77/32" },
		{ "192.0.2.77", 16, 64, "192.0.0.0/16" },
		{ "192.0.2.77", 20, 64, "192.0.0.0/20" },
		{ "2001:db8:1:2:3:4:5:6", 24, 64, "2001:db8:1:2::/64" },
		{ "IPV6:2001:db8:1:2:3:4:5:6", 24, 48, "2001:db8:1::/48" },
		{ "ipv6:2001:DB8::1", 24, 128, "2001:db8::1/128" },
		{ "::ffff:198.51.100.7", 24, 64, "198.51.100.0/24" },
		{ "2001:db8:1:2:ffff::1", 24, 60, "2001:db8:1::/60" },
	};
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		buf_reset(&b);
		assert_int_equal(greylist_key_net(cases[i].ip, cases[i].v4, cases[i].v6, &b), 0);
		if (strcmp(buf_cstr(&b), cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", cases[i].ip, buf_cstr(&b), cases[i].want);
	}
	assert_int_equal(greylist_key_net("unix", 24, 64, &b), -1);
	assert_int_equal(greylist_key_net("192.0.2", 24, 64, &b), -1);
	buf_deinit(&b);
}

static void
check_org(const struct greylist_psl *psl, const char *name, const char *want)
{
	struct buf b = BUF_INIT;
	bool ok = greylist_key_org_domain(psl, name, &b);

	if (want == NULL) {
		if (ok)
			fail_msg("%s: got %s, want none", name, buf_cstr(&b));
	} else if (!ok || strcmp(buf_cstr(&b), want) != 0) {
		fail_msg("%s: got %s, want %s", name, ok ? buf_cstr(&b) : "(none)", want);
	}
	buf_deinit(&b);
}

static void
test_org_domain_heuristic(void **state)
{
	check_org(NULL, "mail-ed1-f41.google.com", "google.com");
	check_org(NULL, "Mail.Example.CO.UK.", "example.co.uk");
	check_org(NULL, "smtp.example.com.au", "example.com.au");
	check_org(NULL, "mx.example.de", "example.de");
	check_org(NULL, "com", NULL);
	check_org(NULL, "[UNAVAILABLE]", NULL);
	check_org(NULL, "bad name.example", NULL);
}

static void
test_org_domain_psl(void **state)
{
	struct greylist_psl *psl = NULL;
	char *error = NULL;

	if (access(PSL_PATH, R_OK) != 0)
		skip();
	assert_int_equal(greylist_key_psl_load(PSL_PATH, &psl, &error), 0);
	assert_true(greylist_key_psl_count(psl) > 5000);
	check_org(psl, "mail-db5eur01on2091.outbound.protection.outlook.com", "outlook.com");
	check_org(psl, "a8-30.smtp-out.amazonses.com", "amazonses.com");
	check_org(psl, "mail.example.co.uk", "example.co.uk");
	check_org(psl, "co.uk", NULL);
	/* *.ck: every name under ck is public, except www.ck */
	check_org(psl, "a.b.example.ck", "b.example.ck");
	check_org(psl, "www.ck", "www.ck");
	check_org(psl, "mx.example.ck", "mx.example.ck");
	check_org(psl, "example.ck", NULL);
	/* a private suffix: each user's subdomain is its own organisation */
	check_org(psl, "foo.bar.blogspot.com", "bar.blogspot.com");
	/* no rule: the default rule makes the TLD public */
	check_org(psl, "out-1.mta.bigmail.example", "bigmail.example");
	greylist_key_psl_free(&psl);
	assert_int_equal(greylist_key_psl_load("/nonexistent/psl.dat", &psl, &error), -1);
	assert_non_null(strstr(error, "/nonexistent/psl.dat"));
	free(error);
}

static void
test_dynamic_names(void **state)
{
	static const struct {
		const char *name, *ip;
		bool dynamic;
	} cases[] = {
		{ "mail-ed1-f41.google.com", "209.85.208.41", false },
		{ "a8-30.smtp-out.amazonses.com", "54.240.8.30", false },
		{ "mail-db5eur01on2091.outbound.protection.outlook.com", "40.107.22.91", false },
		{ "out-1.mta.bigmail.example", "203.0.113.5", false },
		{ "203-0-113-5.dsl.isp.example", "203.0.113.5", true },
		{ "cpe-0-113-5.isp.example", "203.0.113.5", true },
		{ "5.113.0.203.in.isp.example", "203.0.113.5", true },
		{ "host.dynamic.isp.example", "203.0.113.5", true },
		{ "pool-10-9.isp.example", "2001:db8::1", true },
		{ "smtp.cable.example", "203.0.113.5", false }, /* the domain is not looked at */
		{ "x.y.ppp.isp.example", "2001:db8::1", true },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		if (greylist_key_is_dynamic(cases[i].name, cases[i].ip) != cases[i].dynamic)
			fail_msg("%s [%s]: dynamic should be %d", cases[i].name, cases[i].ip,
				 cases[i].dynamic);
	}
}

static void
test_client_keys(void **state)
{
	struct greylist_key_opts o = { 24, 64, true, NULL };
	struct buf b = BUF_INIT;

	assert_int_equal(greylist_key_client(&o, "209.85.208.41", "mail-ed1-f41.google.com", &b), 0);
	assert_string_equal(buf_cstr(&b), "dns:google.com");
	buf_reset(&b);
	assert_int_equal(greylist_key_client(&o, "203.0.113.5", "203-0-113-5.dsl.isp.example", &b),
			 0);
	assert_string_equal(buf_cstr(&b), "net:203.0.113.0/24");
	buf_reset(&b);
	assert_int_equal(greylist_key_client(&o, "203.0.113.5", "[UNAVAILABLE]", &b), 0);
	assert_string_equal(buf_cstr(&b), "net:203.0.113.0/24");
	buf_reset(&b);
	o.rdns = false;
	assert_int_equal(greylist_key_client(&o, "209.85.208.41", "mail-ed1-f41.google.com", &b), 0);
	assert_string_equal(buf_cstr(&b), "net:209.85.208.0/24");
	buf_reset(&b);
	assert_int_equal(greylist_key_client(&o, "unix", "", &b), -1);
	buf_deinit(&b);
}

static void
test_hashed_keys(void **state)
{
	struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT;
	const char *r1[] = { "x@example.com", "y@example.com" };
	const char *r2[] = { "y@example.com", "x@example.com", "x@example.com" };
	const char *r3[] = { "x@example.com" };

	greylist_key_triplet("mxmoat:", "net:192.0.2.0/24", "a@example.org", "b@example.com", &a);
	greylist_key_triplet("mxmoat:", "net:192.0.2.0/24", "a@example.org", "b@example.com", &b);
	assert_string_equal(buf_cstr(&a), buf_cstr(&b));
	assert_int_equal(a.len, strlen("mxmoat:gl:t:") + 22);
	assert_true(strncmp(buf_cstr(&a), "mxmoat:gl:t:", 12) == 0);
	assert_true(strspn(buf_cstr(&a) + 12, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					      "0123456789-_") == 22);
	/* the parts are separated: moving a character between them changes
	 * the key */
	buf_reset(&b);
	greylist_key_triplet("mxmoat:", "net:192.0.2.0/24", "a@example.or", "gb@example.com", &b);
	assert_string_not_equal(buf_cstr(&a), buf_cstr(&b));
	/* the message key ignores the order and duplicates of recipients */
	buf_reset(&a);
	buf_reset(&b);
	greylist_key_message("p:", "net:x", "s", r1, 2, &a);
	greylist_key_message("p:", "net:x", "s", r2, 3, &b);
	greylist_key_message("p:", "net:x", "s", r3, 1, &c);
	assert_string_equal(buf_cstr(&a), buf_cstr(&b));
	assert_string_not_equal(buf_cstr(&a), buf_cstr(&c));
	assert_true(strncmp(buf_cstr(&a), "p:gl:m:", 7) == 0);
	buf_reset(&a);
	buf_reset(&b);
	greylist_key_awl("p:", "net:x", NULL, &a);
	greylist_key_awl("p:", "net:x", "example.org", &b);
	assert_true(strncmp(buf_cstr(&a), "p:gl:a:", 7) == 0);
	assert_string_not_equal(buf_cstr(&a), buf_cstr(&b));
	buf_deinit(&a);
	buf_deinit(&b);
	buf_deinit(&c);
}

static void
test_static_whitelists(void **state)
{
	struct conf *c = conf_with("[greylist]\n"
				   "whitelist_clients = 192.0.2.0/24, 2001:db8:aa::/48\n"
				   "whitelist_senders = partner.example, .Other.Example\n"
				   "whitelist_recipients = postmaster@, abuse@example.com, @open.example\n");
	char path[] = "/tmp/greylist_test.XXXXXX";
	int fd = mkstemp(path);
	struct greylist_list *l = NULL;
	struct buf why = BUF_INIT;
	struct netaddr a;
	char *error = NULL;
	size_t counts[4];
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# comment\n\n  198.51.100.0/24  # a network\nbigmail.example\n.pool.example\n"
	      "203.0.113.9\n", f);
	fclose(f);
	assert_int_equal(greylist_list_load(c, path, &l, &error), 0);
	greylist_list_counts(l, counts);
	assert_int_equal(counts[0], 4);
	assert_int_equal(counts[1], 2);
	assert_int_equal(counts[2], 2);
	assert_int_equal(counts[3], 3);

	assert_int_equal(greylist_key_ip_parse("192.0.2.9", &a), 0);
	assert_true(greylist_list_client(l, &a, NULL, &why));
	assert_string_equal(buf_cstr(&why), "client 192.0.2.0/24");
	buf_reset(&why);
	assert_int_equal(greylist_key_ip_parse("IPV6:2001:db8:aa:ff::1", &a), 0);
	assert_true(greylist_list_client(l, &a, NULL, &why));
	assert_int_equal(greylist_key_ip_parse("203.0.113.9", &a), 0);
	assert_true(greylist_list_client(l, &a, "[UNAVAILABLE]", &why));
	assert_int_equal(greylist_key_ip_parse("203.0.113.10", &a), 0);
	assert_false(greylist_list_client(l, &a, "[UNAVAILABLE]", &why));
	assert_false(greylist_list_client(l, &a, "bigmail.example.evil", &why));
	assert_false(greylist_list_client(l, &a, "notbigmail.example", &why));
	buf_reset(&why);
	assert_true(greylist_list_client(l, &a, "Out-1.MTA.BigMail.Example.", &why));
	assert_string_equal(buf_cstr(&why), "client name in bigmail.example");
	assert_true(greylist_list_client(l, &a, "x.pool.example", &why));

	assert_true(greylist_list_sender(l, "partner.example", &why));
	assert_true(greylist_list_sender(l, "mail.other.example", &why));
	assert_false(greylist_list_sender(l, "xpartner.example", &why));
	assert_false(greylist_list_sender(l, "", &why));

	assert_true(greylist_list_rcpt(l, "Postmaster@any.example", &why));
	assert_true(greylist_list_rcpt(l, "abuse@example.com", &why));
	assert_false(greylist_list_rcpt(l, "abuse@example.net", &why));
	assert_true(greylist_list_rcpt(l, "x@sub.open.example", &why));
	assert_false(greylist_list_rcpt(l, "postmaster2@example.com", &why));
	greylist_list_free(&l);

	/* errors name the file and line */
	f = fopen(path, "w");
	fputs("ok.example\n192.0.2.0/33\n", f);
	fclose(f);
	assert_int_equal(greylist_list_load(c, path, &l, &error), -1);
	assert_non_null(strstr(error, ":2: "));
	free(error);
	f = fopen(path, "w");
	fputs("two words\n", f);
	fclose(f);
	assert_int_equal(greylist_list_load(c, path, &l, &error), -1);
	assert_non_null(strstr(error, ":1: one network or domain per line"));
	free(error);
	unlink(path);
	assert_int_equal(greylist_list_load(c, path, &l, &error), -1);
	free(error);
	buf_deinit(&why);
	conf_unref(&c);
}

static void
test_shipped_whitelist_loads(void **state)
{
	const char *top = getenv("MXMOAT_TOP_SRCDIR");
	struct conf *c = conf_with("");
	struct greylist_list *l = NULL;
	struct buf path = BUF_INIT, why = BUF_INIT;
	struct netaddr a;
	char *error = NULL;

	buf_appendf(&path, "%s/share/greylist-whitelist", top != NULL ? top : ".");
	if (greylist_list_load(c, buf_cstr(&path), &l, &error) < 0)
		fail_msg("%s", error);
	assert_int_equal(greylist_key_ip_parse("209.85.220.41", &a), 0);
	assert_true(greylist_list_client(l, &a, NULL, &why));
	assert_int_equal(greylist_key_ip_parse("198.51.100.1", &a), 0);
	assert_true(greylist_list_client(l, &a, "a8-30.smtp-out.amazonses.com", &why));
	assert_false(greylist_list_client(l, &a, NULL, &why));
	greylist_list_free(&l);
	buf_deinit(&path);
	buf_deinit(&why);
	conf_unref(&c);
}

static void
test_config(void **state)
{
	struct conf *c = conf_with("");
	struct conf *bad = NULL;
	char *error = NULL;
	static const char *const bad_texts[] = {
		"[greylist]\nstage = connect\n",
		"[greylist]\nipv4_mask = 33\n",
		"[greylist]\nipv6_mask = 129\n",
		"[greylist]\nredis_failure = maybe\n",
		"[redis]\naddress = localhost:6379\n",
		"[redis]\nsentinels = 127.0.0.1:26379, nonsense\n",
	};
	size_t i;

	assert_false(c->greylist_enabled);
	assert_int_equal(c->greylist_stage, CONF_GREYLIST_RCPT);
	assert_int_equal(c->greylist_delay_ms, 5 * 60 * 1000);
	assert_int_equal(c->greylist_retry_window_ms, 2ull * 86400 * 1000);
	assert_int_equal(c->greylist_expire_ms, 35ull * 86400 * 1000);
	assert_int_equal(c->greylist_auto_whitelist, 5);
	assert_int_equal(c->greylist_ipv4_mask, 24);
	assert_int_equal(c->greylist_ipv6_mask, 64);
	assert_true(c->greylist_rdns_key);
	assert_int_equal(c->redis_connect_timeout_ms, 250);
	assert_int_equal(c->redis_command_timeout_ms, 250);
	assert_string_equal(c->redis_prefix, "mxmoat:");
	conf_unref(&c);
	for (i = 0; i < N_ELEMENTS(bad_texts); i++) {
		if (conf_load_string("t.conf", bad_texts[i], strlen(bad_texts[i]), &bad, &error) == 0)
			fail_msg("accepted: %s", bad_texts[i]);
		free(error);
	}
}

/* init() refuses contradictory settings (a reload keeps the old ones) */
static void
test_plugin_init(void **state)
{
	static const char *const bad[] = {
		"[greylist]\nenabled = yes\ndelay = 3d\nretry_window = 2d\nwhitelist_file = none\n",
		"[greylist]\nenabled = yes\ndata_min_score = 9\ndata_max_score = 3\n"
		"whitelist_file = none\n",
		"[greylist]\nenabled = yes\nwhitelist_file = /nonexistent/list\n",
		"[greylist]\nenabled = yes\nwhitelist_file = none\n[redis]\n"
		"sentinels = 127.0.0.1:26379\nsentinel_master =\n",
	};
	struct conf *c;
	void *st = NULL;
	bool enabled;
	char *error = NULL;
	size_t i;

	for (i = 0; i < N_ELEMENTS(bad); i++) {
		c = conf_with(bad[i]);
		if (greylist_rcpt_plugin.init(c, &st, &enabled, &error) == 0)
			fail_msg("init accepted: %s", bad[i]);
		free(error);
		error = NULL;
		conf_unref(&c);
	}
	/* stage picks one of the two descriptors */
	c = conf_with("[greylist]\nenabled = yes\nstage = data\nwhitelist_file = none\n");
	assert_int_equal(greylist_rcpt_plugin.init(c, &st, &enabled, &error), 0);
	assert_false(enabled);
	assert_int_equal(greylist_data_plugin.init(c, &st, &enabled, &error), 0);
	assert_true(enabled);
	greylist_data_plugin.deinit(st);
	conf_unref(&c);
}

/* check(): authenticated and trusted clients never reach Redis; the data
 * stage only looks at the band */
static void
test_plugin_check(void **state)
{
	struct conf *c = conf_with("[greylist]\nenabled = yes\nstage = data\nwhitelist_file = none\n"
				   "data_min_score = 3\ndata_max_score = 10\n");
	const char *rcpts[] = { "b@example.com" };
	struct scan_request req;
	struct scan_result res;
	void *st = NULL;
	bool enabled;
	char *error = NULL;

	assert_int_equal(greylist_data_plugin.init(c, &st, &enabled, &error), 0);
	scan_result_init(&res);
	memset(&req, 0, sizeof(req));
	req.stage = SCAN_STAGE_DATA;
	req.client_ip = "198.51.100.1";
	req.client_name = "[UNAVAILABLE]";
	req.mail_from = "a@example.org";
	req.rcpts = rcpts;
	req.nrcpts = 1;
	req.so_far = &res;
	assert_false(greylist_data_plugin.check(st, &req)); /* score 0 */
	scan_result_add(&res, "t", "X", 3, NULL);
	assert_true(greylist_data_plugin.check(st, &req));
	req.authenticated = true;
	assert_false(greylist_data_plugin.check(st, &req));
	req.authenticated = false;
	req.trusted = true;
	assert_false(greylist_data_plugin.check(st, &req));
	req.trusted = false;
	scan_result_add(&res, "t", "Y", 7, NULL);
	assert_false(greylist_data_plugin.check(st, &req)); /* 10: at the top */
	scan_result_deinit(&res);
	greylist_data_plugin.deinit(st);
	conf_unref(&c);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1000 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* nothing listens: the first call fails, the next ones fail at once
 * without touching the network until reconnect_min has passed */
static void
test_kv_fails_fast_while_down(void **state)
{
	struct conf *c = conf_with("[redis]\naddress = 127.0.0.1:1\nreconnect_min = 300ms\n"
				   "reconnect_max = 300ms\n");
	struct kv *kv = NULL;
	struct kv_stats st;
	struct timespec t0;
	const char *error = NULL;
	char *err = NULL;
	int i;

	assert_int_equal(kv_new(c, &kv, &err), 0);
	assert_null(kv_callv(kv, &error, "PING", NULL));
	assert_non_null(strstr(error, "redis connect"));
	kv_get_stats(kv, &st);
	assert_false(st.up);
	assert_int_equal(st.failures, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 100; i++)
		assert_null(kv_callv(kv, &error, "PING", NULL));
	assert_true(ms_since(&t0) < 50);
	kv_get_stats(kv, &st);
	assert_int_equal(st.skipped, 100);
	assert_int_equal(st.failures, 1);
	usleep(350 * 1000);
	/* one probe after the wait, failing again */
	assert_null(kv_callv(kv, &error, "PING", NULL));
	kv_get_stats(kv, &st);
	assert_int_equal(st.failures, 2);
	kv_free(&kv);
	conf_unref(&c);
	/* sentinels without a master name */
	c = conf_with("[redis]\nsentinels = 127.0.0.1:1\nsentinel_master =\n");
	assert_int_equal(kv_new(c, &kv, &err), -1);
	free(err);
	conf_unref(&c);
}

static void
test_cache(void **state)
{
	struct greylist_cache *c = greylist_cache_new(64, 200);
	char key[32];
	int v = 0, i, hits = 0;

	assert_int_equal(greylist_cache_size(c), 64);
	assert_false(greylist_cache_get(c, "mxmoat:gl:t:a", &v));
	greylist_cache_put(c, "mxmoat:gl:t:a", 7);
	assert_true(greylist_cache_get(c, "mxmoat:gl:t:a", &v));
	assert_int_equal(v, 7);
	assert_false(greylist_cache_get(c, "mxmoat:gl:t:b", &v));
	/* bounded: 1000 keys in 64 entries keep at most 64 */
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		greylist_cache_put(c, key, i);
	}
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		if (greylist_cache_get(c, key, &v)) {
			assert_int_equal(v, i);
			hits++;
		}
	}
	assert_true(hits > 0 && hits <= 64);
	/* the TTL */
	greylist_cache_put(c, "late", 1);
	usleep(250 * 1000);
	assert_false(greylist_cache_get(c, "late", &v));
	greylist_cache_free(&c);
	/* off */
	c = greylist_cache_new(64, 0);
	greylist_cache_put(c, "x", 1);
	assert_false(greylist_cache_get(c, "x", &v));
	assert_int_equal(greylist_cache_size(c), 0);
	greylist_cache_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sender_folding),
		cmocka_unit_test(test_sender_domain_and_rcpt),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_org_domain_heuristic),
		cmocka_unit_test(test_org_domain_psl),
		cmocka_unit_test(test_dynamic_names),
		cmocka_unit_test(test_client_keys),
		cmocka_unit_test(test_hashed_keys),
		cmocka_unit_test(test_static_whitelists),
		cmocka_unit_test(test_shipped_whitelist_loads),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_plugin_init),
		cmocka_unit_test(test_plugin_check),
		cmocka_unit_test(test_kv_fails_fast_while_down),
		cmocka_unit_test(test_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
