#include "core/xalloc.h"

static void *
check(void *p, size_t size)
{
	if (unlikely(p == NULL && size != 0))
		panic("out of memory allocating %zu bytes", size);
	return p;
}

void *
xmalloc(size_t size)
{
	return check(malloc(size == 0 ? 1 : size), size);
}

void *
xcalloc(size_t nmemb, size_t size)
{
	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	return check(calloc(nmemb, size), nmemb * size);
}

void *
xrealloc(void *ptr, size_t size)
{
	return check(realloc(ptr, size == 0 ? 1 : size), size);
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(nmemb, size, &total))
		panic("allocation size overflow (%zu * %zu)", nmemb, size);
	return xrealloc(ptr, total);
}

char *
xstrdup(const char *s)
{
	return xmemdup0(s, strlen(s));
}

char *
xstrndup(const char *s, size_t len)
{
	return xmemdup0(s, strnlen(s, len));
}

char *
xmemdup0(const void *p, size_t len)
{
	char *r;

	if (len == SIZE_MAX)
		panic("allocation size overflow");
	r = xmalloc(len + 1);
	if (len > 0)
		memcpy(r, p, len);
	r[len] = '\0';
	return r;
}
