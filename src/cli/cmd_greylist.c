/*
 * mxmoat greylist [-c PATH] list [--client IP [--name HOST] [--from A] [--rcpt A]]
 * mxmoat greylist [-c PATH] whitelist --client IP [--name HOST] [--from A --rcpt A]
 *                                     [--ttl DURATION]
 * mxmoat greylist [-c PATH] drop (--client IP [--name HOST] [--from A --rcpt A] | --all)
 *
 * The greylisting state in Redis ([redis] of the configuration), keyed as
 * the daemon keys it (greylist_key.h):
 *   list       every entry (auto-whitelisted clients with their count,
 *              triplets pending or passed, with age and TTL) and a count;
 *              with --client (and --from/--rcpt): that client's
 *              auto-whitelist entry, that triplet, and which static
 *              whitelist would let it through.
 *   whitelist  --client: whitelist the client's network (or, with --name
 *              and rdns_key, its organisational domain) on every node, for
 *              --ttl (default [greylist] expire); with --from and --rcpt:
 *              let that triplet pass now instead.
 *   drop       the client's auto-whitelist entry, or the triplet, or with
 *              --all every greylisting key under the prefix.
 * Exit status: 0 done, 1 Redis unavailable or an error, 2 usage.
 */
#include "cli/cli.h"
#include "core/xalloc.h"
#include "kv/kv.h"
#include "plugins/greylist/greylist_key.h"
#include "plugins/greylist/greylist_list.h"
#include "plugins/greylist/greylist_plugin.h"

#include <time.h>
#include <unistd.h>

#define BATCH 500

struct opts {
	const char *client, *name, *from, *rcpt;
	uint64_t ttl_ms;
	bool all;
};

static const char list_script[] =
	"local out = {}\n"
	"for i, k in ipairs(KEYS) do\n"
	"  out[#out + 1] = redis.call('GET', k) or ''\n"
	"  out[#out + 1] = redis.call('PTTL', k)\n"
	"end\n"
	"return out\n";

static const char pass_script[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"redis.call('SET', KEYS[1], now .. ',1', 'PX', ARGV[1])\n"
	"return now\n";

static void
format_ttl(int64_t ms, char *out, size_t outlen)
{
	long long sec = (ms + 999) / 1000;

	if (ms < 0)
		snprintf(out, outlen, "none");
	else if (sec >= 86400)
		snprintf(out, outlen, "%lldd%lldh", sec / 86400, sec % 86400 / 3600);
	else if (sec >= 3600)
		snprintf(out, outlen, "%lldh%lldm", sec / 3600, sec % 3600 / 60);
	else if (sec >= 60)
		snprintf(out, outlen, "%lldm%llds", sec / 60, sec % 60);
	else
		snprintf(out, outlen, "%llds", sec);
}

static void
format_time(long long ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* one entry: KIND from the key, state from the value */
static void
print_entry(const char *key, const char *value, long long pttl, long long now_ms,
	    unsigned long counts[4])
{
	const char *kind = strstr(key, "gl:");
	char ttl[32], when[32];

	format_ttl(pttl, ttl, sizeof(ttl));
	if (kind == NULL || strlen(kind) < 5) {
		printf("other    %s ttl=%s\n", key, ttl);
		return;
	}
	if (kind[3] == 'a') {
		char f1[32] = "", f2[32] = "";
		const char *label = "";
		int n = sscanf(value, "%31[^,],%31[^,]", f1, f2);
		const char *third = strchr(value, ',');

		if (third != NULL)
			third = strchr(third + 1, ',');
		if (third != NULL)
			label = third + 1;
		(void)n;
		if (strcmp(f1, "m") == 0) {
			printf("whitelist %s manual client=%s ttl=%s\n", key, label, ttl);
			counts[3]++;
		} else {
			printf("awl      %s count=%s client=%s ttl=%s\n", key, f1, label, ttl);
			counts[2]++;
		}
		return;
	}
	{
		long long first = 0, passes = 0;

		if (sscanf(value, "%lld,%lld", &first, &passes) != 2) {
			printf("%-8s %s value=\"%s\" ttl=%s\n", kind[3] == 'm' ? "message" : "triplet",
			       key, value, ttl);
			return;
		}
		format_time(first, when, sizeof(when));
		printf("%-8s %s %s passes=%lld first=%s age=%llds ttl=%s\n",
		       kind[3] == 'm' ? "message" : "triplet", key, passes > 0 ? "passed" : "pending",
		       passes, when, (now_ms - first) / 1000, ttl);
		counts[passes > 0 ? 1 : 0]++;
	}
}

static long long
server_now_ms(struct kv *kv)
{
	const char *error;
	redisReply *r = kv_callv(kv, &error, "TIME", NULL);
	long long ms = 0;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
		ms = atoll(r->element[0]->str) * 1000 + atoll(r->element[1]->str) / 1000;
	kv_reply_free(r);
	return ms;
}

static int
show_batch(struct kv *kv, char **keys, size_t n, long long now_ms, unsigned long counts[4])
{
	const char **argv = xcalloc(n + 3, sizeof(char *));
	char nk[16];
	const char *error;
	redisReply *r;
	size_t i;

	snprintf(nk, sizeof(nk), "%zu", n);
	argv[0] = "EVAL";
	argv[1] = list_script;
	argv[2] = nk;
	for (i = 0; i < n; i++)
		argv[3 + i] = keys[i];
	r = kv_call(kv, (int)(n + 3), argv, NULL, &error);
	free(argv);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 * n) {
		fprintf(stderr, "mxmoat: redis: %s\n",
			r == NULL ? error : r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
		kv_reply_free(r);
		return -1;
	}
	for (i = 0; i < n; i++)
		print_entry(keys[i], r->element[2 * i]->str != NULL ? r->element[2 * i]->str : "",
			    r->element[2 * i + 1]->integer, now_ms, counts);
	kv_reply_free(r);
	return 0;
}

/* SCAN over PREFIX "gl:*"; each batch of keys to fn */
static int
scan_keys(struct kv *kv, int (*fn)(struct kv *, char **, size_t, void *), void *ctx)
{
	struct buf match = BUF_INIT;
	char cursor[32] = "0";
	int ret = 0;

	buf_appendf(&match, "%sgl:*", kv_prefix(kv));
	do {
		const char *error;
		redisReply *r = kv_callv(kv, &error, "SCAN", cursor, "MATCH", buf_cstr(&match),
					 "COUNT", "1000", NULL);
		char **keys;
		size_t i, n;

		if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			fprintf(stderr, "mxmoat: redis: %s\n", r == NULL ? error : "bad SCAN reply");
			kv_reply_free(r);
			ret = -1;
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		n = r->element[1]->elements;
		keys = xcalloc(n + 1, sizeof(char *));
		for (i = 0; i < n; i++)
			keys[i] = r->element[1]->element[i]->str;
		for (i = 0; i < n && ret == 0; i += BATCH)
			ret = fn(kv, keys + i, MIN((size_t)BATCH, n - i), ctx);
		free(keys);
		kv_reply_free(r);
	} while (ret == 0 && strcmp(cursor, "0") != 0);
	buf_deinit(&match);
	return ret;
}

struct list_ctx {
	long long now_ms;
	unsigned long counts[4];
};

static int
list_fn(struct kv *kv, char **keys, size_t n, void *arg)
{
	struct list_ctx *lc = arg;

	return show_batch(kv, keys, n, lc->now_ms, lc->counts);
}

static int
drop_fn(struct kv *kv, char **keys, size_t n, void *arg)
{
	const char **argv = xcalloc(n + 1, sizeof(char *));
	const char *error;
	redisReply *r;
	size_t i;

	argv[0] = "UNLINK";
	for (i = 0; i < n; i++)
		argv[1 + i] = keys[i];
	r = kv_call(kv, (int)(n + 1), argv, NULL, &error);
	free(argv);
	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		fprintf(stderr, "mxmoat: redis: %s\n", r == NULL ? error : "bad UNLINK reply");
		kv_reply_free(r);
		return -1;
	}
	*(unsigned long *)arg += (unsigned long)r->integer;
	kv_reply_free(r);
	return 0;
}

/* the keys of --client/--name/--from/--rcpt, as the daemon computes them */
struct keys {
	struct buf client, sender, sdomain, triplet, awl, label;
};

static int
compute_keys(const struct conf *c, struct kv *kv, const struct greylist_psl *psl,
	     const struct opts *o, struct keys *k)
{
	struct greylist_key_opts ko = { c->greylist_ipv4_mask, c->greylist_ipv6_mask,
					c->greylist_rdns_key, psl };
	char ip[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(o->client, '/');
	struct buf rcpt = BUF_INIT;

	snprintf(ip, sizeof(ip), "%.*s", slash != NULL ? (int)(slash - o->client) : (int)strlen(o->client),
		 o->client);
	if (slash != NULL) {
		unsigned int want = strchr(ip, ':') != NULL ? c->greylist_ipv6_mask : c->greylist_ipv4_mask;

		if ((unsigned int)atoi(slash + 1) != want) {
			fprintf(stderr, "mxmoat: greylisting keys clients by /%u networks; for other "
					"networks use [greylist] whitelist_clients\n", want);
			return -1;
		}
	}
	if (greylist_key_client(&ko, ip, o->name != NULL ? o->name : "", &k->client) < 0) {
		fprintf(stderr, "mxmoat: --client %s: not an IP address\n", o->client);
		return -1;
	}
	greylist_key_sender(o->from, &k->sender);
	greylist_key_sender_domain(o->from, &k->sdomain);
	if (o->rcpt != NULL) {
		greylist_key_rcpt(o->rcpt, &rcpt);
		greylist_key_triplet(kv_prefix(kv), buf_cstr(&k->client), buf_cstr(&k->sender),
				     buf_cstr(&rcpt), &k->triplet);
	}
	buf_append(&k->label, k->client.data, k->client.len);
	if (c->greylist_auto_whitelist_key == CONF_GREYLIST_AWL_SENDER_DOMAIN) {
		greylist_key_awl(kv_prefix(kv), buf_cstr(&k->client), buf_cstr(&k->sdomain), &k->awl);
		buf_appendf(&k->label, " %s", k->sdomain.len > 0 ? buf_cstr(&k->sdomain) : "<>");
	} else {
		greylist_key_awl(kv_prefix(kv), buf_cstr(&k->client), NULL, &k->awl);
	}
	buf_deinit(&rcpt);
	return 0;
}

static void
keys_deinit(struct keys *k)
{
	buf_deinit(&k->client);
	buf_deinit(&k->sender);
	buf_deinit(&k->sdomain);
	buf_deinit(&k->triplet);
	buf_deinit(&k->awl);
	buf_deinit(&k->label);
}

static int
lookup(const struct conf *c, struct kv *kv, const struct opts *o, const struct keys *k)
{
	struct greylist_list *list = NULL;
	struct buf why = BUF_INIT;
	struct netaddr ip;
	char *error = NULL;
	bool is_default;
	const char *path = greylist_plugin_whitelist_path(c, &is_default);
	unsigned long counts[4] = { 0, 0, 0, 0 };
	char *keys[2];
	size_t n = 0;
	char ipbuf[INET6_ADDRSTRLEN + 8];

	printf("client key: %s\n", buf_cstr(&k->client));
	if (o->from != NULL)
		printf("sender: %s\n", buf_cstr(&k->sender));
	if (is_default && path != NULL && access(path, R_OK) != 0)
		path = NULL;
	snprintf(ipbuf, sizeof(ipbuf), "%.*s", (int)strcspn(o->client, "/"), o->client);
	if (greylist_list_load(c, path, &list, &error) < 0) {
		fprintf(stderr, "mxmoat: %s\n", error);
		free(error);
	} else if (greylist_key_ip_parse(ipbuf, &ip) == 0) {
		if (greylist_list_client(list, &ip, o->name, &why) ||
		    (o->from != NULL && greylist_list_sender(list, buf_cstr(&k->sdomain), &why)) ||
		    (o->rcpt != NULL && greylist_list_rcpt(list, o->rcpt, &why)))
			printf("static whitelist: %s\n", buf_cstr(&why));
		else
			printf("static whitelist: no\n");
	}
	greylist_list_free(&list);
	buf_deinit(&why);
	keys[n++] = k->awl.data;
	if (k->triplet.len > 0)
		keys[n++] = k->triplet.data;
	return show_batch(kv, keys, n, server_now_ms(kv), counts);
}

static int
parse_ttl(const char *s, uint64_t *ms_r)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t mul = 1000;

	if (end == s)
		return -1;
	if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0)
		mul = 60000;
	else if (strcmp(end, "h") == 0)
		mul = 3600000;
	else if (strcmp(end, "d") == 0)
		mul = 86400000;
	else if (*end != '\0' && strcmp(end, "s") != 0)
		return -1;
	*ms_r = v * mul;
	return *ms_r > 0 ? 0 : -1;
}

static int
simple(struct kv *kv, const char *what, const char *a0, const char *a1, const char *a2,
       const char *a3, const char *a4)
{
	const char *error;
	redisReply *r = kv_callv(kv, &error, a0, a1, a2, a3, a4, NULL);

	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "mxmoat: redis: %s\n", r == NULL ? error : r->str);
		kv_reply_free(r);
		return -1;
	}
	if (r->type == REDIS_REPLY_INTEGER)
		printf("%s: %lld\n", what, r->integer);
	else
		printf("%s\n", what);
	kv_reply_free(r);
	return 0;
}

int
cmd_greylist(int argc, char **argv)
{
	const char *path = cli_default_conf_path(), *verb = NULL;
	struct opts o = { NULL, NULL, NULL, NULL, 0, false };
	struct greylist_psl *psl = NULL;
	struct keys k;
	struct conf *c;
	struct kv *kv = NULL;
	char *error = NULL;
	int i, ret = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--client") == 0 && i + 1 < argc)
			o.client = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			o.name = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			o.from = argv[++i];
		else if (strcmp(argv[i], "--rcpt") == 0 && i + 1 < argc)
			o.rcpt = argv[++i];
		else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
			if (parse_ttl(argv[++i], &o.ttl_ms) < 0)
				cli_usage();
		} else if (strcmp(argv[i], "--all") == 0)
			o.all = true;
		else if (verb == NULL && argv[i][0] != '-')
			verb = argv[i];
		else
			cli_usage();
	}
	if (verb == NULL || (strcmp(verb, "list") != 0 && strcmp(verb, "whitelist") != 0 &&
			     strcmp(verb, "drop") != 0))
		cli_usage();
	if ((o.rcpt != NULL && o.client == NULL) ||
	    (strcmp(verb, "whitelist") == 0 && (o.client == NULL || (o.rcpt != NULL) != (o.from != NULL))) ||
	    (strcmp(verb, "drop") == 0 && o.client == NULL && !o.all))
		cli_usage();
	c = cli_load_conf_default(path);
	if (kv_new(c, &kv, &error) < 0) {
		fprintf(stderr, "mxmoat: %s\n", error);
		free(error);
		conf_unref(&c);
		return 1;
	}
	if (c->greylist_public_suffix_list[0] != '\0' &&
	    greylist_key_psl_load(c->greylist_public_suffix_list, &psl, &error) < 0) {
		free(error); /* the daemon falls back the same way */
		error = NULL;
	}
	memset(&k, 0, sizeof(k));
	if (o.client != NULL && compute_keys(c, kv, psl, &o, &k) < 0)
		goto out;
	if (strcmp(verb, "list") == 0) {
		struct list_ctx lc;

		if (o.client != NULL) {
			ret = lookup(c, kv, &o, &k) < 0 ? 1 : 0;
			goto out;
		}
		memset(&lc, 0, sizeof(lc));
		lc.now_ms = server_now_ms(kv);
		if (scan_keys(kv, list_fn, &lc) < 0)
			goto out;
		printf("%lu triplets pending, %lu passed, %lu clients auto-whitelisted, "
		       "%lu whitelisted by hand\n",
		       lc.counts[0], lc.counts[1], lc.counts[2], lc.counts[3]);
		ret = 0;
	} else if (strcmp(verb, "whitelist") == 0) {
		char ttl[24];

		snprintf(ttl, sizeof(ttl), "%llu",
			 (unsigned long long)(o.ttl_ms != 0 ? o.ttl_ms : c->greylist_expire_ms));
		if (o.rcpt != NULL) {
			ret = simple(kv, "triplet passes", "EVAL", pass_script, "1",
				     buf_cstr(&k.triplet), ttl) < 0;
			if (ret == 0)
				printf("%s %s -> %s\n", buf_cstr(&k.client), buf_cstr(&k.sender), o.rcpt);
		} else {
			struct buf value = BUF_INIT;

			buf_appendf(&value, "m,0,%s", buf_cstr(&k.label));
			ret = simple(kv, "whitelisted", "SET", buf_cstr(&k.awl), buf_cstr(&value),
				     "PX", ttl) < 0;
			if (ret == 0)
				printf("%s for %s\n", buf_cstr(&k.label), ttl);
			buf_deinit(&value);
		}
	} else if (o.all) {
		unsigned long n = 0;

		ret = scan_keys(kv, drop_fn, &n) < 0;
		printf("dropped %lu keys\n", n);
	} else {
		ret = simple(kv, "dropped", "DEL", k.triplet.len > 0 ? buf_cstr(&k.triplet)
								     : buf_cstr(&k.awl),
			     NULL, NULL, NULL) < 0;
	}
out:
	keys_deinit(&k);
	greylist_key_psl_free(&psl);
	kv_free(&kv);
	conf_unref(&c);
	return ret;
}
