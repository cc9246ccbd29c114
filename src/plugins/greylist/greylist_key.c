#include "plugins/greylist/greylist_key.h"
#include "core/xalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/evp.h>
#include <pthread.h>

/* the Public Suffix List: rules as written ("com", "*.ck", "!www.ck"),
 * sorted for bsearch */
struct greylist_psl {
	char **rules;
	size_t n;
};

#define PSL_MAX_RULES 100000
#define NAME_MAX_LEN 253

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
greylist_key_psl_load(const char *path, struct greylist_psl **psl_r, char **error_r)
{
	struct greylist_psl *psl;
	char line[512];
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		struct buf b = BUF_INIT;

		buf_appendf(&b, "%s: %s", path, strerror(errno));
		*error_r = buf_steal(&b);
		return -1;
	}
	psl = xcalloc(1, sizeof(*psl));
	while (fgets(line, sizeof(line), f) != NULL && psl->n < PSL_MAX_RULES) {
		size_t len = strcspn(line, " \t\r\n"), i;

		if (len == 0 || (line[0] == '/' && line[1] == '/'))
			continue;
		line[len] = '\0';
		for (i = 0; i < len; i++)
			line[i] = (char)tolower((unsigned char)line[i]);
		if ((psl->n & 1023) == 0)
			psl->rules = xreallocarray(psl->rules, psl->n + 1024, sizeof(char *));
		psl->rules[psl->n++] = xstrndup(line, len);
	}
	fclose(f);
	if (psl->n == 0) {
		struct buf b = BUF_INIT;

		greylist_key_psl_free(&psl);
		buf_appendf(&b, "%s: no rules", path);
		*error_r = buf_steal(&b);
		return -1;
	}
	qsort(psl->rules, psl->n, sizeof(char *), cmp_str);
	*psl_r = psl;
	return 0;
}

void
greylist_key_psl_free(struct greylist_psl **pslp)
{
	struct greylist_psl *psl = *pslp;
	size_t i;

	if (psl == NULL)
		return;
	*pslp = NULL;
	for (i = 0; i < psl->n; i++)
		free(psl->rules[i]);
	free(psl->rules);
	free(psl);
}

size_t
greylist_key_psl_count(const struct greylist_psl *psl)
{
	return psl != NULL ? psl->n : 0;
}

static bool
psl_has(const struct greylist_psl *psl, const char *prefix, const char *s)
{
	char tmp[NAME_MAX_LEN + 8];
	const char *key = tmp;

	snprintf(tmp, sizeof(tmp), "%s%s", prefix, s);
	return bsearch(&key, psl->rules, psl->n, sizeof(char *), cmp_str) != NULL;
}

/* labels of name from the right: starts[k] is where the suffix of k+1
 * labels begins */
static size_t
label_starts(const char *name, size_t len, size_t starts[], size_t max)
{
	size_t n = 0, i = len;

	while (n < max) {
		while (i > 0 && name[i - 1] != '.')
			i--;
		starts[n++] = i;
		if (i == 0)
			break;
		i--; /* the dot */
	}
	return n;
}

static size_t
public_suffix_labels(const struct greylist_psl *psl, const char *name, const size_t starts[],
		     size_t nlabels)
{
	static const char *const short_sld[] = { "co", "com", "net", "org", "gov", "ac", "edu",
						 "ne", "or", "go", "mil", "ltd", "plc", "sch" };
	size_t k, ps = 1; /* the default rule "*": the TLD */

	if (psl == NULL) {
		size_t tld_len = strlen(name + starts[0]);

		if (nlabels >= 3 && tld_len == 2) {
			size_t i, sld_len = starts[0] - 1 - starts[1];

			for (i = 0; i < N_ELEMENTS(short_sld); i++) {
				if (strlen(short_sld[i]) == sld_len &&
				    strncmp(name + starts[1], short_sld[i], sld_len) == 0)
					return 2;
			}
		}
		return 1;
	}
	for (k = 0; k < nlabels; k++) {
		const char *suffix = name + starts[k];

		if (psl_has(psl, "!", suffix))
			return k; /* exception: one label less */
		if (psl_has(psl, "", suffix))
			ps = k + 1;
		else if (k + 1 < nlabels && psl_has(psl, "*.", suffix))
			ps = k + 2; /* *.suffix: any label below it is public */
	}
	return ps;
}

bool
greylist_key_org_domain(const struct greylist_psl *psl, const char *name, struct buf *out)
{
	char lower[NAME_MAX_LEN + 1];
	size_t starts[128];
	size_t len = strlen(name), i, nlabels, ps;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > NAME_MAX_LEN || name[0] == '[')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!(isalnum(c) || c == '-' || c == '.' || c == '_'))
			return false;
		lower[i] = (char)tolower(c);
	}
	lower[len] = '\0';
	nlabels = label_starts(lower, len, starts, N_ELEMENTS(starts));
	ps = public_suffix_labels(psl, lower, starts, nlabels);
	if (ps >= nlabels)
		return false;
	buf_append_str(out, lower + starts[ps]);
	return true;
}

/* words that mark address pools in host names */
static const char *const dynamic_words[] = {
	"dyn",   "dynamic",  "dhcp",   "dsl",  "adsl",  "vdsl",   "xdsl",     "cable",
	"pool",  "ppp",      "pppoe",  "dial", "dialup", "client", "customer", "cust",
	"broadband", "bb",   "residential", "res", "home", "user", "users", "mobile",
	"wireless", "wifi",  "lte",    "3g",   "4g",    "5g",     "ip",       "host",
	"nat",   "unknown",  "unassigned", "catv", "fibre", "fiber", "ftth", "static",
};

static bool
is_dynamic_word(const char *w, size_t len)
{
	size_t i;

	for (i = 0; i < N_ELEMENTS(dynamic_words); i++) {
		if (strlen(dynamic_words[i]) == len && strncasecmp(dynamic_words[i], w, len) == 0)
			return true;
	}
	return false;
}

bool
greylist_key_is_dynamic(const char *name, const char *ip)
{
	unsigned int octets[4];
	bool v4 = false, used[4] = { false, false, false, false };
	unsigned int matches = 0;
	size_t len = strlen(name), i = 0, host_end;
	const char *last_dot;

	if (sscanf(ip, "%u.%u.%u.%u", &octets[0], &octets[1], &octets[2], &octets[3]) == 4)
		v4 = true;
	/* look at the labels left of the last two only (the domain itself
	 * may well contain words like "cable") */
	last_dot = memrchr(name, '.', len);
	host_end = len;
	if (last_dot != NULL) {
		const char *second = memrchr(name, '.', (size_t)(last_dot - name));

		host_end = second != NULL ? (size_t)(second - name) : 0;
	}
	while (i < host_end) {
		size_t start = i;

		if (isdigit((unsigned char)name[i])) {
			unsigned long v = 0;

			while (i < host_end && isdigit((unsigned char)name[i])) {
				v = v < 100000 ? v * 10 + (unsigned long)(name[i] - '0') : v;
				i++;
			}
			if (v4) {
				size_t k;

				for (k = 0; k < 4; k++) {
					if (!used[k] && octets[k] == v) {
						used[k] = true;
						matches++;
						break;
					}
				}
			}
		} else if (isalpha((unsigned char)name[i])) {
			while (i < host_end && isalpha((unsigned char)name[i]))
				i++;
			if (is_dynamic_word(name + start, i - start))
				return true;
		} else {
			i++;
		}
	}
	/* three of the four octets: 1-2-3-4.isp, cpe-2-3-4; not a8-30 (SES) */
	return matches >= 3;
}

static void
append_lower(struct buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf_append_char(out, (char)tolower((unsigned char)s[i]));
}

static bool
is_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* the local part with BATV and SRS undone: may change the domain too */
static void
fold_local(const char *local, size_t llen, const char *domain, struct buf *local_r,
	   struct buf *domain_r)
{
	char *l = xstrndup(local, llen);
	char *p = l, *q;
	size_t i;

	for (i = 0; l[i] != '\0'; i++)
		l[i] = (char)tolower((unsigned char)l[i]);
	buf_append_str(domain_r, domain);
	/* BATV: prvs=TAG=user, msprvs1=TAG=user, btv1==TAG==user */
	if (strncmp(p, "prvs=", 5) == 0 || strncmp(p, "msprvs1=", 8) == 0) {
		q = strchr(strchr(p, '=') + 1, '=');
		if (q != NULL && q[1] != '\0')
			p = q + 1;
	} else if (strncmp(p, "btv1==", 6) == 0) {
		q = strstr(p + 6, "==");
		if (q != NULL && q[2] != '\0')
			p = q + 2;
	}
	/* SRS0=HASH=TT=domain=user, SRS1=HASH=fwd==HASH=TT=domain=user */
	if ((strncmp(p, "srs0", 4) == 0 || strncmp(p, "srs1", 4) == 0) &&
	    (p[4] == '=' || p[4] == '+' || p[4] == '-')) {
		char *rest = p[3] == '1' ? strstr(p + 5, "==") : p + 4;
		char *f[4];
		size_t n = 0;

		if (rest != NULL) {
			rest += p[3] == '1' ? 2 : 1;
			/* HASH=TT=domain=user */
			f[n++] = rest;
			while (n < 4 && (rest = strchr(rest, '=')) != NULL) {
				*rest++ = '\0';
				f[n++] = rest;
			}
			if (n == 4 && f[2][0] != '\0' && f[3][0] != '\0') {
				buf_reset(domain_r);
				buf_append_str(domain_r, f[2]);
				p = f[3];
			}
		}
	}
	/* +detail */
	q = strchr(p, '+');
	if (q != NULL && q != p)
		*q = '\0';
	/* VERP numbers */
	for (i = 0; p[i] != '\0';) {
		if (isdigit((unsigned char)p[i]) && (i == 0 || !is_word(p[i - 1]))) {
			size_t j = i;

			while (isdigit((unsigned char)p[j]))
				j++;
			if (!is_word(p[j])) {
				buf_append_char(local_r, '#');
				i = j;
				continue;
			}
			buf_append(local_r, p + i, j - i);
			i = j;
			continue;
		}
		buf_append_char(local_r, p[i++]);
	}
	free(l);
}

static void
sender_parts(const char *addr, struct buf *local_r, struct buf *domain_r)
{
	const char *at = strrchr(addr, '@');
	struct buf dom = BUF_INIT;

	if (at == NULL) {
		fold_local(addr, strlen(addr), "", local_r, domain_r);
		return;
	}
	append_lower(&dom, at + 1, strlen(at + 1));
	fold_local(addr, (size_t)(at - addr), buf_cstr(&dom), local_r, domain_r);
	buf_deinit(&dom);
	/* SRS may have brought a domain in any case */
	{
		size_t i;

		for (i = 0; i < domain_r->len; i++)
			domain_r->data[i] = (char)tolower((unsigned char)domain_r->data[i]);
	}
}

void
greylist_key_sender(const char *addr, struct buf *out)
{
	struct buf local = BUF_INIT, domain = BUF_INIT;

	if (addr == NULL || addr[0] == '\0') {
		buf_append_str(out, "<>");
		return;
	}
	sender_parts(addr, &local, &domain);
	buf_append(out, local.data, local.len);
	if (domain.len > 0) {
		buf_append_char(out, '@');
		buf_append(out, domain.data, domain.len);
	}
	buf_deinit(&local);
	buf_deinit(&domain);
}

void
greylist_key_sender_domain(const char *addr, struct buf *out)
{
	struct buf local = BUF_INIT, domain = BUF_INIT;

	if (addr == NULL || addr[0] == '\0')
		return;
	sender_parts(addr, &local, &domain);
	buf_append(out, domain.data, domain.len);
	buf_deinit(&local);
	buf_deinit(&domain);
}

void
greylist_key_rcpt(const char *addr, struct buf *out)
{
	append_lower(out, addr, strlen(addr));
}

int
greylist_key_ip_parse(const char *ip, struct netaddr *a_r)
{
	/* Postfix's XCLIENT/XFORWARD form "IPV6:...", which the proxy passes
	 * on, is taken too; ::ffff:a.b.c.d is unmapped */
	return netaddr_parse_ip(ip, a_r);
}

static void
mask_bytes(uint8_t *b, size_t n, unsigned int bits)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned int keep = bits >= 8 ? 8 : bits;

		b[i] &= (uint8_t)(0xff00u >> keep);
		bits -= keep;
	}
}

int
greylist_key_net(const char *ip, unsigned int v4mask, unsigned int v6mask, struct buf *out)
{
	struct netaddr a;
	char text[INET6_ADDRSTRLEN];

	if (greylist_key_ip_parse(ip, &a) < 0)
		return -1;
	if (a.ss.ss_family == AF_INET) {
		struct in_addr in = ((struct sockaddr_in *)&a.ss)->sin_addr;

		mask_bytes((uint8_t *)&in, 4, MIN(v4mask, 32));
		inet_ntop(AF_INET, &in, text, sizeof(text));
		buf_appendf(out, "%s/%u", text, MIN(v4mask, 32));
	} else {
		struct in6_addr in6 = ((struct sockaddr_in6 *)&a.ss)->sin6_addr;

		mask_bytes((uint8_t *)&in6, 16, MIN(v6mask, 128));
		inet_ntop(AF_INET6, &in6, text, sizeof(text));
		buf_appendf(out, "%s/%u", text, MIN(v6mask, 128));
	}
	return 0;
}

int
greylist_key_client(const struct greylist_key_opts *o, const char *ip, const char *name,
		    struct buf *out)
{
	struct buf net = BUF_INIT;

	if (greylist_key_net(ip, o->v4mask, o->v6mask, &net) < 0) {
		buf_deinit(&net);
		return -1;
	}
	if (o->rdns && name != NULL && name[0] != '\0' && name[0] != '[' &&
	    !greylist_key_is_dynamic(name, ip)) {
		struct buf org = BUF_INIT;

		if (greylist_key_org_domain(o->psl, name, &org)) {
			buf_append_str(out, "dns:");
			buf_append(out, org.data, org.len);
			buf_deinit(&org);
			buf_deinit(&net);
			return 0;
		}
		buf_deinit(&org);
	}
	buf_append_str(out, "net:");
	buf_append(out, net.data, net.len);
	buf_deinit(&net);
	return 0;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* SHA-256 fetched once: EVP_sha256() makes OpenSSL 3 look the
 * implementation up again at every digest (the larger part of the cost
 * of a cached decision on the event loop) */
static const EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha256_md == NULL)
		sha256_md = EVP_sha256();
}

void
greylist_key_hash(const char *prefix, char kind, const void *material, size_t len,
		  struct buf *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t i;
	uint32_t acc = 0;
	int bits = 0;

	pthread_once(&sha256_once, sha256_fetch);
	if (EVP_Digest(material, len, md, &mdlen, sha256_md, NULL) != 1 || mdlen < 16)
		panic("SHA-256 failed");
	buf_appendf(out, "%sgl:%c:", prefix, kind);
	/* 128 bits -> 22 characters */
	for (i = 0; i < 16; i++) {
		acc = (acc << 8) | md[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			buf_append_char(out, b64url[(acc >> bits) & 63]);
		}
	}
	if (bits > 0)
		buf_append_char(out, b64url[(acc << (6 - bits)) & 63]);
}

static void
append_part(struct buf *m, const char *s)
{
	buf_append_str(m, s);
	buf_append_char(m, '\0');
}

void
greylist_key_triplet(const char *prefix, const char *client, const char *sender,
		     const char *rcpt, struct buf *out)
{
	struct buf m = BUF_INIT;

	append_part(&m, client);
	append_part(&m, sender);
	append_part(&m, rcpt);
	greylist_key_hash(prefix, 't', m.data, m.len, out);
	buf_deinit(&m);
}

void
greylist_key_message(const char *prefix, const char *client, const char *sender,
		     const char *const *rcpts, size_t nrcpts, struct buf *out)
{
	struct buf m = BUF_INIT;
	const char **v = xcalloc(nrcpts + 1, sizeof(char *));
	size_t i;

	for (i = 0; i < nrcpts; i++)
		v[i] = rcpts[i];
	qsort(v, nrcpts, sizeof(char *), cmp_str);
	append_part(&m, client);
	append_part(&m, sender);
	for (i = 0; i < nrcpts; i++) {
		/* the same recipient twice counts once */
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		append_part(&m, v[i]);
	}
	greylist_key_hash(prefix, 'm', m.data, m.len, out);
	free(v);
	buf_deinit(&m);
}

void
greylist_key_awl(const char *prefix, const char *client, const char *sender_domain,
		 struct buf *out)
{
	struct buf m = BUF_INIT;

	append_part(&m, client);
	if (sender_domain != NULL)
		append_part(&m, sender_domain);
	greylist_key_hash(prefix, 'a', m.data, m.len, out);
	buf_deinit(&m);
}
