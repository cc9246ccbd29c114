#include "core/netaddr.h"

#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>

static void
test_endpoints(void **state)
{
	static const struct {
		const char *in;
		int ok;
		const char *formatted;
	} cases[] = {
		{ "127.0.0.1:25", 0, "127.0.0.1:25" },
		{ "[::1]:2525", 0, "[::1]:2525" },
		{ "*:25", 0, "0.0.0.0:25" },
		{ "unix:/run/x.sock", 0, "unix:/run/x.sock" },
		{ "localhost:25", -1, NULL },
		{ "127.0.0.1", -1, NULL },
		{ "127.0.0.1:99999", -1, NULL },
		{ "127.0.0.1:", -1, NULL },
		{ "[::1:25", -1, NULL },
		{ "unix:", -1, NULL },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct netaddr a;
		const char *error = NULL;
		char out[128];
		int r = netaddr_parse_endpoint(cases[i].in, &a, &error);

		assert_int_equal(r, cases[i].ok);
		if (r == 0) {
			netaddr_format(&a, out, sizeof(out));
			assert_string_equal(out, cases[i].formatted);
		} else {
			assert_non_null(error);
		}
	}
}

static void
sockaddr_of(const char *ip, struct netaddr *a)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		netaddr_from_sockaddr(a, (struct sockaddr *)s6, sizeof(*s6));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
		netaddr_from_sockaddr(a, (struct sockaddr *)s4, sizeof(*s4));
	}
}

static void
test_cidr(void **state)
{
	static const struct {
		const char *net;
		const char *ip;
		bool match;
	} cases[] = {
		{ "127.0.0.0/8", "127.1.2.3", true },
		{ "127.0.0.0/8", "128.0.0.1", false },
		{ "192.0.2.7", "192.0.2.7", true },
		{ "192.0.2.7", "192.0.2.8", false },
		{ "10.0.0.0/9", "10.127.255.255", true },
		{ "10.0.0.0/9", "10.128.0.0", false },
		{ "0.0.0.0/0", "203.0.113.9", true },
		{ "2001:db8::/32", "2001:db8:1::5", true },
		{ "2001:db8::/32", "2001:db9::5", false },
		/* IPv4-mapped clients match IPv4 networks */
		{ "198.51.100.0/24", "::ffff:198.51.100.20", true },
		{ "::/0", "198.51.100.20", false },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct cidr c;
		struct netaddr a;
		const char *error;

		assert_int_equal(cidr_parse(cases[i].net, &c, &error), 0);
		sockaddr_of(cases[i].ip, &a);
		assert_int_equal(cidr_match(&c, &a), cases[i].match);
	}
}

static void
test_cidr_bad(void **state)
{
	static const char *const bad[] = { "", "10.0.0.0/33", "10.0.0.0/", "x/8", "::1/129",
					   "10.0.0.0/-1", "10.0.0.0/8x" };
	size_t i;

	for (i = 0; i < N_ELEMENTS(bad); i++) {
		struct cidr c;
		const char *error = NULL;

		assert_int_equal(cidr_parse(bad[i], &c, &error), -1);
		assert_non_null(error);
	}
}

static void
test_cidr_canonical(void **state)
{
	struct cidr c;
	const char *error;
	char out[64];

	assert_int_equal(cidr_parse("192.0.2.77/24", &c, &error), 0);
	cidr_format(&c, out, sizeof(out));
	assert_string_equal(out, "192.0.2.0/24");
}

static void
test_parse_ip(void **state)
{
	static const struct {
		const char *in;
		const char *ip; /* NULL = refused */
	} cases[] = {
		{ "192.0.2.1", "192.0.2.1" },
		{ "2001:db8::1", "2001:db8::1" },
		{ "IPV6:2001:db8::25", "2001:db8::25" },
		{ "ipv6:::1", "::1" },
		{ "::ffff:198.51.100.7", "198.51.100.7" },
		{ "192.0.2.1:25", NULL },
		{ "[2001:db8::1]", NULL },
		{ "unix", NULL },
		{ "", NULL },
	};
	struct netaddr a;
	char ip[NETADDR_IP_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].ip == NULL) {
			assert_int_equal(netaddr_parse_ip(cases[i].in, &a), -1);
			continue;
		}
		assert_int_equal(netaddr_parse_ip(cases[i].in, &a), 0);
		netaddr_ip(&a, ip);
		assert_string_equal(ip, cases[i].ip);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_cidr_bad),
		cmocka_unit_test(test_cidr_canonical),
		cmocka_unit_test(test_parse_ip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
