#include "plugins/greylist/greylist_cache.h"
#include "core/xalloc.h"

#include <pthread.h>
#include <time.h>

#define WAYS 4

struct entry {
	uint64_t h1, h2;
	int64_t expires_ms;     /* 0 = empty */
	int value;
};

struct greylist_cache {
	struct entry *e;
	size_t nsets;           /* entries / WAYS */
	uint64_t ttl_ms;
	pthread_mutex_t lock;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a, twice with different bases */
static void
hash2(const char *s, uint64_t *h1, uint64_t *h2)
{
	uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;

	for (; *s != '\0'; s++) {
		a = (a ^ (unsigned char)*s) * 0x100000001b3ull;
		b = (b ^ (unsigned char)*s) * 0x100000001b3ull;
		b ^= b >> 29;
	}
	*h1 = a;
	*h2 = b | 1; /* never 0, so an empty entry never matches */
}

struct greylist_cache *
greylist_cache_new(size_t entries, uint64_t ttl_ms)
{
	struct greylist_cache *c = xcalloc(1, sizeof(*c));

	c->nsets = entries / WAYS;
	c->ttl_ms = ttl_ms;
	if (c->nsets > 0 && ttl_ms > 0)
		c->e = xcalloc(c->nsets * WAYS, sizeof(*c->e));
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void
greylist_cache_free(struct greylist_cache **cp)
{
	struct greylist_cache *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	pthread_mutex_destroy(&c->lock);
	free(c->e);
	free(c);
}

size_t
greylist_cache_size(const struct greylist_cache *c)
{
	return c->e != NULL ? c->nsets * WAYS : 0;
}

bool
greylist_cache_get(struct greylist_cache *c, const char *key, int *value_r)
{
	uint64_t h1, h2;
	struct entry *set;
	int64_t now;
	bool hit = false;
	size_t i;

	if (c->e == NULL)
		return false;
	hash2(key, &h1, &h2);
	now = now_ms();
	pthread_mutex_lock(&c->lock);
	set = &c->e[(h1 % c->nsets) * WAYS];
	for (i = 0; i < WAYS; i++) {
		if (set[i].h1 == h1 && set[i].h2 == h2 && set[i].expires_ms > now) {
			*value_r = set[i].value;
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void
greylist_cache_put(struct greylist_cache *c, const char *key, int value)
{
	uint64_t h1, h2;
	struct entry *set, *victim;
	int64_t now;
	size_t i;

	if (c->e == NULL)
		return;
	hash2(key, &h1, &h2);
	now = now_ms();
	pthread_mutex_lock(&c->lock);
	set = &c->e[(h1 % c->nsets) * WAYS];
	victim = &set[0];
	for (i = 0; i < WAYS; i++) {
		if (set[i].h1 == h1 && set[i].h2 == h2) {
			victim = &set[i];
			break;
		}
		if (set[i].expires_ms < victim->expires_ms)
			victim = &set[i];
	}
	victim->h1 = h1;
	victim->h2 = h2;
	victim->value = value;
	victim->expires_ms = now + (int64_t)c->ttl_ms;
	pthread_mutex_unlock(&c->lock);
}
