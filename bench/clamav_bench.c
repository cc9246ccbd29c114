/*
 * clamav_bench - mxmoat's DATA-stage pipeline (MIME parse + the enabled
 * plugins: for bench/clamav the clamav plugin, raw message and every
 * decoded part) over a set of messages with N threads, the way mxmoatd's
 * scan workers run it: one shared engine snapshot, one spool per message
 * ([spool] memory_limit as configured), the verdict decided.
 *
 * Every file is read into memory first (LF line ends become CRLF, as on
 * the wire); the clock runs from the first scan to the last. Prints
 * key=value lines: messages, bytes, seconds, msgs_per_s, mb_per_s, the
 * actions counted, load_ms (engine build), cpu_s (user + system time of
 * the scanning phase, all threads) and max_rss_kb.
 *
 * Usage: clamav_bench -c CONF [-t THREADS] [-r ROUNDS] FILE...
 */
#include "conf/conf.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "scan/scan.h"
#include "verdict/verdict.h"

#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct input {
	char *data;
	size_t len;
};

static struct input *inputs;
static size_t ninputs, next_input, total_inputs;
static uint64_t total_bytes;
static struct scan_engine *engine;
static struct conf *conf;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long counts[5];
static unsigned long errors;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_of(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
	       (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

static void
add_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf raw = BUF_INIT, wire = BUF_INIT;
	char chunk[65536];
	size_t n, i;

	if (f == NULL) {
		fprintf(stderr, "clamav_bench: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&raw, chunk, n);
	fclose(f);
	for (i = 0; i < raw.len; i++) {
		if (raw.data[i] == '\n' && (i == 0 || raw.data[i - 1] != '\r'))
			buf_append_char(&wire, '\r');
		buf_append_char(&wire, raw.data[i]);
	}
	buf_deinit(&raw);
	inputs = xreallocarray(inputs, ninputs + 1, sizeof(*inputs));
	inputs[ninputs].len = wire.len;
	inputs[ninputs].data = buf_steal(&wire);
	total_bytes += inputs[ninputs].len;
	ninputs++;
}

static void *
worker(void *arg)
{
	for (;;) {
		struct scan_request req;
		struct scan_result res;
		struct verdict v;
		struct msg *m = NULL;
		struct spool *sp;
		const char *error = NULL;
		size_t k;

		pthread_mutex_lock(&lock);
		k = next_input < total_inputs ? next_input++ : SIZE_MAX;
		pthread_mutex_unlock(&lock);
		if (k == SIZE_MAX)
			return NULL;
		k %= ninputs;
		sp = spool_new(conf->spool_directory, conf->spool_memory_limit);
		if (spool_write(sp, inputs[k].data, inputs[k].len, &error) < 0 ||
		    spool_finish(sp, &error) < 0) {
			fprintf(stderr, "clamav_bench: spool: %s\n", error);
			exit(1);
		}
		memset(&req, 0, sizeof(req));
		req.id = id_next();
		req.client_ip = "192.0.2.1";
		req.client_name = "[UNAVAILABLE]";
		req.helo = "bench.example";
		req.mail_from = "bench@example.org";
		req.spool = sp;
		scan_result_init(&res);
		verdict_init(&v);
		if (scan_engine_scan_data(engine, &req, &m, &res, &error) < 0) {
			fprintf(stderr, "clamav_bench: %s\n", error);
			exit(1);
		}
		verdict_decide(conf, &res, &v);
		pthread_mutex_lock(&lock);
		counts[v.action]++;
		errors += res.plugin_errors;
		pthread_mutex_unlock(&lock);
		verdict_deinit(&v);
		scan_result_deinit(&res);
		msg_free(&m);
		spool_free(&sp);
	}
}

int
main(int argc, char **argv)
{
	const char *conf_path = NULL, *lerr = NULL;
	unsigned int threads = 2, rounds = 1, i;
	pthread_t *tids;
	char *error = NULL;
	struct rusage ru, ru0;
	double t0, t1, load0;
	int ch;

	while ((ch = getopt(argc, argv, "c:t:r:")) != -1) {
		switch (ch) {
		case 'c': conf_path = optarg; break;
		case 't': threads = (unsigned int)atoi(optarg); break;
		case 'r': rounds = (unsigned int)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: clamav_bench -c CONF [-t THREADS] [-r ROUNDS] FILE...\n");
			return 2;
		}
	}
	if (conf_path == NULL || optind >= argc || threads == 0 || rounds == 0) {
		fprintf(stderr, "usage: clamav_bench -c CONF [-t THREADS] [-r ROUNDS] FILE...\n");
		return 2;
	}
	if (conf_load(conf_path, &conf, &error) < 0) {
		fprintf(stderr, "clamav_bench: %s\n", error);
		return 1;
	}
	if (log_open(LOG_TARGET_STDERR, "clamav_bench", "mail", LOG_LEVEL_WARNING, &lerr) < 0)
		return 1;
	id_init();
	for (i = (unsigned int)optind; i < (unsigned int)argc; i++)
		add_file(argv[i]);
	load0 = now();
	if (scan_engine_new(conf, &engine, &error) < 0) {
		fprintf(stderr, "clamav_bench: %s\n", error);
		return 1;
	}
	printf("load_ms=%.0f\n", (now() - load0) * 1000);
	total_inputs = ninputs * rounds;
	tids = xcalloc(threads, sizeof(*tids));
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now();
	for (i = 0; i < threads; i++)
		pthread_create(&tids[i], NULL, worker, NULL);
	for (i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	t1 = now();
	getrusage(RUSAGE_SELF, &ru);
	printf("messages=%zu\nbytes=%llu\nseconds=%.3f\nmsgs_per_s=%.1f\nmb_per_s=%.2f\n",
	       total_inputs, (unsigned long long)total_bytes * rounds, t1 - t0,
	       (double)total_inputs / (t1 - t0),
	       (double)total_bytes * rounds / (t1 - t0) / 1e6);
	printf("accept=%lu\ntag=%lu\ntempfail=%lu\nreject=%lu\ndiscard=%lu\nplugin_errors=%lu\n",
	       counts[VERDICT_ACCEPT], counts[VERDICT_TAG], counts[VERDICT_TEMPFAIL],
	       counts[VERDICT_REJECT], counts[VERDICT_DISCARD], errors);
	/* CPU of the scanning phase only (all threads), as clamd's is
	 * measured while it scans */
	printf("cpu_s=%.3f\n", cpu_of(&ru) - cpu_of(&ru0));
	printf("max_rss_kb=%ld\n", ru.ru_maxrss);
	scan_engine_unref(&engine);
	conf_unref(&conf);
	for (i = 0; i < ninputs; i++)
		free(inputs[i].data);
	free(inputs);
	free(tids);
	return 0;
}
