#include "plugins/bayes/bayes_token.h"
#include "core/xalloc.h"

#include <openssl/evp.h>

/* room for a prefix, an address or a pair of words */
#define TOKEN_BUF 320
#define ADDR_MAX 200
#define HOST_MAX 120
#define HEADER_NAME_MAX 40
#define SHAPE_MAX 24
#define RECEIVED_MAX 8

void
bayes_tokens_init(struct bayes_tokens *t, size_t max)
{
	size_t cap = 16;

	memset(t, 0, sizeof(*t));
	t->max = MAX(max, 1);
	while (cap < 2 * t->max)
		cap <<= 1;
	t->set = xcalloc(cap, sizeof(*t->set));
	t->set_mask = cap - 1;
	t->hashes = xmalloc(t->max * sizeof(*t->hashes));
}

void
bayes_tokens_deinit(struct bayes_tokens *t)
{
	free(t->hashes);
	free(t->set);
	memset(t, 0, sizeof(*t));
}

uint64_t
bayes_token_hash(const char *token, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)token[i];
		h *= 0x100000001b3ULL;
	}
	/* FNV-1a alone mixes its last bytes poorly into the high bits, which
	 * pick the Redis bucket: MurmurHash3's fmix64 spreads them */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h != 0 ? h : 1; /* 0 marks an empty slot */
}

bool
bayes_tokens_add(struct bayes_tokens *t, const char *token, size_t len)
{
	uint64_t h = bayes_token_hash(token, len);
	size_t i = (size_t)h & t->set_mask;

	while (t->set[i] != 0) {
		if (t->set[i] == h)
			return true;
		i = (i + 1) & t->set_mask;
	}
	if (t->n == t->max) {
		t->truncated = true;
		return false;
	}
	t->set[i] = h;
	t->hashes[t->n++] = h;
	if (t->sink != NULL)
		t->sink(t->sink_ctx, token, len);
	return true;
}

/* prefix + up to three pieces, cut to the buffer */
static void
add_joined(struct bayes_tokens *t, const char *prefix, const char *a, size_t alen,
	   const char *sep, const char *b, size_t blen)
{
	char tok[TOKEN_BUF];
	size_t n = 0, plen = strlen(prefix), slen = sep != NULL ? strlen(sep) : 0;

	if (plen + alen + slen + blen > sizeof(tok))
		return;
	memcpy(tok, prefix, plen);
	n = plen;
	memcpy(tok + n, a, alen);
	n += alen;
	if (slen > 0) {
		memcpy(tok + n, sep, slen);
		n += slen;
	}
	if (blen > 0) {
		memcpy(tok + n, b, blen);
		n += blen;
	}
	bayes_tokens_add(t, tok, n);
}

static bool
is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80 || (c != '\0' && strchr("$!'*,.-_@", c) != NULL);
}

static bool
is_host_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

static bool
is_trim_byte(unsigned char c)
{
	return c != '\0' && strchr("-'.,_*", c) != NULL;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void
lower_copy(char *dst, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = lower(src[i]);
}

/* length of the UTF-8 sequence at p (1 for anything invalid) */
static size_t
utf8_len(const unsigned char *p, size_t left)
{
	size_t n, i;

	if (p[0] < 0xc0 || p[0] > 0xf4)
		return 1;
	n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	if (n > left)
		return 1;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 1;
	}
	return n;
}

/* a word longer than BAYES_TOKEN_MAX: its CJK characters one by one, or
 * "sk:" and its first 7 characters (SpamAssassin's two treatments) */
static void
long_word(struct bayes_tokens *t, const char *prefix, const char *w, size_t len)
{
	const unsigned char *p = (const unsigned char *)w;
	size_t i, n, chars = 0, cut = 0;
	bool cjk = false;
	char tok[TOKEN_BUF];

	for (i = 0; i < len; i += n) {
		n = utf8_len(p + i, len - i);
		if (n >= 3) {
			add_joined(t, prefix, "u8:", 3, NULL, w + i, n);
			cjk = true;
		}
	}
	if (cjk)
		return;
	for (i = 0; i < len && chars < 7; i += n, chars++)
		n = utf8_len(p + i, len - i);
	cut = i;
	lower_copy(tok, w, cut);
	add_joined(t, prefix, "sk:", 3, NULL, tok, cut);
}

/* domain and every parent domain: "a.b.example" -> a.b.example,
 * b.example, example */
static void
add_domain(struct bayes_tokens *t, const char *prefix, const char *d, size_t len)
{
	char tok[HOST_MAX] = ""; /* (gcc cannot tell lower_copy() sets it) */
	size_t i;

	if (len == 0 || len >= sizeof(tok))
		return;
	lower_copy(tok, d, len);
	add_joined(t, prefix, tok, len, NULL, NULL, 0);
	for (i = 0; i < len; i++) {
		if (tok[i] == '.' && i + 1 < len)
			add_joined(t, prefix, tok + i + 1, len - i - 1, NULL, NULL, 0);
	}
}

/* a word with an @ and a dot after it */
static bool
is_address(const char *w, size_t len, size_t *at_r)
{
	const char *at = memchr(w, '@', len);
	size_t a;

	if (at == NULL || at == w)
		return false;
	a = (size_t)(at - w);
	if (memchr(at + 1, '.', len - a - 1) == NULL || a + 2 >= len)
		return false;
	*at_r = a;
	return true;
}

static void
one_word(struct bayes_tokens *t, const char *prefix, const char *pair_prefix, const char *w,
	 size_t len, char *prev, size_t *prev_len)
{
	char lw[BAYES_TOKEN_MAX + 1], stripped[BAYES_TOKEN_MAX + 1];
	const char *pw = lw;
	size_t i, at, plen = len, slen = 0;
	bool caps = false, punct = false;

	if (is_address(w, len, &at)) {
		char a[ADDR_MAX];

		if (len < sizeof(a)) {
			lower_copy(a, w, len);
			add_joined(t, prefix, "E:", 2, NULL, a, len);
			add_domain(t, "ED:", a + at + 1, len - at - 1);
		}
		*prev_len = 0;
		return;
	}
	if (len < BAYES_TOKEN_MIN)
		return; /* "a", "to": too common to count, but no break in pairs */
	if (len > BAYES_TOKEN_MAX) {
		long_word(t, prefix, w, len);
		*prev_len = 0;
		return;
	}
	for (i = 0; i < len; i++) {
		lw[i] = lower(w[i]);
		if (i > 0 && lw[i] != w[i])
			caps = true;
		if (strchr("!$'*,", w[i]) != NULL)
			punct = true;
		else
			stripped[slen++] = lw[i];
	}
	add_joined(t, prefix, lw, len, NULL, NULL, 0);
	if (caps)
		add_joined(t, prefix, w, len, NULL, NULL, 0);
	if (punct && slen >= BAYES_TOKEN_MIN) {
		add_joined(t, prefix, stripped, slen, NULL, NULL, 0);
		pw = stripped;
		plen = slen;
	}
	if (pair_prefix == NULL)
		return;
	if (*prev_len > 0)
		add_joined(t, pair_prefix, prev, *prev_len, " ", pw, plen);
	memcpy(prev, pw, plen);
	*prev_len = plen;
}

void
bayes_token_text(struct bayes_tokens *t, const char *prefix, const char *pair_prefix,
		 const char *text, size_t len)
{
	char prev[BAYES_TOKEN_MAX + 1];
	size_t prev_len = 0, i = 0;

	while (i < len && !t->truncated) {
		size_t s, e;

		while (i < len && !is_word_byte((unsigned char)text[i]))
			i++;
		s = i;
		while (i < len && is_word_byte((unsigned char)text[i]))
			i++;
		e = i;
		while (s < e && is_trim_byte((unsigned char)text[s]))
			s++;
		while (e > s && is_trim_byte((unsigned char)text[e - 1]))
			e--;
		if (e > s)
			one_word(t, prefix, pair_prefix, text + s, e - s, prev, &prev_len);
	}
}

/* --- headers ----------------------------------------------------------- */

/* headers that tell where a message went, not what it is: every list,
 * relay and filter adds them (SpamAssassin's IGNORED_HDRS, plus what
 * receiving systems add today: ARC, Authentication-Results) */
static const char *const ignored_names[] = {
	"received", "date", "delivered-to", "delivery-date", "envelope-to", "x-envelope-to",
	"x-original-to", "sender", "x-sender", "mail-followup-to", "errors-to", "precedence",
	"x-beenthere", "x-loop", "archived-at", "message-id-hash", "x-message-id-hash",
	"x-mailfrom", "status", "x-status", "x-flags", "x-keywords", "x-uid", "x-uidl",
	"x-imapbase", "lines", "content-length", "xref", "authentication-results",
	"arc-authentication-results", "arc-seal", "arc-message-signature", "received-spf",
	"x-received", "x-virus-scanned", "x-antispam", "x-mime-autoconverted", "return-receipt-to",
};
static const char *const ignored_prefixes[] = {
	"list-", "x-list", "mailing-list", "x-mailing-list", "x-mailman-", "resent-", "x-resent-",
	"original-", "x-original-", "x-spam", "x-virus-", "x-mailscanner", "x-gnus", "x-vm-",
	"x-bugzilla-", "x-egroups-",
};

static bool
header_ignored(const char *lname)
{
	size_t i;

	for (i = 0; i < N_ELEMENTS(ignored_names); i++) {
		if (strcmp(lname, ignored_names[i]) == 0)
			return true;
	}
	for (i = 0; i < N_ELEMENTS(ignored_prefixes); i++) {
		if (strncmp(lname, ignored_prefixes[i], strlen(ignored_prefixes[i])) == 0)
			return true;
	}
	return false;
}

static void
header_names(struct bayes_tokens *t, const struct msg *m)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++) {
		char lname[HEADER_NAME_MAX + 1];
		size_t len = strlen(m->headers[i].name);

		if (len == 0 || len > HEADER_NAME_MAX)
			continue;
		lower_copy(lname, m->headers[i].name, len);
		lname[len] = '\0';
		if (!header_ignored(lname))
			add_joined(t, "HN:", lname, len, NULL, NULL, 0);
	}
}

static const char *
header_text(const struct msg *m, const char *name)
{
	const struct msg_header *h = msg_header_get(m, name, 0);

	return h != NULL ? h->decoded : NULL;
}

static void
addresses(struct bayes_tokens *t, const struct msg *m, const char *name, const char *words,
	  const char *addr_prefix, const char *domain_prefix)
{
	size_t i, k, n;

	for (k = 0; k < 4; k++) { /* the first few fields of that name */
		const struct msg_header *h = msg_header_get(m, name, k);
		struct msg_address *a = NULL;

		if (h == NULL)
			break;
		n = msg_header_addresses(m, h, &a);
		for (i = 0; i < n; i++) {
			size_t alen = strlen(a[i].addr);

			if (words != NULL)
				bayes_token_text(t, words, NULL, a[i].display, strlen(a[i].display));
			if (addr_prefix != NULL && alen > 0 && alen < ADDR_MAX) {
				char la[ADDR_MAX];

				lower_copy(la, a[i].addr, alen);
				add_joined(t, addr_prefix, la, alen, NULL, NULL, 0);
			}
			add_domain(t, domain_prefix, a[i].domain, strlen(a[i].domain));
		}
		msg_addresses_free(&a, n);
	}
}

/* "<20020918.123456.ABCD@mail.example>": MD:mail.example (and parents)
 * and MS:9.9.A (the shape of what mailers generate) */
static void
message_id(struct bayes_tokens *t, const struct msg *m)
{
	const struct msg_header *h = msg_header_get(m, "Message-ID", 0);
	const char *v, *at, *end;
	char shape[SHAPE_MAX];
	size_t n = 0;

	if (h == NULL)
		return;
	v = h->value;
	while (*v == ' ' || *v == '\t' || *v == '<')
		v++;
	at = strchr(v, '@');
	end = strchr(v, '>');
	if (end == NULL)
		end = v + strlen(v);
	if (at != NULL && at < end)
		add_domain(t, "MD:", at + 1, (size_t)(end - at - 1));
	else
		at = end;
	for (; v < at && n < sizeof(shape); v++) {
		unsigned char c = (unsigned char)*v;
		char s = (c >= '0' && c <= '9')   ? '9'
			 : (c >= 'a' && c <= 'z') ? 'a'
			 : (c >= 'A' && c <= 'Z') ? 'A'
			 : c >= 0x80              ? 'u'
						  : (char)c;

		if (n == 0 || shape[n - 1] != s || strchr("9aAu", s) == NULL)
			shape[n++] = s;
	}
	if (n > 0)
		add_joined(t, "MS:", shape, n, NULL, NULL, 0);
}

static void
type_token(struct bayes_tokens *t, const char *prefix, const struct msg_part *p)
{
	char tok[TOKEN_BUF];
	int n = snprintf(tok, sizeof(tok), "%s%s/%s", prefix, p->type, p->subtype);

	if (n > 0 && (size_t)n < sizeof(tok))
		bayes_tokens_add(t, tok, (size_t)n);
}

static void
structure(struct bayes_tokens *t, const struct msg *m)
{
	const struct msg_reading *r = &m->readings[0];
	size_t i;
	unsigned int bit;

	type_token(t, "CT:", r->root);
	if (r->root->charset[0] != '\0')
		add_joined(t, "CS:", r->root->charset, strlen(r->root->charset), NULL, NULL, 0);
	for (i = 0; i < r->nparts; i++) {
		const struct msg_part *p = r->parts[i];
		const char *fn = msg_part_filename(p);

		type_token(t, "PT:", p);
		if (p->charset[0] != '\0' && strlen(p->charset) < HOST_MAX)
			add_joined(t, "PC:", p->charset, strlen(p->charset), NULL, NULL, 0);
		if (!p->is_attachment)
			continue;
		type_token(t, "A:", p);
		if (fn != NULL) {
			const char *dot = strrchr(fn, '.');
			char ext[9];
			size_t len;

			if (dot != NULL && (len = strlen(dot + 1)) > 0 && len < sizeof(ext)) {
				lower_copy(ext, dot + 1, len);
				add_joined(t, "AX:", ext, len, NULL, NULL, 0);
			}
		}
	}
	for (bit = 0; bit < 32; bit++) {
		const char *name;

		if ((m->flags & (1u << bit)) == 0)
			continue;
		name = msg_flag_name((enum msg_flag)(1u << bit));
		if (name != NULL)
			add_joined(t, "MF:", name, strlen(name), NULL, NULL, 0);
	}
}

/* the registrable part, roughly: the last two labels, three when the
 * second-level one is short (co.uk, com.br) */
static void
url_domain(struct bayes_tokens *t, const char *host, size_t len)
{
	size_t dots = 0, i, start = 0, last_label = 0;

	for (i = len; i > 0; i--) {
		if (host[i - 1] != '.')
			continue;
		dots++;
		if (dots == 1)
			last_label = i;
		if (dots == 2) {
			/* "co" in example.co.uk: one label more */
			if (last_label - i - 1 <= 3 && len - last_label == 2)
				continue;
			start = i;
			break;
		}
		if (dots == 3) {
			start = i;
			break;
		}
	}
	if (start > 0)
		add_joined(t, "UD:", host + start, len - start, NULL, NULL, 0);
}

static void
urls(struct bayes_tokens *t, const struct msg *m)
{
	size_t i;

	for (i = 0; i < m->nurls && !t->truncated; i++) {
		const struct msg_url *u = &m->urls[i];
		size_t len = strlen(u->host);

		if (len == 0 || len >= HOST_MAX)
			continue;
		if (u->host_is_ip) {
			add_joined(t, "UI:", u->host, len, NULL, NULL, 0);
			continue;
		}
		add_joined(t, "U:", u->host, len, NULL, NULL, 0);
		url_domain(t, u->host, len);
	}
}

/* one word of a Received field: a host name as R:host and its parent
 * domains, an IPv4 address as R:ip and its /24 (R:a.b.c), other words
 * as R:word; words with digits in them (queue ids, versions) would only
 * fill the database with tokens seen once */
static void
received_word(struct bayes_tokens *t, const char *w, size_t len)
{
	size_t i, dots = 0, last_dot = 0;
	bool alpha = false, digit = false;
	char lw[BAYES_TOKEN_MAX + 1];

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)w[i];

		if (c == '.') {
			dots++;
			last_dot = i;
		} else if (c >= '0' && c <= '9') {
			digit = true;
		} else {
			alpha = true;
		}
	}
	if (dots == 3 && !alpha) {
		add_joined(t, "R:", w, len, NULL, NULL, 0);
		add_joined(t, "R:", w, last_dot, NULL, NULL, 0);
	} else if (dots > 0 && alpha) {
		add_domain(t, "R:", w, len);
	} else if (!digit && dots == 0 && len >= BAYES_TOKEN_MIN && len <= BAYES_TOKEN_MAX) {
		lower_copy(lw, w, len);
		add_joined(t, "R:", lw, len, NULL, NULL, 0);
	}
}

/* the relays: the words of the first Received fields before their ';'
 * (the date after it would only tell the era of a corpus) */
static void
received(struct bayes_tokens *t, const struct msg *m)
{
	size_t k;

	for (k = 0; k < RECEIVED_MAX && !t->truncated; k++) {
		const struct msg_header *h = msg_header_get(m, "Received", k);
		const char *v, *semi;
		size_t len, i = 0;

		if (h == NULL)
			break;
		v = h->value;
		semi = strrchr(v, ';');
		len = semi != NULL ? (size_t)(semi - v) : strlen(v);
		while (i < len) {
			size_t s, e;

			while (i < len && !is_host_byte((unsigned char)v[i]))
				i++;
			s = i;
			while (i < len && is_host_byte((unsigned char)v[i]))
				i++;
			e = i;
			while (e > s && v[e - 1] == '.')
				e--;
			if (e > s)
				received_word(t, v + s, e - s);
		}
	}
}

void
bayes_token_msg(struct bayes_tokens *t, const struct msg *m)
{
	const struct msg_reading *r = &m->readings[0];
	const char *s;
	size_t i;

	header_names(t, m);
	received(t, m);
	if ((s = header_text(m, "Subject")) != NULL)
		bayes_token_text(t, "S:", "S2:", s, strlen(s));
	addresses(t, m, "From", "F:", "FA:", "FD:");
	addresses(t, m, "Reply-To", NULL, "RA:", "RD:");
	addresses(t, m, "To", NULL, NULL, "TD:");
	addresses(t, m, "Cc", NULL, NULL, "TD:");
	addresses(t, m, "Return-Path", NULL, NULL, "PD:");
	message_id(t, m);
	if ((s = header_text(m, "X-Mailer")) != NULL)
		bayes_token_text(t, "UA:", NULL, s, strlen(s));
	if ((s = header_text(m, "User-Agent")) != NULL)
		bayes_token_text(t, "UA:", NULL, s, strlen(s));
	if ((s = header_text(m, "Organization")) != NULL)
		bayes_token_text(t, "O:", NULL, s, strlen(s));
	structure(t, m);
	urls(t, m);
	for (i = 0; i < r->nparts && !t->truncated; i++) {
		const struct msg_part *p = r->parts[i];

		bayes_token_text(t, "", NULL, p->text.data, p->text.len);
		bayes_token_text(t, "I:", NULL, p->html_hidden.data, p->html_hidden.len);
	}
}

/* --- digest ------------------------------------------------------------ */

static void
digest_update_nocr(EVP_MD_CTX *ctx, const char *p, size_t len)
{
	while (len > 0) {
		const char *cr = memchr(p, '\r', len);
		size_t n = cr != NULL ? (size_t)(cr - p) : len;

		EVP_DigestUpdate(ctx, p, n);
		if (cr == NULL)
			break;
		p += n + 1;
		len -= n + 1;
	}
}

void
bayes_token_digest(const struct msg *m, unsigned char digest[BAYES_DIGEST_LEN])
{
	static const char *const names[] = { "Message-ID", "Date", "From", "To", "Subject" };
	const struct msg_reading *r = &m->readings[0];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	size_t i;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1)
		panic("SHA-1 failed");
	for (i = 0; i < N_ELEMENTS(names); i++) {
		const struct msg_header *h = msg_header_get(m, names[i], 0);

		if (h != NULL)
			digest_update_nocr(ctx, h->value, strlen(h->value));
		EVP_DigestUpdate(ctx, "\n", 1);
	}
	for (i = 0; i < r->nparts; i++) {
		const struct msg_part *p = r->parts[i];

		EVP_DigestUpdate(ctx, p->type, strlen(p->type));
		EVP_DigestUpdate(ctx, "/", 1);
		EVP_DigestUpdate(ctx, p->subtype, strlen(p->subtype));
		EVP_DigestUpdate(ctx, "\n", 1);
		digest_update_nocr(ctx, p->decoded.data != NULL ? p->decoded.data : "",
				   p->decoded.len);
	}
	if (EVP_DigestFinal_ex(ctx, digest, &n) != 1 || n != BAYES_DIGEST_LEN)
		panic("SHA-1 failed");
	EVP_MD_CTX_free(ctx);
}
