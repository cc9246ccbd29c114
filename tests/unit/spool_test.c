#include "msg/spool.h"

#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

static size_t
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static void
roundtrip(uint64_t limit, size_t total, size_t piece, bool expect_memory)
{
	char dir[] = "/tmp/mxmoat-spool-test.XXXXXX";
	struct spool *s;
	const char *error = NULL;
	char *data = malloc(total + 1), *back = malloc(total + 1);
	size_t off, i;

	assert_non_null(mkdtemp(dir));
	for (i = 0; i < total; i++)
		data[i] = (char)('a' + (i * 7) % 26);
	s = spool_new(dir, limit);
	for (off = 0; off < total; off += piece)
		assert_int_equal(spool_write(s, data + off, MIN(piece, total - off), &error), 0);
	assert_int_equal(spool_finish(s, &error), 0);
	assert_int_equal(spool_size(s), total);
	assert_int_equal(spool_in_memory(s), expect_memory);
	/* the temporary file never has a name in the directory */
	assert_int_equal(count_entries(dir), 0);
	off = 0;
	while (off < total) {
		ssize_t n = spool_read(s, off, back + off, 1000, &error);

		assert_true(n > 0);
		off += (size_t)n;
	}
	assert_int_equal(spool_read(s, total, back, 10, &error), 0);
	assert_memory_equal(data, back, total);
	if (expect_memory) {
		struct view v = spool_mem(s);

		assert_int_equal(v.len, total);
		assert_memory_equal(v.p, data, total);
	} else {
		assert_null(spool_mem(s).p);
	}
	spool_free(&s);
	assert_null(s);
	rmdir(dir);
	free(data);
	free(back);
}

static void
test_memory(void **state)
{
	roundtrip(4096, 4096, 100, true);
}

static void
test_file(void **state)
{
	roundtrip(4096, 300 * 1024, 777, false);
}

static void
test_file_big_writes(void **state)
{
	roundtrip(0, 1024 * 1024, 200 * 1024, false);
}

static void
test_bad_dir(void **state)
{
	struct spool *s = spool_new("/nonexistent/dir", 10);
	const char *error = NULL;

	assert_int_equal(spool_write(s, "0123456789abc", 13, &error), -1);
	assert_non_null(error);
	spool_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_big_writes),
		cmocka_unit_test(test_bad_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
