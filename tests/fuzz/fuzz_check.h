/*
 * fuzz_check.h - what the message-model fuzz targets share: CHECK() (an
 * invariant that must hold: abort so libFuzzer keeps the input), and
 * small helpers. Included by tests/fuzz/<name>_fuzz.c only.
 */
#ifndef MXMOAT_FUZZ_CHECK_H
#define MXMOAT_FUZZ_CHECK_H

#include "core/buf.h"
#include "msg/charset.h"

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "check failed: %s (%s:%d)\n",    \
				#cond, __FILE__, __LINE__);              \
			abort();                                         \
		}                                                        \
	} while (0)

static inline bool
fuzz_utf8_no_nul(const struct buf *b)
{
	return charset_utf8_valid(b->data, b->len) &&
	       (b->len == 0 || memchr(b->data, '\0', b->len) == NULL);
}

/* FUZZ_NO_ENTROPIC: libFuzzer's entropic scheduling spends most of the
 * time in its own bookkeeping when a target reaches as much code as the
 * whole message model does (25 runs/s instead of 150); off unless the
 * command line says otherwise. */
#define FUZZ_NO_ENTROPIC                                                     \
	int LLVMFuzzerInitialize(int *argc, char ***argv);                  \
	int LLVMFuzzerInitialize(int *argc, char ***argv)                   \
	{                                                                    \
		static char flag[] = "-entropic=0";                          \
		static char *args[256];                                      \
		int i;                                                       \
                                                                             \
		for (i = 0; i < *argc; i++) {                                \
			if (strncmp((*argv)[i], "-entropic", 9) == 0)        \
				return 0;                                    \
		}                                                            \
		if (*argc + 2 > (int)N_ELEMENTS(args))                       \
			return 0;                                            \
		for (i = 0; i < *argc; i++)                                  \
			args[i] = (*argv)[i];                                \
		args[i++] = flag;                                            \
		args[i] = NULL;                                              \
		*argc = i;                                                   \
		*argv = args;                                                \
		return 0;                                                    \
	}

#endif
