/*
 * attach_policy.c - file name and file type policy (see attach_policy.h).
 */
#include "plugins/clamav/attach_policy.h"
#include "conf/conf.h"
#include "core/xalloc.h"

struct attach_policy {
	char **exts;   /* lower-case, sorted */
	size_t nexts;
	char **types;  /* CL_TYPE_..., sorted */
	size_t ntypes;
};

/* extensions that make a following blocked one a deception: what a
 * recipient expects to open harmlessly */
static const char *const decoy_exts[] = {
	"avi",  "bmp", "csv", "doc", "docx", "gif",  "htm", "html", "jpeg", "jpg",
	"mov",  "mp3", "mp4", "odp", "ods",  "odt",  "pdf", "png",  "ppt",  "pptx",
	"rar",  "rtf", "tif", "tiff", "txt", "wav",  "xls", "xlsx", "xml",  "zip",
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool
in_sorted(char *const *v, size_t n, const char *s)
{
	return n > 0 && bsearch(&s, v, n, sizeof(char *), cmp_str) != NULL;
}

static void
free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* split "a, b c" into words, each checked and normalised by fix(); returns
 * -1 with *error_r on a bad word */
static int
parse_list(const char *key, const char *s, bool (*fix)(struct buf *), char ***v_r, size_t *n_r,
	   char **error_r)
{
	char **v = NULL;
	size_t n = 0, i, k;

	while (*s != '\0') {
		struct buf w = BUF_INIT;
		size_t len;

		while (*s == ',' || *s == ' ' || *s == '\t')
			s++;
		len = strcspn(s, ", \t");
		if (len == 0)
			break;
		buf_append(&w, s, len);
		s += len;
		if (!fix(&w)) {
			struct buf e = BUF_INIT;

			buf_appendf(&e, "[attachments] %s: invalid entry \"%s\"", key, buf_cstr(&w));
			buf_deinit(&w);
			free_list(v, n);
			*error_r = buf_steal(&e);
			return -1;
		}
		if (n == ATTACH_MAX_ENTRIES) {
			struct buf e = BUF_INIT;

			buf_appendf(&e, "[attachments] %s: more than %d entries", key,
				    ATTACH_MAX_ENTRIES);
			buf_deinit(&w);
			free_list(v, n);
			*error_r = buf_steal(&e);
			return -1;
		}
		v = xreallocarray(v, n + 1, sizeof(char *));
		v[n++] = buf_steal(&w);
	}
	if (n > 0)
		qsort(v, n, sizeof(char *), cmp_str);
	/* drop duplicates */
	for (i = k = 0; i < n; i++) {
		if (k > 0 && strcmp(v[k - 1], v[i]) == 0) {
			free(v[i]);
			continue;
		}
		v[k++] = v[i];
	}
	*v_r = v;
	*n_r = k;
	return 0;
}

static bool
fix_ext(struct buf *w)
{
	size_t i, start = 0;

	while (start < w->len && w->data[start] == '.')
		start++;
	if (start > 0) {
		memmove(w->data, w->data + start, w->len - start);
		buf_truncate(w, w->len - start);
	}
	if (w->len == 0 || w->len >= ATTACH_EXT_MAX)
		return false;
	for (i = 0; i < w->len; i++) {
		unsigned char c = (unsigned char)w->data[i];

		if (c >= 'A' && c <= 'Z')
			w->data[i] = (char)(c + 32);
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
			   c == '-' || c == '~' || c == '$'))
			return false;
	}
	return true;
}

static bool
fix_type(struct buf *w)
{
	size_t i;

	for (i = 0; i < w->len; i++) {
		unsigned char c = (unsigned char)w->data[i];

		if (c >= 'a' && c <= 'z')
			w->data[i] = (char)(c - 32);
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	if (w->len < 8 || strncmp(w->data, "CL_TYPE_", 8) != 0) {
		struct buf t = BUF_INIT;

		buf_append_str(&t, "CL_TYPE_");
		buf_append(&t, w->data, w->len);
		buf_deinit(w);
		*w = t;
	}
	return w->len > 8 && w->len < ATTACH_TYPE_MAX;
}

int
attach_policy_new(const struct conf *conf, struct attach_policy **policy_r, char **error_r)
{
	struct attach_policy *p = xcalloc(1, sizeof(*p));

	if (parse_list("block_extensions", conf->attach_block_extensions, fix_ext, &p->exts,
		       &p->nexts, error_r) < 0 ||
	    parse_list("block_types", conf->attach_block_types, fix_type, &p->types, &p->ntypes,
		       error_r) < 0) {
		attach_policy_free(&p);
		return -1;
	}
	*policy_r = p;
	return 0;
}

void
attach_policy_free(struct attach_policy **pp)
{
	struct attach_policy *p = *pp;

	if (p == NULL)
		return;
	*pp = NULL;
	free_list(p->exts, p->nexts);
	free_list(p->types, p->ntypes);
	free(p);
}

size_t
attach_policy_extensions(const struct attach_policy *p)
{
	return p->nexts;
}

size_t
attach_policy_types(const struct attach_policy *p)
{
	return p->ntypes;
}

/* length of an invisible or direction-changing UTF-8 character at s (that
 * Windows shows as nothing or uses to reorder the name), else 0 */
static size_t
invisible_len(const unsigned char *s, size_t left)
{
	if (left >= 2 && s[0] == 0xc2 && s[1] == 0xad)
		return 2; /* U+00AD soft hyphen */
	if (left >= 2 && s[0] == 0xd8 && s[1] == 0x9c)
		return 2; /* U+061C Arabic letter mark */
	if (left < 3)
		return 0;
	if (s[0] == 0xe1 && s[1] == 0xa0 && s[2] == 0x8e)
		return 3; /* U+180E */
	if (s[0] == 0xe2 && s[1] == 0x80 &&
	    ((s[2] >= 0x8b && s[2] <= 0x8f) || (s[2] >= 0xaa && s[2] <= 0xae)))
		return 3; /* U+200B-200F, U+202A-202E */
	if (s[0] == 0xe2 && s[1] == 0x81 &&
	    ((s[2] >= 0xa0 && s[2] <= 0xa4) || (s[2] >= 0xa6 && s[2] <= 0xa9)))
		return 3; /* U+2060-2064, U+2066-2069 */
	if (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
		return 3; /* U+FEFF */
	return 0;
}

void
attach_policy_normalize(const char *name, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len = strnlen(name, ATTACH_NAME_MAX), i, start = 0;

	buf_reset(out);
	/* the last path component: "C:\dir\x.exe", "../x.exe" */
	for (i = 0; i < len; i++) {
		if (s[i] == '/' || s[i] == '\\')
			start = i + 1;
	}
	for (i = start; i < len;) {
		size_t skip = invisible_len(s + i, len - i);

		if (skip > 0) {
			i += skip;
			continue;
		}
		if (s[i] < 0x20 || s[i] == 0x7f) {
			i++;
			continue;
		}
		buf_append_char(out, (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]));
		i++;
	}
	/* Windows drops trailing dots and spaces: "x.exe. ." is x.exe */
	while (out->len > 0 && (out->data[out->len - 1] == '.' || out->data[out->len - 1] == ' '))
		buf_truncate(out, out->len - 1);
}

/* the extension of s[0..len): after the last dot */
static struct view
ext_of(const char *s, size_t len)
{
	size_t i = len;

	while (i > 0 && s[i - 1] != '.')
		i--;
	if (i == 0)
		return VIEW_NULL;
	return (struct view){ s + i, len - i };
}

static bool
is_decoy(struct view ext)
{
	size_t i;

	for (i = 0; i < N_ELEMENTS(decoy_exts); i++) {
		if (ext.len == strlen(decoy_exts[i]) && memcmp(ext.p, decoy_exts[i], ext.len) == 0)
			return true;
	}
	return false;
}

enum attach_match
attach_policy_check_name(const struct attach_policy *p, const char *name, char *ext_r)
{
	struct buf n = BUF_INIT;
	struct view ext;
	enum attach_match m = ATTACH_OK;
	char *e;

	if (p->nexts == 0)
		return ATTACH_OK;
	attach_policy_normalize(name, &n);
	ext = ext_of(n.data != NULL ? n.data : "", n.len);
	if (ext.len > 0 && ext.len < ATTACH_EXT_MAX) {
		e = view_dup(ext);
		if (in_sorted(p->exts, p->nexts, e)) {
			size_t stem = n.len - ext.len - 1;

			m = ATTACH_BLOCKED_EXT;
			if (ext_r != NULL)
				snprintf(ext_r, ATTACH_EXT_MAX, "%s", e);
			/* "invoice.pdf   .exe": the stem without its padding */
			while (stem > 0 && (n.data[stem - 1] == ' ' || n.data[stem - 1] == '.'))
				stem--;
			if (is_decoy(ext_of(n.data, stem)))
				m = ATTACH_DOUBLE_EXT;
		}
		free(e);
	}
	buf_deinit(&n);
	return m;
}

bool
attach_policy_type_blocked(const struct attach_policy *p, const char *type)
{
	return type != NULL && in_sorted(p->types, p->ntypes, type);
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* ZIP records (APPNOTE.TXT 4.3): general purpose flag bit 0 = encrypted
 * (traditional PKWARE and WinZip AES alike) */
#define ZIP_EOCD_SIZE 22
#define ZIP_CDH_SIZE 46
#define ZIP_LFH_SIZE 30
#define ZIP_MAX_COMMENT 65535

/* one member: its flags, uncompressed size (UINT32_MAX: unknown here,
 * ZIP64 or a data descriptor) and name; true stops the walk */
typedef bool zip_member_fn(void *ctx, unsigned int flags, uint32_t size,
			   const unsigned char *name, size_t nlen);

/* the first local header, then every central directory entry (found from
 * the end record, which may be followed by a comment); true if fn stopped
 * the walk */
static bool
zip_walk(const unsigned char *d, size_t len, zip_member_fn *fn, void *ctx)
{
	size_t eocd = SIZE_MAX, back, cd, i;

	if (len < ZIP_LFH_SIZE || memcmp(d, "PK\3\4", 4) != 0)
		return false;
	if (ZIP_LFH_SIZE + (size_t)le16(d + 26) <= len &&
	    fn(ctx, le16(d + 6), (le16(d + 6) & 8) != 0 ? UINT32_MAX : le32(d + 22),
	       d + ZIP_LFH_SIZE, le16(d + 26)))
		return true;
	for (back = ZIP_EOCD_SIZE; back <= MIN(len, ZIP_EOCD_SIZE + ZIP_MAX_COMMENT); back++) {
		if (memcmp(d + len - back, "PK\5\6", 4) == 0) {
			eocd = len - back;
			break;
		}
	}
	if (eocd == SIZE_MAX || le32(d + eocd + 12) > eocd)
		return false;
	cd = eocd - le32(d + eocd + 12);
	for (i = cd; i + ZIP_CDH_SIZE <= eocd && memcmp(d + i, "PK\1\2", 4) == 0;) {
		size_t n = le16(d + i + 28);
		size_t next = i + ZIP_CDH_SIZE + n + le16(d + i + 30) + le16(d + i + 32);

		if (next > eocd)
			break;
		if (fn(ctx, le16(d + i + 8), le32(d + i + 24), d + i + ZIP_CDH_SIZE, n))
			return true;
		i = next;
	}
	return false;
}

struct zip_find {
	uint64_t max_size; /* 0: look for encryption */
	char *member;
	size_t member_len;
};

static bool
zip_find_member(void *ctx, unsigned int flags, uint32_t size, const unsigned char *name,
		size_t nlen)
{
	struct zip_find *zf = ctx;

	if (zf->max_size == 0 ? (flags & 1) == 0
			      : size == UINT32_MAX || (uint64_t)size <= zf->max_size)
		return false;
	if (zf->member != NULL && zf->member_len > 0)
		snprintf(zf->member, zf->member_len, "%.*s", (int)MIN(nlen, zf->member_len - 1),
			 name);
	return true;
}

bool
attach_policy_zip_encrypted(const void *data, size_t len, char *member_r, size_t member_len)
{
	struct zip_find zf = { 0, member_r, member_len };

	if (member_r != NULL && member_len > 0)
		member_r[0] = '\0';
	return zip_walk(data, len, zip_find_member, &zf);
}

bool
attach_policy_zip_oversized(const void *data, size_t len, uint64_t max_size, char *member_r,
			    size_t member_len)
{
	struct zip_find zf = { max_size, member_r, member_len };

	if (member_r != NULL && member_len > 0)
		member_r[0] = '\0';
	return max_size > 0 && zip_walk(data, len, zip_find_member, &zf);
}

const char *
attach_policy_sniff(const void *data, size_t len)
{
	const unsigned char *d = data;

	if (len < 4)
		return NULL;
	if (d[0] == 'M' && d[1] == 'Z') {
		/* a PE file: "MZ" is also how some text starts */
		uint32_t pe = len >= 0x40 ? le32(d + 0x3c) : 0;

		if (pe >= 0x40 && pe <= len - 4 && memcmp(d + pe, "PE\0\0", 4) == 0)
			return "CL_TYPE_MSEXE";
		return NULL;
	}
	if (memcmp(d, "\x7f" "ELF", 4) == 0)
		return "CL_TYPE_ELF";
	switch (be32(d)) {
	case 0xfeedface: case 0xfeedfacf: case 0xcefaedfe: case 0xcffaedfe:
		return "CL_TYPE_MACHO";
	case 0xcafebabe:
		/* a fat Mach-O has a small architecture count where a Java class
		 * file has its version (45 and up) */
		return len >= 8 && be32(d + 4) < 30 ? "CL_TYPE_MACHO_UNIBIN" : NULL;
	default:
		break;
	}
	if (memcmp(d, "PK\3\4", 4) == 0)
		return "CL_TYPE_ZIP";
	if (len >= 7 && memcmp(d, "Rar!\x1a\x07", 6) == 0)
		return "CL_TYPE_RAR";
	if (len >= 6 && memcmp(d, "7z\xbc\xaf\x27\x1c", 6) == 0)
		return "CL_TYPE_7Z";
	if (len >= 8 && memcmp(d, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8) == 0)
		return "CL_TYPE_MSOLE2";
	if (memcmp(d, "MSCF", 4) == 0)
		return "CL_TYPE_MSCAB";
	if (len >= 5 && memcmp(d, "%PDF-", 5) == 0)
		return "CL_TYPE_PDF";
	if (d[0] == 0x1f && d[1] == 0x8b)
		return "CL_TYPE_GZ";
	if (d[0] == 'B' && d[1] == 'Z' && d[2] == 'h')
		return "CL_TYPE_BZ";
	return NULL;
}

void
attach_policy_safe_name(const char *name, size_t max, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)name;

	buf_reset(out);
	while (*s != '\0') {
		if (out->len >= max) {
			buf_truncate(out, max > 3 ? max - 3 : 0);
			buf_append_str(out, "...");
			return;
		}
		if (*s >= 0x20 && *s < 0x7f) {
			buf_append_char(out, (char)*s++);
			continue;
		}
		/* one '?' per UTF-8 character (or stray byte) */
		buf_append_char(out, '?');
		s++;
		while ((*s & 0xc0) == 0x80)
			s++;
	}
}
