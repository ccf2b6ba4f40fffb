/* SPDX-License-Identifier: BSD-3-Clause */
/* TLS contexts with sipcert's policy: TLS 1.2 and 1.3 only, no NULL,
 * export, anonymous or RC4 suites, the RFC 6072 §10.5 suites available,
 * SNI both ways (RFC 6066 §3), client certificates on request. */
#include "priv.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"

enum { TLS_FILE_MAX_BYTES = 1024 * 1024, TLS_VERIFY_DEPTH = 8 };

/* TLS 1.2 suites, best first. RFC 6072 §10.5 names
 * TLS_RSA_WITH_AES_128_CBC_SHA ("AES128-SHA": RSA key transport, kept
 * only because the RFC requires it to be available, and chosen last) and
 * the forward-secret ECDHE AES-GCM suites, which come first. The
 * exclusions repeat what the selectors already leave out, so a later
 * edit cannot let NULL, export, anonymous or RC4 suites in by accident.
 * TLS 1.3 keeps OpenSSL's suites, all AEAD. */
static const char tls12_ciphers[] =
	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:AES128-SHA:"
	"!aNULL:!eNULL:!EXPORT:!RC4:!MD5:!DES:!3DES";

static const unsigned char session_id_ctx[] = "sipcert";

static int tls_policy(SSL_CTX *ctx)
{
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, tls12_ciphers))
		return crypto_fail("net: TLS policy");
	/* no compression (CRIME), no renegotiation (a cheap way for a
	 * client to make the server do handshakes) */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
					 SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_verify_depth(ctx, TLS_VERIFY_DEPTH);
	return 0;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0; /* never prompt on a terminal; encrypted keys fail */
}

static int file_check(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	return S_ISREG(st.st_mode) ? 0 : -EINVAL;
}

/* The leaf, the chain after it and the key, read once from the files so
 * that what is checked is what is installed. */
struct tls_pair {
	X509 *leaf;
	STACK_OF(X509) * chain;
	EVP_PKEY *key;
};

static void pair_fini(struct tls_pair *p)
{
	X509_free(p->leaf);
	sk_X509_pop_free(p->chain, X509_free);
	EVP_PKEY_free(p->key);
	memset(p, 0, sizeof(*p));
}

static int pair_load(struct tls_pair *p, const char *cert_file,
		     const char *key_file)
{
	struct buf cb, kb;
	BIO *bio = NULL;
	X509 *x;
	int err;

	memset(p, 0, sizeof(*p));
	buf_init(&cb, TLS_FILE_MAX_BYTES);
	buf_init(&kb, TLS_FILE_MAX_BYTES);
	kb.is_secret = true;
	err = crypto_file_read(cert_file, TLS_FILE_MAX_BYTES, &cb);
	if (!err)
		err = crypto_file_read(key_file, TLS_FILE_MAX_BYTES, &kb);
	if (err)
		goto out;
	bio = BIO_new_mem_buf(cb.p, (int)cb.len);
	p->chain = sk_X509_new_null();
	if (!bio || !p->chain) {
		err = -ENOMEM;
		goto out;
	}
	p->leaf = PEM_read_bio_X509_AUX(bio, NULL, no_passphrase, NULL);
	if (!p->leaf) {
		err = crypto_fail("net: no certificate in the certificate "
				  "file");
		goto out;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)))
		if (!sk_X509_push(p->chain, x)) {
			X509_free(x);
			err = -ENOMEM;
			goto out;
		}
	/* the loop ends on "no start line"; anything else is damage */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		err = crypto_fail("net: reading the certificate chain");
		goto out;
	}
	ERR_clear_error();
	BIO_free(bio);
	bio = BIO_new_mem_buf(kb.p, (int)kb.len);
	if (!bio) {
		err = -ENOMEM;
		goto out;
	}
	p->key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (!p->key)
		err = crypto_fail("net: no usable private key in the key "
				  "file");
out:
	BIO_free(bio);
	buf_fini(&kb); /* wiped: is_secret */
	buf_fini(&cb);
	if (err)
		pair_fini(p);
	return err;
}

/* Installs leaf, chain and key in one call, which refuses (and leaves ctx
 * as it was) when the key does not match or the security level does not
 * allow the certificate. */
static int pair_install(SSL_CTX *ctx, struct tls_pair *p)
{
	if (!SSL_CTX_use_cert_and_key(ctx, p->leaf, p->key, p->chain, 1))
		return crypto_fail("net: certificate and key do not match or "
				   "are too weak");
	return 0;
}

/* Accept whatever name the client asks for: one certificate serves all.
 * Answering OK (rather than having no callback) makes OpenSSL acknowledge
 * the name and keep it for SSL_get_servername(), which stream.c records
 * for net_rx.sni when the handshake completes. */
static int tls_on_servername(SSL *ssl, int *alert, void *arg)
{
	(void)ssl;
	(void)alert;
	(void)arg;
	return SSL_TLSEXT_ERR_OK;
}

static int load_trust(SSL_CTX *ctx, const char *ca_file)
{
	int err = file_check(ca_file);

	if (err)
		return err;
	if (!SSL_CTX_load_verify_file(ctx, ca_file))
		return crypto_fail("net: loading the CA file");
	return 0;
}

int net_tls_server_ctx(SSL_CTX **out, const struct net_tls_server_opts *o)
{
	struct tls_pair pair = {0};
	SSL_CTX *ctx;
	int err;

	if (!out || !o || !o->cert_file || !o->key_file ||
	    (o->require_client_cert && !o->ca_file))
		return -EINVAL;
	crypto_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return -ENOMEM;
	err = tls_policy(ctx);
	if (err)
		goto out;
	/* DHE needs parameters; "auto" sizes them to the certificate */
	SSL_CTX_set_dh_auto(ctx, 1);
	/* resumption with client certificates needs a session context */
	SSL_CTX_set_session_id_context(ctx, session_id_ctx,
				       sizeof(session_id_ctx) - 1);
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_on_servername);
	err = pair_load(&pair, o->cert_file, o->key_file);
	if (!err)
		err = pair_install(ctx, &pair);
	if (err)
		goto out;
	if (o->ca_file) {
		STACK_OF(X509_NAME) * names;

		err = load_trust(ctx, o->ca_file);
		if (err)
			goto out;
		/* tell clients which issuers we accept */
		names = SSL_load_client_CA_file(o->ca_file);
		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
		ERR_clear_error();
		SSL_CTX_set_verify(
			ctx,
			SSL_VERIFY_PEER |
				(o->require_client_cert
					 ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
					 : 0),
			NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
out:
	pair_fini(&pair);
	if (err) {
		SSL_CTX_free(ctx);
		return err;
	}
	*out = ctx;
	return 0;
}

int net_tls_client_ctx(SSL_CTX **out, const char *ca_file)
{
	SSL_CTX *ctx;
	int err;

	if (!out)
		return -EINVAL;
	crypto_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return -ENOMEM;
	err = tls_policy(ctx);
	if (!err && ca_file)
		err = load_trust(ctx, ca_file);
	else if (!err && !SSL_CTX_set_default_verify_paths(ctx))
		err = crypto_fail("net: loading the system trust store");
	if (err) {
		SSL_CTX_free(ctx);
		return err;
	}
	/* the chain must verify; the names are the caller's (RFC 5922 §7) */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	*out = ctx;
	return 0;
}

int net_tls_reload(SSL_CTX *ctx, const char *cert_file, const char *key_file)
{
	struct tls_pair pair;
	X509 *old;
	int err;

	if (!ctx || !cert_file || !key_file)
		return -EINVAL;
	crypto_clear_error();
	err = pair_load(&pair, cert_file, key_file);
	if (err)
		return err;
	/* OpenSSL keeps one certificate per key type: a new EC certificate
	 * would sit beside the old RSA one, which would still be served to
	 * some clients. Changing the key type needs a restart. */
	old = SSL_CTX_get0_certificate(ctx);
	if (old && EVP_PKEY_get_base_id(X509_get0_pubkey(old)) !=
			   EVP_PKEY_get_base_id(pair.key)) {
		pair_fini(&pair);
		return -EINVAL;
	}
	err = pair_install(ctx, &pair);
	pair_fini(&pair);
	return err;
}

/* RFC 6066 §3: HostName is a DNS name; literal addresses are not sent. */
static bool sni_is_hostname(const char *s)
{
	unsigned char tmp[sizeof(struct in6_addr)];

	return *s && strlen(s) <= 255 && !strchr(s, ':') &&
	       inet_pton(AF_INET, s, tmp) != 1;
}

/* SSL ex_data slots for the peer check: the net to ask and the name. */
static int tls_ex_net = -1, tls_ex_name = -1;
static pthread_once_t tls_ex_once = PTHREAD_ONCE_INIT;

static void tls_ex_init(void)
{
	tls_ex_net = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	tls_ex_name = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* The chain verified (ok) and this is the leaf: ask the owner of the net
 * whether the server is the one it wanted (RFC 5922 §7.3). */
static int tls_on_verify(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(
		xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct net *n;

	if (!ok || !ssl || X509_STORE_CTX_get_error_depth(xs) != 0)
		return ok;
	n = SSL_get_ex_data(ssl, tls_ex_net);
	if (!n || !n->o.tls_check_peer)
		return ok;
	if (n->o.tls_check_peer(n->o.arg, X509_STORE_CTX_get_current_cert(xs),
				SSL_get_ex_data(ssl, tls_ex_name))) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_HOSTNAME_MISMATCH);
		return 0;
	}
	return ok;
}

int net_tls_ssl_new(SSL **out, SSL_CTX *ctx, const char *sni, struct net *check)
{
	char name[256];
	SSL *ssl;

	if (!ctx)
		return -EINVAL;
	if (check && pthread_once(&tls_ex_once, tls_ex_init))
		return -ENOMEM;
	if (check && (tls_ex_net < 0 || tls_ex_name < 0))
		return -ENOMEM;
	ssl = SSL_new(ctx);
	if (!ssl) {
		ERR_clear_error();
		return -ENOMEM;
	}
	if (check) {
		SSL_set_ex_data(ssl, tls_ex_net, check);
		/* a const pointer kept, never written through */
		SSL_set_ex_data(ssl, tls_ex_name, (void *)(uintptr_t)sni);
		SSL_set_verify(ssl, SSL_VERIFY_PEER, tls_on_verify);
	}
	if (sni && sni_is_hostname(sni)) {
		/* a writable copy: OpenSSL's macro casts the const away */
		memcpy(name, sni, strlen(sni) + 1);
		if (!SSL_set_tlsext_host_name(ssl, name)) {
			SSL_free(ssl);
			return crypto_fail("net: server name");
		}
	}
	*out = ssl;
	return 0;
}
