#include "smtp/smtp_addr.h"

#include <arpa/inet.h>

/* RFC 3461: ENVID at most 100 characters, ORCPT at most 500. */
#define ENVID_MAX 100
#define ORCPT_MAX 500
/* RFC 1035: a label is at most 63 octets (checked for ASCII labels only:
 * a UTF-8 label's limit applies to its A-label, which we do not compute). */
#define LABEL_MAX 63

static inline bool
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static inline bool
is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* RFC 5322 atext */
static bool
is_atext(unsigned char c)
{
	if (is_alpha(c) || is_digit(c))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Length of the well-formed UTF-8 multi-byte sequence at p (RFC 3629
 * table: no overlongs, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t
utf8_seq(const unsigned char *p, size_t len)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (len < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

struct scan {
	const unsigned char *p;
	size_t len;
	bool utf8;
	const char *error;
};

/* One host name label run: letters, digits, '-', '_', UTF-8. As lenient as
 * Postfix's envelope address check: underscores and hyphens at label ends
 * occur in real host names; whether to refuse them is the downstream's
 * policy (reject_non_fqdn_*, ...), not the proxy's. */
static bool
check_hostname(struct scan *s, const unsigned char *p, size_t len)
{
	size_t i = 0, start, n;
	bool ascii;

	if (len == 0) {
		s->error = "empty domain";
		return false;
	}
	while (i <= len) {
		start = i;
		ascii = true;
		while (i < len && p[i] != '.') {
			if (p[i] >= 0x80) {
				if ((n = utf8_seq(p + i, len - i)) == 0) {
					s->error = "malformed UTF-8 in domain";
					return false;
				}
				s->utf8 = true;
				ascii = false;
				i += n;
			} else if (is_alpha(p[i]) || is_digit(p[i]) ||
				   p[i] == '-' || p[i] == '_') {
				i++;
			} else {
				s->error = "invalid character in domain";
				return false;
			}
		}
		if (i == start) {
			s->error = "empty label in domain";
			return false;
		}
		if (ascii && i - start > LABEL_MAX) {
			s->error = "domain label too long";
			return false;
		}
		i++; /* the dot, or one past the end */
	}
	return true;
}

static bool
check_literal(struct scan *s, const unsigned char *p, size_t len)
{
	char tmp[64];
	unsigned char addr[16];
	int af = AF_INET;

	/* p[0] == '[' */
	if (len < 3 || p[len - 1] != ']') {
		s->error = "malformed address literal";
		return false;
	}
	p++;
	len -= 2;
	if (len > 5 && strncasecmp((const char *)p, "IPv6:", 5) == 0) {
		af = AF_INET6;
		p += 5;
		len -= 5;
	}
	if (len >= sizeof(tmp) || memchr(p, '\0', len) != NULL) {
		s->error = "malformed address literal";
		return false;
	}
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	if (inet_pton(af, tmp, addr) != 1) {
		s->error = "malformed address literal";
		return false;
	}
	return true;
}

static bool
check_domain(struct scan *s, const unsigned char *p, size_t len)
{
	if (len > 0 && p[0] == '[')
		return check_literal(s, p, len);
	return check_hostname(s, p, len);
}

/*
 * The local part at p: a quoted string or a dot-string, up to '@' or the
 * end. Returns its length, or 0 with s->error set.
 */
static size_t
scan_local(struct scan *s, const unsigned char *p, size_t len)
{
	size_t i = 0, n;

	if (len > 0 && p[0] == '"') {
		for (i = 1; i < len && p[i] != '"'; i++) {
			if (p[i] == '\\') {
				if (++i == len || p[i] < 0x20 || p[i] > 0x7e)
					goto bad_quoted;
			} else if (p[i] >= 0x80) {
				if ((n = utf8_seq(p + i, len - i)) == 0)
					goto bad_utf8;
				s->utf8 = true;
				i += n - 1;
			} else if (is_ctl(p[i])) {
				goto bad_quoted;
			}
		}
		if (i == len) {
			s->error = "unbalanced quote in local part";
			return 0;
		}
		if (i == 1) {
			s->error = "empty local part";
			return 0;
		}
		return i + 1;
	}

	/* dot-string: atoms and dots. RFC 5321 wants single dots between
	 * atoms, but "a..b" and "a." are real mobile-carrier addresses that
	 * Postfix accepts, so any placement of dots is taken. */
	while (i < len && p[i] != '@') {
		if (p[i] == '.') {
			i++;
		} else if (p[i] >= 0x80) {
			if ((n = utf8_seq(p + i, len - i)) == 0)
				goto bad_utf8;
			s->utf8 = true;
			i += n;
		} else if (is_atext(p[i])) {
			i++;
		} else {
			s->error = is_ctl(p[i]) ?
				"control character in address" :
				"invalid character in local part";
			return 0;
		}
	}
	if (i == 0)
		s->error = "empty local part";
	return i;

bad_quoted:
	s->error = "invalid character in quoted local part";
	return 0;
bad_utf8:
	s->error = "malformed UTF-8 in local part";
	return 0;
}

/* "@dom,@dom:" -> length including the ':', or 0 with s->error set. */
static size_t
scan_route(struct scan *s, const unsigned char *p, size_t len)
{
	size_t i = 0, start;

	for (;;) {
		if (i == len || p[i] != '@')
			goto bad;
		start = ++i;
		while (i < len && p[i] != ',' && p[i] != ':')
			i++;
		if (i == len || !check_domain(s, p + start, i - start))
			goto bad;
		if (p[i++] == ':')
			return i;
	}
bad:
	if (s->error == NULL)
		s->error = "malformed source route";
	else
		s->error = "malformed domain in source route";
	return 0;
}

static bool
check_path(enum smtp_path_kind kind, const unsigned char *p, size_t len,
	   struct smtp_path_args *a, struct scan *s)
{
	size_t n;

	if (len > BOUND_PATH) {
		s->error = "path too long";
		return false;
	}
	if (len > 0 && p[0] == '@') {
		if ((n = scan_route(s, p, len)) == 0)
			return false;
		/* the route is dropped: its UTF-8 says nothing of the path */
		s->utf8 = false;
		p += n;
		len -= n;
	}
	if ((n = scan_local(s, p, len)) == 0)
		return false;
	a->local = (struct view){ (const char *)p, n };
	a->path = (struct view){ (const char *)p, len };
	if (n == len) {
		/* no domain: "postmaster" (RFC 5321 4.5.1) or an unqualified
		 * address, which Postfix accepts and qualifies or refuses by
		 * its own policy (reject_non_fqdn_sender/recipient) */
		a->domain = (struct view){ (const char *)p + n, 0 };
		return true;
	}
	if (p[n] != '@') {
		s->error = "invalid character after local part";
		return false;
	}
	if (!check_domain(s, p + n + 1, len - n - 1))
		return false;
	a->domain = (struct view){ (const char *)p + n + 1, len - n - 1 };
	return true;
}

static bool
is_param_value_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '=';
}

static bool
parse_params(const unsigned char *p, size_t len, struct smtp_path_args *a,
	     const char **error_r)
{
	size_t i = 0, start, k;
	struct smtp_param prm;

	for (;;) {
		while (i < len && is_wsp(p[i]))
			i++;
		if (i == len)
			return true;
		start = i;
		if (!is_alpha(p[i])) {
			*error_r = "malformed parameter keyword";
			return false;
		}
		while (i < len &&
		       (is_alpha(p[i]) || is_digit(p[i]) || p[i] == '-'))
			i++;
		prm.keyword = (struct view){ (const char *)p + start,
					     i - start };
		prm.value = VIEW_NULL;
		if (i < len && p[i] == '=') {
			start = ++i;
			while (i < len && is_param_value_char(p[i]))
				i++;
			if (i == start) {
				*error_r = "empty parameter value";
				return false;
			}
			prm.value = (struct view){ (const char *)p + start,
						   i - start };
		}
		if (i < len && !is_wsp(p[i])) {
			*error_r = "invalid character in parameter";
			return false;
		}
		if (a->nparams == BOUND_ESMTP_PARAMS) {
			*error_r = "too many parameters";
			return false;
		}
		for (k = 0; k < a->nparams; k++) {
			if (view_eq_nocase(a->params[k].keyword, prm.keyword)) {
				*error_r = "duplicate parameter";
				return false;
			}
		}
		a->params[a->nparams++] = prm;
	}
}

int
smtp_addr_parse(enum smtp_path_kind kind, struct view arg,
		struct smtp_path_args *args_r,
		enum smtp_addr_error *err_kind_r, const char **error_r)
{
	const unsigned char *p = (const unsigned char *)arg.p;
	size_t len = arg.len, i, start, plen;
	const char *prefix = kind == SMTP_PATH_MAIL ? "FROM:" : "TO:";
	struct scan s = { .error = NULL };
	bool quoted = false;

	memset(args_r, 0, sizeof(*args_r));
	*err_kind_r = SMTP_ADDR_OK;

	if (!view_has_prefix_nocase(arg, prefix)) {
		*err_kind_r = SMTP_ADDR_ERR_SYNTAX;
		*error_r = kind == SMTP_PATH_MAIL ? "missing FROM:" :
						    "missing TO:";
		return -1;
	}
	i = strlen(prefix);
	while (i < len && is_wsp(p[i]))
		i++;
	if (i == len) {
		*err_kind_r = SMTP_ADDR_ERR_SYNTAX;
		*error_r = "missing path";
		return -1;
	}

	if (p[i] == '<') {
		/* the closing '>' is the first one outside a quoted string */
		start = ++i;
		for (; i < len; i++) {
			if (quoted && p[i] == '\\' && i + 1 < len)
				i++;
			else if (p[i] == '"')
				quoted = !quoted;
			else if (p[i] == '>' && !quoted)
				break;
		}
		if (i == len) {
			*err_kind_r = SMTP_ADDR_ERR_ADDRESS;
			*error_r = quoted ? "unbalanced quote in path" :
					    "unbalanced '<' in path";
			return -1;
		}
		plen = i - start;
		i++;
		if (plen == 0) {
			if (kind == SMTP_PATH_RCPT) {
				*err_kind_r = SMTP_ADDR_ERR_ADDRESS;
				*error_r = "null path not allowed";
				return -1;
			}
			args_r->null_path = true;
			args_r->path = args_r->local = args_r->domain =
				(struct view){ (const char *)p + start, 0 };
		}
	} else {
		/* bare address: up to the first white space outside quotes */
		start = i;
		for (; i < len; i++) {
			if (quoted && p[i] == '\\' && i + 1 < len)
				i++;
			else if (p[i] == '"')
				quoted = !quoted;
			else if (is_wsp(p[i]) && !quoted)
				break;
		}
		if (quoted) {
			*err_kind_r = SMTP_ADDR_ERR_ADDRESS;
			*error_r = "unbalanced quote in path";
			return -1;
		}
		plen = i - start;
	}

	if (!args_r->null_path &&
	    !check_path(kind, p + start, plen, args_r, &s)) {
		*err_kind_r = SMTP_ADDR_ERR_ADDRESS;
		*error_r = s.error;
		return -1;
	}
	args_r->has_utf8 = s.utf8;

	if (i < len && !is_wsp(p[i])) {
		*err_kind_r = SMTP_ADDR_ERR_SYNTAX;
		*error_r = "garbage after path";
		return -1;
	}
	if (!parse_params(p + i, len - i, args_r, error_r)) {
		*err_kind_r = SMTP_ADDR_ERR_PARAMS;
		return -1;
	}
	return 0;
}

const struct smtp_param *
smtp_addr_find_param(const struct smtp_path_args *a, const char *keyword)
{
	size_t i;

	for (i = 0; i < a->nparams; i++) {
		if (view_eq_cstr_nocase(a->params[i].keyword, keyword))
			return &a->params[i];
	}
	return NULL;
}

static bool
is_uint64(struct view v)
{
	uint64_t n = 0;
	size_t i;

	if (v.len == 0)
		return false;
	for (i = 0; i < v.len; i++) {
		if (!is_digit((unsigned char)v.p[i]) ||
		    __builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, (uint64_t)(v.p[i] - '0'), &n))
			return false;
	}
	return true;
}

static bool
check_notify(struct view v)
{
	static const char *const words[] = { "SUCCESS", "FAILURE", "DELAY" };
	size_t i = 0, start, k;
	bool ok;

	if (view_eq_cstr_nocase(v, "NEVER"))
		return true;
	for (;;) {
		start = i;
		while (i < v.len && v.p[i] != ',')
			i++;
		ok = false;
		for (k = 0; k < N_ELEMENTS(words); k++) {
			if (view_eq_cstr_nocase(
				    (struct view){ v.p + start, i - start },
				    words[k]))
				ok = true;
		}
		if (!ok)
			return false;
		if (i == v.len)
			return true;
		i++;
	}
}

static bool
check_orcpt(struct view v)
{
	const char *semi;
	size_t n, i;

	if (v.len > ORCPT_MAX ||
	    (semi = memchr(v.p, ';', v.len)) == NULL || semi == v.p)
		return false;
	n = (size_t)(semi - v.p);
	for (i = 0; i < n; i++) {
		if (!is_atext((unsigned char)v.p[i]))
			return false;
	}
	if (n + 1 == v.len)
		return false;
	return smtp_xtext_is_valid((struct view){ semi + 1, v.len - n - 1 });
}

int
smtp_param_check(const struct smtp_param *p)
{
	struct view k = p->keyword, v = p->value;
	bool has = v.p != NULL;

	if (view_eq_cstr_nocase(k, "SIZE"))
		return has && is_uint64(v) ? 1 : -1;
	if (view_eq_cstr_nocase(k, "BODY"))
		return has && (view_eq_cstr_nocase(v, "7BIT") ||
			       view_eq_cstr_nocase(v, "8BITMIME") ||
			       view_eq_cstr_nocase(v, "BINARYMIME")) ? 1 : -1;
	if (view_eq_cstr_nocase(k, "SMTPUTF8"))
		return has ? -1 : 1;
	if (view_eq_cstr_nocase(k, "RET"))
		return has && (view_eq_cstr_nocase(v, "FULL") ||
			       view_eq_cstr_nocase(v, "HDRS")) ? 1 : -1;
	if (view_eq_cstr_nocase(k, "ENVID"))
		return has && v.len <= ENVID_MAX && smtp_xtext_is_valid(v) ?
			       1 : -1;
	if (view_eq_cstr_nocase(k, "NOTIFY"))
		return has && check_notify(v) ? 1 : -1;
	if (view_eq_cstr_nocase(k, "ORCPT"))
		return has && check_orcpt(v) ? 1 : -1;
	if (view_eq_cstr_nocase(k, "AUTH"))
		return has && smtp_xtext_is_valid(v) ? 1 : -1;
	return 0;
}

bool
smtp_xtext_is_valid(struct view v)
{
	const unsigned char *p = (const unsigned char *)v.p;
	size_t i;

	for (i = 0; i < v.len; i++) {
		if (p[i] == '+') {
			if (i + 2 >= v.len || hexval(p[i + 1]) < 0 ||
			    hexval(p[i + 2]) < 0)
				return false;
			i += 2;
		} else if (p[i] < 33 || p[i] > 126 || p[i] == '=') {
			return false;
		}
	}
	return true;
}

void
smtp_xtext_encode(struct buf *out, struct view v)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)v.p;
	size_t i, start = 0;

	if (v.len == 0)
		return;
	buf_reserve(out, v.len);
	for (i = 0; i < v.len; i++) {
		if (p[i] < 33 || p[i] > 126 || p[i] == '+' || p[i] == '=') {
			char e[3] = { '+', hex[p[i] >> 4], hex[p[i] & 15] };

			buf_append(out, v.p + start, i - start);
			buf_append(out, e, 3);
			start = i + 1;
		}
	}
	buf_append(out, v.p + start, v.len - start);
}

int
smtp_xtext_decode(struct buf *out, struct view v)
{
	const unsigned char *p = (const unsigned char *)v.p;
	size_t i, start = 0;

	if (!smtp_xtext_is_valid(v))
		return -1;
	if (v.len == 0)
		return 0;
	buf_reserve(out, v.len);
	for (i = 0; i < v.len; i++) {
		if (p[i] == '+') {
			buf_append(out, v.p + start, i - start);
			buf_append_char(out, (char)(hexval(p[i + 1]) << 4 |
						    hexval(p[i + 2])));
			i += 2;
			start = i + 1;
		}
	}
	buf_append(out, v.p + start, v.len - start);
	return 0;
}
