#include "core/tls.h"
#include "conf/conf.h"
#include "core/buf.h"

#include <openssl/err.h>

void
tls_error(char *out, size_t outlen)
{
	struct buf b = BUF_INIT;
	unsigned long e;

	while ((e = ERR_get_error()) != 0) {
		char one[256];

		ERR_error_string_n(e, one, sizeof(one));
		if (b.len > 0)
			buf_append_str(&b, "; ");
		buf_append_str(&b, one);
	}
	snprintf(out, outlen, "%s", b.len > 0 ? buf_cstr(&b) : "unknown TLS error");
	buf_deinit(&b);
}

static int
min_version(const char *s)
{
	if (strcasecmp(s, "TLSv1.3") == 0)
		return TLS1_3_VERSION;
	if (strcasecmp(s, "TLSv1.1") == 0)
		return TLS1_1_VERSION;
	if (strcasecmp(s, "TLSv1") == 0 || strcasecmp(s, "TLSv1.0") == 0)
		return TLS1_VERSION;
	return TLS1_2_VERSION;
}

static void
common_options(SSL_CTX *ctx, const struct conf *conf)
{
	SSL_CTX_set_min_proto_version(ctx, min_version(conf->tls_min_protocol));
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

static SSL_CTX *
fail(SSL_CTX *ctx, char **error_r, const char *what, const char *path)
{
	struct buf b = BUF_INIT;
	char e[512];

	tls_error(e, sizeof(e));
	buf_appendf(&b, "%s %s: %s", what, path, e);
	*error_r = buf_steal(&b);
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_server_ctx_new(const struct conf *conf, char **error_r)
{
	SSL_CTX *ctx;

	*error_r = NULL;
	if (conf->tls_cert[0] == '\0' || conf->tls_key[0] == '\0')
		return NULL;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		return fail(NULL, error_r, "SSL_CTX_new", "");
	common_options(ctx, conf);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (conf->tls_ciphers[0] != '\0' && SSL_CTX_set_cipher_list(ctx, conf->tls_ciphers) != 1)
		return fail(ctx, error_r, "[tls] ciphers", conf->tls_ciphers);
	if (SSL_CTX_use_certificate_chain_file(ctx, conf->tls_cert) != 1)
		return fail(ctx, error_r, "[tls] cert", conf->tls_cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, conf->tls_key, SSL_FILETYPE_PEM) != 1)
		return fail(ctx, error_r, "[tls] key", conf->tls_key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return fail(ctx, error_r, "[tls] key does not match the certificate", conf->tls_key);
	return ctx;
}

SSL_CTX *
tls_client_ctx_new(const struct conf *conf, char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	*error_r = NULL;
	if (ctx == NULL)
		return fail(NULL, error_r, "SSL_CTX_new", "");
	common_options(ctx, conf);
	if (conf->downstream_tls_verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (conf->downstream_tls_ca[0] != '\0') {
			if (SSL_CTX_load_verify_locations(ctx, conf->downstream_tls_ca, NULL) != 1)
				return fail(ctx, error_r, "[downstream] tls_ca", conf->downstream_tls_ca);
		} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			return fail(ctx, error_r, "the system CA store", "");
		}
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	return ctx;
}

void
tls_describe(SSL *ssl, char *out, size_t outlen)
{
	int bits = 0;

	SSL_get_cipher_bits(ssl, &bits);
	snprintf(out, outlen, "%s %s %d", SSL_get_version(ssl), SSL_get_cipher_name(ssl), bits);
}
