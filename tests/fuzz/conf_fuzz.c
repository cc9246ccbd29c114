/* libFuzzer target: the configuration parser must never crash, and a
 * configuration it accepts must print and load again to the same text. */
#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = NULL, *c2 = NULL;
	char *error = NULL;
	struct buf a = BUF_INIT, b = BUF_INIT;

	if (conf_load_string("fuzz", (const char *)data, size, &c, &error) < 0) {
		free(error);
		return 0;
	}
	conf_print(c, &a);
	if (conf_load_string("fuzz2", buf_cstr(&a), a.len, &c2, &error) < 0)
		__builtin_trap();
	conf_print(c2, &b);
	if (strcmp(buf_cstr(&a), buf_cstr(&b)) != 0)
		__builtin_trap();
	conf_unref(&c);
	conf_unref(&c2);
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}
