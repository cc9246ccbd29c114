#include "core/id.h"

#include <time.h>
#include <unistd.h>
#include <sys/random.h>

static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";
static uint32_t id_counter;

void
id_init(void)
{
	uint32_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	__atomic_store_n(&id_counter, seed, __ATOMIC_RELAXED);
}

uint64_t
id_next(void)
{
	struct timespec ts;
	uint64_t ms;
	uint32_t c;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	c = __atomic_fetch_add(&id_counter, 1, __ATOMIC_RELAXED);
	return (ms << 22) | (c & 0x3fffff);
}

struct id_str
id_format(uint64_t id)
{
	struct id_str r;
	int i;

	/* 13 * 5 = 65 bits: the top character carries the top 4 bits. */
	for (i = ID_STR_LEN - 1; i >= 0; i--) {
		r.s[i] = b32[id & 31];
		id >>= 5;
	}
	r.s[ID_STR_LEN] = '\0';
	return r;
}

int
id_parse(const char *s, uint64_t *id_r)
{
	uint64_t v = 0;
	int i;

	if (strlen(s) != ID_STR_LEN)
		return -1;
	for (i = 0; i < ID_STR_LEN; i++) {
		const char *p = strchr(b32, s[i] | 0x20);

		if (s[i] == '\0' || p == NULL)
			return -1;
		if (i == 0 && (p - b32) > 15)
			return -1;
		v = (v << 5) | (uint64_t)(p - b32);
	}
	*id_r = v;
	return 0;
}
