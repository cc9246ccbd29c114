/*
 * xalloc.h - allocation that never returns NULL.
 *
 * Contract: on allocation failure the process panics. Every input-driven
 * size is bounded before it reaches these functions (see bounds.h), so a
 * failure here means the machine is out of memory, not that a client sent
 * something large. Sizes are checked for multiplication overflow.
 */
#ifndef MXMOAT_XALLOC_H
#define MXMOAT_XALLOC_H

#include "core/common.h"

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t len);
/* xmemdup0(): copy len bytes and append a NUL. */
char *xmemdup0(const void *p, size_t len);

#endif
