/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert_domain_create(): a ready-to-run domain for sipcertd: a demo CA,
 * the RFC 5922 §4 domain certificate (URI:sip:DOMAIN and DNS:HOST), the
 * key-encryption key, an empty store and a complete sipcertd.conf. */
#include "lib.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "store/store.h"

enum {
	CA_DAYS = 3650,
	/* the longest validity TLS clients accept from private CAs */
	DOMAIN_CERT_DAYS = 825,
	/* the daemon's control socket must fit sun_path */
	SOCKET_PATH_MAX = 107,
	CONF_MAX_BYTES = 16 * 1024,
};

/* The files of a domain, in the order they are written: sipcertd.conf
 * last, so a complete configuration means a complete domain. */
enum dfile { F_CA_KEY, F_CA_CERT, F_KEY, F_CERT, F_KEK, F_STORE, F_CONF, F_N };

static const char *const file_names[F_N] = {
	[F_CA_KEY] = "ca.key",
	[F_CA_CERT] = "ca.pem",
	[F_KEY] = "domain.key",
	[F_CERT] = "domain.pem",
	[F_KEK] = "kek",
	[F_STORE] = "sipcertd.db",
	[F_CONF] = "sipcertd.conf",
};

struct job {
	const struct sipcert_domain_opts *o;
	const char *host;
	unsigned sip_port, tls_port, https_port;
	char dir[PATH_MAX];
	char *path[F_N];
	bool is_made[F_N]; /* by this call: removed again on failure */
	bool is_dir_made;
	EVP_PKEY *ca_key, *key;
	X509 *ca, *cert;
	struct buf ca_pem;
};

PRINTF_LIKE(3, 4)
static int fail(struct job *j, int err, const char *fmt, ...)
{
	va_list ap;

	if (j->o->errbuf && j->o->errbuf_len) {
		va_start(ap, fmt);
		vsnprintf(j->o->errbuf, j->o->errbuf_len, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* RFC 1123 §2.1 host name, not an IPv4 address (RFC 5922 §7.2: an IP
 * address never names a domain). */
static bool is_host_name(const char *s)
{
	size_t len = strlen(s), label = 0;
	struct in_addr a4;

	if (!len || len > 253 || inet_pton(AF_INET, s, &a4) == 1)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (char_is_alpha((unsigned char)c) ||
			   char_is_digit((unsigned char)c) ||
			   (c == '-' && label)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static int check_opts(struct job *j)
{
	const struct sipcert_domain_opts *o = j->o;

	if (!o->domain || !is_host_name(o->domain))
		return fail(j, -EINVAL, "'%s' is not a domain name",
			    o->domain ? o->domain : "");
	j->host = o->host ? o->host : o->domain;
	if (!is_host_name(j->host))
		return fail(j, -EINVAL,
			    "'%s' is not a host name (IP "
			    "addresses are not used as certificate names)",
			    j->host);
	if (!o->dir || !*o->dir)
		return fail(j, -EINVAL, "no directory given");
	if (o->sip_port > 65535 || o->tls_port > 65535 || o->https_port > 65535)
		return fail(j, -EINVAL, "a port is out of range (1-65535)");
	j->sip_port = o->sip_port ? o->sip_port : 5060;
	j->tls_port = o->tls_port ? o->tls_port : 5061;
	j->https_port = o->https_port ? o->https_port : 8443;
	/* SIP over TCP, SIP over TLS and HTTPS each need their TCP port */
	if (j->sip_port == j->tls_port || j->sip_port == j->https_port ||
	    j->tls_port == j->https_port)
		return fail(j, -EINVAL,
			    "the SIP, TLS and HTTPS ports must "
			    "differ (%u, %u, %u)",
			    j->sip_port, j->tls_port, j->https_port);
	return 0;
}

static int make_dir(struct job *j)
{
	struct stat st;
	int e;

	if (!mkdir(j->o->dir, 0700)) {
		j->is_dir_made = true;
	} else if (errno != EEXIST) {
		e = errno;
		return fail(j, -e, "cannot create %s: %s", j->o->dir,
			    strerror(e));
	}
	if (stat(j->o->dir, &st) || !S_ISDIR(st.st_mode))
		return fail(j, -ENOTDIR, "%s is not a directory", j->o->dir);
	if (!realpath(j->o->dir, j->dir)) {
		e = errno;
		return fail(j, -e, "%s: %s", j->o->dir, strerror(e));
	}
	if (strlen(j->dir) + sizeof("/control.sock") - 1 > SOCKET_PATH_MAX)
		return fail(j, -ENAMETOOLONG,
			    "%s is too long: the control "
			    "socket path in it would exceed %d bytes",
			    j->dir, SOCKET_PATH_MAX);
	for (size_t i = 0; i < F_N; i++) {
		struct buf b;

		buf_init(&b, PATH_MAX);
		buf_printf(&b, "%s/%s", j->dir, file_names[i]);
		j->path[i] = buf_steal(&b, NULL);
		buf_fini(&b);
		if (!j->path[i])
			return -ENOMEM;
	}
	return 0;
}

static int remove_file(struct job *j, const char *path)
{
	int e;

	if (!unlink(path) || errno == ENOENT)
		return 0;
	e = errno;
	return fail(j, -e, "cannot remove %s: %s", path, strerror(e));
}

/* Without force nothing of an earlier domain may be there; with force
 * the store and the KEK go first (crypto_kek_create() never replaces,
 * and a new KEK could not open keys sealed under the old one). */
static int clear_dir(struct job *j)
{
	static const char *const store_extra[] = {"-wal", "-shm", "-journal"};
	struct stat st;
	int err;

	if (!j->o->force) {
		for (size_t i = 0; i < F_N; i++)
			if (!lstat(j->path[i], &st))
				return fail(j, -EEXIST,
					    "%s exists: %s already "
					    "holds a domain",
					    j->path[i], j->dir);
		return 0;
	}
	err = remove_file(j, j->path[F_KEK]);
	if (!err)
		err = remove_file(j, j->path[F_STORE]);
	for (size_t i = 0; !err && i < ARRAY_SIZE(store_extra); i++) {
		struct buf b;
		const char *p;

		buf_init(&b, PATH_MAX);
		buf_printf(&b, "%s%s", j->path[F_STORE], store_extra[i]);
		err = buf_cstr(&b, &p);
		if (!err)
			err = remove_file(j, p);
		buf_fini(&b);
	}
	return err;
}

static int crypto_failed(struct job *j, int err, const char *what)
{
	if (err == -ENOMEM)
		return err;
	return fail(j, err, "%s: %s", what, crypto_last_error());
}

/* RFC 5922 §4: the SIP URI of the domain and the DNS name of the host;
 * localhost too, so clients on the same machine can check the name. */
static int issue(struct job *j)
{
	char uri[4 + 254];
	const char *uris[] = {uri};
	const char *dns[2] = {j->host, "localhost"};
	size_t n_dns = strcasecmp(j->host, "localhost") ? 2 : 1;
	struct buf cn;
	const char *ca_cn;
	int err;

	snprintf(uri, sizeof(uri), "sip:%s", j->o->domain);
	err = crypto_key_generate(&j->ca_key, CRYPTO_KEY_RSA2048);
	if (err)
		return crypto_failed(j, err, "CA key");
	buf_init(&cn, 512);
	buf_printf(&cn, "sipcert demo CA for %s", j->o->domain);
	err = buf_cstr(&cn, &ca_cn);
	if (!err)
		err = crypto_cert_create(&j->ca, j->ca_key, NULL, NULL,
					 &(struct crypto_cert_opts){
						 .common_name = ca_cn,
						 .is_ca = true,
						 .days = CA_DAYS,
						 .not_before_offset_s = -300,
					 });
	buf_fini(&cn);
	if (err)
		return crypto_failed(j, err, "CA certificate");
	err = crypto_key_generate(&j->key, CRYPTO_KEY_RSA2048);
	if (err)
		return crypto_failed(j, err, "domain key");
	err = crypto_cert_create(&j->cert, j->key, j->ca_key, j->ca,
				 &(struct crypto_cert_opts){
					 .uri_sans = uris,
					 .n_uri_sans = 1,
					 .dns_sans = dns,
					 .n_dns_sans = n_dns,
					 .common_name = j->o->domain,
					 .tls_server_client = true,
					 .days = DOMAIN_CERT_DAYS,
					 .not_before_offset_s = -300,
				 });
	if (err)
		return crypto_failed(j, err, "domain certificate");
	err = crypto_cert_pem(j->ca, &j->ca_pem);
	if (err)
		return crypto_failed(j, err, "CA certificate");
	return 0;
}

static int write_file(struct job *j, enum dfile f, const void *data, size_t len,
		      mode_t mode)
{
	int err = j->o->force ? crypto_file_write_atomic(j->path[f], data, len,
							 mode)
			      : crypto_file_create_atomic(j->path[f], data, len,
							  mode);

	if (err)
		return crypto_failed(j, err, j->path[f]);
	j->is_made[f] = true;
	return 0;
}

static int write_key(struct job *j, enum dfile f, EVP_PKEY *k)
{
	struct buf b;
	int err;

	buf_init(&b, CRYPTO_KEY_FILE_MAX_BYTES);
	b.is_secret = true;
	err = crypto_key_private_encode(k, CRYPTO_PEM, &b);
	if (err)
		err = crypto_failed(j, err, "private key");
	else
		err = write_file(j, f, b.p, b.len, 0600);
	buf_fini(&b);
	return err;
}

static int write_cert(struct job *j, enum dfile f, X509 *c)
{
	struct buf b;
	int err;

	buf_init(&b, 64 * 1024);
	err = crypto_cert_pem(c, &b);
	if (err)
		err = crypto_failed(j, err, "certificate");
	else
		err = write_file(j, f, b.p, b.len, 0644);
	buf_fini(&b);
	return err;
}

static int make_store(struct job *j)
{
	struct store *st;
	struct buf url;
	const char *u;
	int err;

	buf_init(&url, PATH_MAX + 16);
	buf_printf(&url, "sqlite:%s", j->path[F_STORE]);
	err = buf_cstr(&url, &u);
	if (!err)
		err = store_open(&st, u);
	buf_fini(&url);
	if (err == -ENOMEM)
		return err;
	if (err)
		return fail(j, err, "store: %s", store_last_error(NULL));
	j->is_made[F_STORE] = true;
	store_close(st);
	return 0;
}

/* The configuration, every section with every key (sipcertd.conf(5)),
 * paths relative to the file so the directory can move. */
static int conf_text(struct job *j, struct buf *b)
{
	const char *d = j->o->domain, *h = j->host;

	buf_printf(b,
		   "; sipcertd.conf for the SIP domain %s, written by\n"
		   "; sipcert init-domain. Every key is described in\n"
		   "; sipcertd.conf(5). Relative paths start at this file's\n"
		   "; directory. Check a change with:\n"
		   ";   sipcertd -c %s --check-config\n"
		   "\n"
		   "[domain]\n"
		   "; the SIP domain this server is responsible for\n"
		   "name = %s\n"
		   "; TLS certificate naming URI:sip:%s and DNS:%s\n"
		   "; (RFC 5922), issued by the demo CA in ca.pem\n"
		   "cert = domain.pem\n"
		   "key = domain.key\n"
		   "; the certificates clients need to trust this domain\n"
		   "trust_anchors = ca.pem\n"
		   "; seals the private keys kept in the store (mode 0600)\n"
		   "kek = kek\n"
		   "\n",
		   d, j->path[F_CONF], d, d, h);
	buf_printf(b,
		   "[sip]\n"
		   "; transport:address[:port], comma-separated; repeatable\n"
		   "listen = udp:127.0.0.1:%u, tcp:127.0.0.1:%u\n"
		   "listen = tls:127.0.0.1:%u\n"
		   "; host for Via and Record-Route; default: the address\n"
		   "; advertised_host = %s\n"
		   "max_message_bytes = 65535\n"
		   "max_connections = 4096\n"
		   "idle_timeout = 5m\n"
		   "message_timeout = 10s\n"
		   "; transaction timers (RFC 3261 section 17.1.1.1)\n"
		   "t1 = 500ms\n"
		   "t2 = 4s\n"
		   "t4 = 5s\n"
		   "\n"
		   "[tls]\n"
		   "require_client_cert = no\n"
		   "; CAs that client certificates must chain to\n"
		   "; client_ca = clients.pem\n"
		   "min_version = 1.2\n"
		   "\n"
		   "[https]\n"
		   "; Identity-Info certificate, certificate store, user page\n"
		   "listen = 127.0.0.1:%u\n"
		   "\n",
		   j->sip_port, j->sip_port, j->tls_port, h, j->https_port);
	buf_printf(b,
		   "[auth]\n"
		   "realm = %s\n"
		   "; digest algorithms, most preferred first (RFC 8760)\n"
		   "algorithms = SHA-256, MD5\n"
		   "nonce_lifetime = 5m\n"
		   "max_failures = 5\n"
		   "backoff = 1m\n"
		   "\n"
		   "[registrar]\n"
		   "min_expires = 60s\n"
		   "default_expires = 1h\n"
		   "max_expires = 1d\n"
		   "max_bindings = 10\n"
		   "authenticate = yes\n"
		   "\n"
		   "[subscriptions]\n"
		   "min_expires = 60s\n"
		   "; RFC 6072 section 6.3: one day by default\n"
		   "default_expires = 1d\n"
		   "max_expires = 7d\n"
		   "; RFC 6072 section 6.10: at most one NOTIFY a minute\n"
		   "notify_min_interval = 60s\n"
		   "max_per_aor = 100\n"
		   "\n"
		   "[identity]\n"
		   "; RFC 4474 signature algorithm: rsa-sha256 or rsa-sha1\n"
		   "alg = rsa-sha256\n"
		   "; where verifiers fetch the domain certificate; default:\n"
		   "; this server's own HTTPS listener. Set it when another\n"
		   "; server publishes the certificate, for example:\n"
		   "; info_url = https://certificates.%s/domain.pem\n"
		   "\n"
		   "[store]\n"
		   "url = sqlite:sipcertd.db\n"
		   "\n"
		   "[log]\n"
		   "; error, warning, notice, info or debug\n"
		   "level = info\n"
		   "syslog = no\n"
		   "\n"
		   "[control]\n"
		   "socket = control.sock\n"
		   "\n"
		   "[workers]\n"
		   "threads = 4\n",
		   d, d);
	return b->err;
}

static int dup_into(char **dst, const char *s)
{
	*dst = mem_strdup(s);
	return *dst ? 0 : -ENOMEM;
}

static int fill_info(struct job *j, struct sipcert_domain_info *info)
{
	struct sipcert_domain_info t = {
		.sip_port = j->sip_port,
		.tls_port = j->tls_port,
		.https_port = j->https_port,
	};
	const char *pem;
	int err = buf_cstr(&j->ca_pem, &pem);

	if (!err)
		err = dup_into(&t.domain, j->o->domain);
	if (!err)
		err = dup_into(&t.host, j->host);
	if (!err)
		err = dup_into(&t.dir, j->dir);
	if (!err)
		err = dup_into(&t.trust_anchors, pem);
	/* the paths move over: the job no longer frees them */
	if (!err) {
		t.config = j->path[F_CONF];
		t.store = j->path[F_STORE];
		t.cert = j->path[F_CERT];
		t.key = j->path[F_KEY];
		t.ca_cert = j->path[F_CA_CERT];
		t.ca_key = j->path[F_CA_KEY];
		t.kek = j->path[F_KEK];
		memset(j->path, 0, sizeof(j->path));
		*info = t;
		return 0;
	}
	sipcert_domain_info_fini(&t);
	return err;
}

SIPCERT_API int sipcert_domain_create(const struct sipcert_domain_opts *o,
				      struct sipcert_domain_info *info)
{
	struct job j = {.o = o};
	struct buf conf;
	int err;

	if (!o || !info)
		return -EINVAL;
	buf_init(&j.ca_pem, 64 * 1024);
	buf_init(&conf, CONF_MAX_BYTES);
	err = check_opts(&j);
	if (!err)
		err = make_dir(&j);
	if (!err)
		err = clear_dir(&j);
	if (!err)
		err = issue(&j);
	if (!err)
		err = write_key(&j, F_CA_KEY, j.ca_key);
	if (!err)
		err = write_file(&j, F_CA_CERT, j.ca_pem.p, j.ca_pem.len, 0644);
	if (!err)
		err = write_key(&j, F_KEY, j.key);
	if (!err)
		err = write_cert(&j, F_CERT, j.cert);
	if (!err) {
		err = crypto_kek_create(j.path[F_KEK]);
		if (err)
			err = crypto_failed(&j, err, "key-encryption key");
		else
			j.is_made[F_KEK] = true;
	}
	if (!err)
		err = make_store(&j);
	if (!err)
		err = conf_text(&j, &conf);
	if (!err)
		err = write_file(&j, F_CONF, conf.p, conf.len, 0644);
	if (!err)
		err = fill_info(&j, info);
	for (size_t i = 0; err && i < F_N; i++)
		if (j.is_made[i])
			(void)unlink(j.path[i]);
	if (err && j.is_dir_made)
		(void)rmdir(o->dir);
	for (size_t i = 0; i < F_N; i++)
		mem_free(j.path[i]);
	EVP_PKEY_free(j.ca_key);
	EVP_PKEY_free(j.key);
	X509_free(j.ca);
	X509_free(j.cert);
	buf_fini(&j.ca_pem);
	buf_fini(&conf);
	return err;
}

SIPCERT_API void sipcert_domain_info_fini(struct sipcert_domain_info *info)
{
	if (!info)
		return;
	mem_free(info->domain);
	mem_free(info->host);
	mem_free(info->dir);
	mem_free(info->config);
	mem_free(info->store);
	mem_free(info->cert);
	mem_free(info->key);
	mem_free(info->ca_cert);
	mem_free(info->ca_key);
	mem_free(info->kek);
	mem_free(info->trust_anchors);
	memset(info, 0, sizeof(*info));
}

SIPCERT_API int sipcert_domain_info_json(const struct sipcert_domain_info *info,
					 char **json)
{
	const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER;
	json_t *o;
	char *text = NULL;
	size_t n;
	int fails = 0;

	if (!info || !json || !info->domain || !info->config || !info->store ||
	    !info->trust_anchors)
		return -EINVAL;
	o = json_object();
	if (!o)
		return -ENOMEM;
	fails |= json_object_set_new(o, "domain", json_string(info->domain));
	fails |= json_object_set_new(o, "config", json_string(info->config));
	fails |= json_object_set_new(o, "store", json_string(info->store));
	fails |= json_object_set_new(o, "trust_anchors",
				     json_string(info->trust_anchors));
	fails |= json_object_set_new(o, "sip_port",
				     json_integer(info->sip_port));
	fails |= json_object_set_new(o, "tls_port",
				     json_integer(info->tls_port));
	fails |= json_object_set_new(o, "https_port",
				     json_integer(info->https_port));
	/* dumped straight into our allocator's memory */
	n = fails ? 0 : json_dumpb(o, NULL, 0, flags);
	if (n)
		text = mem_alloc(n + 2);
	if (text) {
		json_dumpb(o, text, n, flags);
		text[n] = '\n';
		text[n + 1] = '\0';
	}
	json_decref(o);
	if (!text)
		return -ENOMEM;
	*json = text;
	return 0;
}
