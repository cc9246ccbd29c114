/*
 * common.h - included first by every mxmoat source file.
 *
 * Contract: brings in the C library headers every module uses, a few
 * attribute macros, and poisons the unsafe string functions (strcpy,
 * strcat, sprintf, gets, strtok) so that a use of them fails to compile.
 * No mail knowledge lives here.
 */
#ifndef MXMOAT_COMMON_H
#define MXMOAT_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#define ATTR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define ATTR_NORETURN __attribute__((noreturn))
#define ATTR_UNUSED __attribute__((unused))
#define ATTR_WARN_UNUSED __attribute__((warn_unused_result))

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* panic(): a broken invariant. fatal(): start-up or configuration only. */
void panic(const char *fmt, ...) ATTR_PRINTF(1, 2) ATTR_NORETURN;
void fatal(const char *fmt, ...) ATTR_PRINTF(1, 2) ATTR_NORETURN;

#ifndef MXMOAT_NO_POISON
#pragma GCC poison strcpy strcat sprintf vsprintf gets strtok
#endif

#endif
