#include "msg/spool.h"
#include "core/xalloc.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

/* file writes are batched through this much memory */
#define SPOOL_WBUF (64 * 1024)

struct spool {
	struct buf mem;    /* content (memory mode) or write batch (file) */
	uint64_t mem_limit;
	uint64_t size;
	int fd;
	char *dir;
};

struct spool *
spool_new(const char *dir, uint64_t mem_limit)
{
	struct spool *s = xcalloc(1, sizeof(*s));

	s->fd = -1;
	s->mem_limit = mem_limit;
	s->dir = xstrdup(dir);
	return s;
}

void
spool_free(struct spool **sp)
{
	struct spool *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	if (s->fd >= 0)
		close(s->fd);
	buf_deinit(&s->mem);
	free(s->dir);
	free(s);
}

static int
open_tmp(const char *dir, const char **error_r)
{
	struct buf path = BUF_INIT;
	int fd;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	buf_appendf(&path, "%s/mxmoat-spool.XXXXXX", dir);
	fd = mkostemp(path.data, O_CLOEXEC);
	if (fd >= 0)
		unlink(path.data);
	buf_deinit(&path);
	if (fd < 0)
		*error_r = strerror(errno);
	return fd;
}

static int
write_all(int fd, const char *p, size_t len, const char **error_r)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error_r = strerror(errno);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
flush_batch(struct spool *s, const char **error_r)
{
	if (s->mem.len == 0)
		return 0;
	if (write_all(s->fd, s->mem.data, s->mem.len, error_r) < 0)
		return -1;
	buf_reset(&s->mem);
	return 0;
}

int
spool_write(struct spool *s, const void *p, size_t len, const char **error_r)
{
	if (s->fd < 0 && s->size + len > s->mem_limit) {
		s->fd = open_tmp(s->dir, error_r);
		if (s->fd < 0)
			return -1;
		/* move what was in memory to the file; from now on mem is
		 * the write batch */
		if (flush_batch(s, error_r) < 0)
			return -1;
	}
	s->size += len;
	if (s->fd < 0) {
		buf_append(&s->mem, p, len);
		return 0;
	}
	if (s->mem.len + len > SPOOL_WBUF) {
		if (flush_batch(s, error_r) < 0)
			return -1;
		if (len >= SPOOL_WBUF)
			return write_all(s->fd, p, len, error_r);
	}
	buf_append(&s->mem, p, len);
	return 0;
}

int
spool_finish(struct spool *s, const char **error_r)
{
	if (s->fd < 0)
		return 0;
	if (flush_batch(s, error_r) < 0)
		return -1;
	/* the batch buffer is not needed any more */
	buf_deinit(&s->mem);
	return 0;
}

uint64_t
spool_size(const struct spool *s)
{
	return s->size;
}

bool
spool_in_memory(const struct spool *s)
{
	return s->fd < 0;
}

struct view
spool_mem(const struct spool *s)
{
	if (s->fd >= 0)
		return VIEW_NULL;
	return view_from_buf(&s->mem);
}

ssize_t
spool_read(struct spool *s, uint64_t off, void *p, size_t len, const char **error_r)
{
	if (off >= s->size)
		return 0;
	if (len > s->size - off)
		len = (size_t)(s->size - off);
	if (s->fd < 0) {
		memcpy(p, s->mem.data + off, len);
		return (ssize_t)len;
	}
	for (;;) {
		ssize_t n = pread(s->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			*error_r = strerror(errno);
		return n;
	}
}
