#include "plugins/greylist/greylist_list.h"
#include "core/xalloc.h"

#include <ctype.h>

struct strv {
	char **v;
	size_t n;
};

struct greylist_list {
	struct cidr *nets;
	size_t nnets;
	struct strv names;    /* client reverse-DNS domains */
	struct strv senders;  /* sender domains */
	struct strv rcpts;    /* "a@b", "a@", "@b" */
};

static void
strv_add(struct strv *s, const char *p, size_t len)
{
	size_t i;

	if ((s->n & 63) == 0)
		s->v = xreallocarray(s->v, s->n + 64, sizeof(char *));
	s->v[s->n] = xstrndup(p, len);
	for (i = 0; i < len; i++)
		s->v[s->n][i] = (char)tolower((unsigned char)s->v[s->n][i]);
	s->n++;
}

static void
strv_free(struct strv *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

static void
add_net(struct greylist_list *l, const struct cidr *c)
{
	if ((l->nnets & 63) == 0)
		l->nets = xreallocarray(l->nets, l->nnets + 64, sizeof(*l->nets));
	l->nets[l->nnets++] = *c;
}

/* "a, b c" -> items, each stripped of a leading '.' for domains */
static void
split_into(struct strv *s, const char *text, bool domains)
{
	const char *p = text;

	while (*p != '\0') {
		size_t len;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		len = strcspn(p, ", \t");
		if (len == 0)
			break;
		if (domains && p[0] == '.') {
			p++;
			len--;
		}
		if (len > 0)
			strv_add(s, p, len);
		p += len;
	}
}

static int
load_file(struct greylist_list *l, const char *path, char **error_r)
{
	char line[258];
	unsigned int lineno = 0;
	FILE *f = fopen(path, "r");
	struct buf err = BUF_INIT;

	if (f == NULL) {
		buf_appendf(&err, "%s: %s", path, strerror(errno));
		*error_r = buf_steal(&err);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s = line, *e;
		struct cidr c;
		const char *cerr = NULL;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			buf_appendf(&err, "%s:%u: line longer than 255 bytes", path, lineno);
			goto fail;
		}
		e = strchr(s, '#');
		if (e != NULL)
			*e = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strcspn(s, " \t\r\n");
		if (*(e + strspn(e, " \t\r\n")) != '\0') {
			buf_appendf(&err, "%s:%u: one network or domain per line", path, lineno);
			goto fail;
		}
		*e = '\0';
		if (*s == '\0')
			continue;
		if (l->nnets + l->names.n >= GREYLIST_LIST_MAX) {
			buf_appendf(&err, "%s:%u: more than %d entries", path, lineno,
				    GREYLIST_LIST_MAX);
			goto fail;
		}
		if (strchr(s, ':') != NULL || strchr(s, '/') != NULL ||
		    strspn(s, "0123456789.") == strlen(s)) {
			if (cidr_parse(s, &c, &cerr) < 0) {
				buf_appendf(&err, "%s:%u: \"%s\": %s", path, lineno, s, cerr);
				goto fail;
			}
			add_net(l, &c);
		} else {
			size_t i, n = strlen(s);

			if (s[0] == '.')
				s++, n--;
			for (i = 0; i < n; i++) {
				unsigned char ch = (unsigned char)s[i];

				if (!(isalnum(ch) || ch == '-' || ch == '.' || ch == '_')) {
					buf_appendf(&err, "%s:%u: \"%s\": not a network or a domain",
						    path, lineno, s);
					goto fail;
				}
			}
			if (n > 0)
				strv_add(&l->names, s, n);
		}
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	*error_r = buf_steal(&err);
	return -1;
}

int
greylist_list_load(const struct conf *conf, const char *path, struct greylist_list **list_r,
		   char **error_r)
{
	struct greylist_list *l = xcalloc(1, sizeof(*l));
	size_t i;

	for (i = 0; i < conf->greylist_whitelist_clients.count; i++)
		add_net(l, &conf->greylist_whitelist_clients.net[i]);
	split_into(&l->senders, conf->greylist_whitelist_senders, true);
	split_into(&l->rcpts, conf->greylist_whitelist_recipients, false);
	if (path != NULL && load_file(l, path, error_r) < 0) {
		greylist_list_free(&l);
		return -1;
	}
	*list_r = l;
	return 0;
}

void
greylist_list_free(struct greylist_list **lp)
{
	struct greylist_list *l = *lp;

	if (l == NULL)
		return;
	*lp = NULL;
	free(l->nets);
	strv_free(&l->names);
	strv_free(&l->senders);
	strv_free(&l->rcpts);
	free(l);
}

/* name is domain or a subdomain of it (case-insensitive) */
static bool
in_domain(const char *name, size_t nlen, const char *domain)
{
	size_t dlen = strlen(domain);

	if (nlen > 0 && name[nlen - 1] == '.')
		nlen--;
	if (nlen == dlen)
		return strncasecmp(name, domain, dlen) == 0;
	return nlen > dlen && name[nlen - dlen - 1] == '.' &&
	       strncasecmp(name + nlen - dlen, domain, dlen) == 0;
}

bool
greylist_list_client(const struct greylist_list *l, const struct netaddr *ip,
		     const char *verified_name, struct buf *why_r)
{
	char text[INET6_ADDRSTRLEN + 8];
	size_t i;

	for (i = 0; i < l->nnets; i++) {
		if (cidr_match(&l->nets[i], ip)) {
			cidr_format(&l->nets[i], text, sizeof(text));
			buf_appendf(why_r, "client %s", text);
			return true;
		}
	}
	if (verified_name == NULL || verified_name[0] == '\0' || verified_name[0] == '[')
		return false;
	for (i = 0; i < l->names.n; i++) {
		if (in_domain(verified_name, strlen(verified_name), l->names.v[i])) {
			buf_appendf(why_r, "client name in %s", l->names.v[i]);
			return true;
		}
	}
	return false;
}

bool
greylist_list_sender(const struct greylist_list *l, const char *sender_domain, struct buf *why_r)
{
	size_t i;

	if (sender_domain[0] == '\0')
		return false;
	for (i = 0; i < l->senders.n; i++) {
		if (in_domain(sender_domain, strlen(sender_domain), l->senders.v[i])) {
			buf_appendf(why_r, "sender domain %s", l->senders.v[i]);
			return true;
		}
	}
	return false;
}

bool
greylist_list_rcpt(const struct greylist_list *l, const char *rcpt, struct buf *why_r)
{
	const char *at = strrchr(rcpt, '@');
	size_t i;

	for (i = 0; i < l->rcpts.n; i++) {
		const char *e = l->rcpts.v[i];
		size_t elen = strlen(e);
		bool hit;

		if (e[0] == '@')
			hit = at != NULL && in_domain(at + 1, strlen(at + 1), e + 1);
		else if (e[elen - 1] == '@')
			hit = at != NULL && (size_t)(at - rcpt) + 1 == elen &&
			      strncasecmp(rcpt, e, elen) == 0;
		else
			hit = strcasecmp(rcpt, e) == 0;
		if (hit) {
			buf_appendf(why_r, "recipient %s", e);
			return true;
		}
	}
	return false;
}

void
greylist_list_counts(const struct greylist_list *l, size_t counts_r[4])
{
	counts_r[0] = l->nnets;
	counts_r[1] = l->names.n;
	counts_r[2] = l->senders.n;
	counts_r[3] = l->rcpts.n;
}
