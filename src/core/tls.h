/*
 * tls.h - OpenSSL contexts for STARTTLS, inbound and to the downstream.
 *
 * Contract: tls_server_ctx_new() loads the certificate chain and key of
 * [tls] (fails with FILE-level errors at start-up or reload, so a bad key
 * keeps the old configuration); TLS 1.2 is the minimum by default, TLS 1.3
 * is on, renegotiation, compression and session tickets off. Contexts are
 * refcounted by OpenSSL (SSL_CTX_up_ref); each session gets its own SSL.
 * tls_client_ctx_new() is for STARTTLS towards the downstream, with
 * certificate verification per [downstream] tls_verify.
 */
#ifndef MXMOAT_TLS_H
#define MXMOAT_TLS_H

#include "core/common.h"

#include <openssl/ssl.h>

struct conf;

/* NULL (and *error_r NULL) when [tls] has no certificate: no STARTTLS */
SSL_CTX *tls_server_ctx_new(const struct conf *conf, char **error_r);
SSL_CTX *tls_client_ctx_new(const struct conf *conf, char **error_r);
/* tls_error(): the OpenSSL error queue as one string (and cleared) */
void tls_error(char *out, size_t outlen);
/* tls_describe(): "TLSv1.3 TLS_AES_256_GCM_SHA384 256" of a connection */
void tls_describe(SSL *ssl, char *out, size_t outlen);

#endif
