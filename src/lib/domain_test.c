/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of sipcert_domain_create(): the files and their modes, the RFC
 * 5922 §4 names in the domain certificate, the chain to ca.pem, refusal
 * to replace a domain, cleanup after failure, and the JSON rendering. */
#include "test.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sipcert/admin.h>

#include "crypto/crypto.h"
#include "store/store.h"

enum { TPATH = 512 };

/* snprintf that cuts silently: test paths are short, and a cut one just
 * fails the test's checks. */
PRINTF_LIKE(3, 4)
static void fmt(char *out, size_t size, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	(void)vsnprintf(out, size, f, ap);
	va_end(ap);
}

static int scratch(char dir[TPATH])
{
	const char *base = getenv("TMPDIR");

	fmt(dir, TPATH, "%s/sipcert-domain-XXXXXX",
	    base && *base ? base : "/tmp");
	return mkdtemp(dir) ? 0 : -errno;
}

static const char *in(char out[TPATH], const char *dir, const char *name)
{
	fmt(out, TPATH, "%s/%s", dir, name);
	return out;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[TPATH];
	struct stat st;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		in(p, dir, e->d_name);
		if (!lstat(p, &st) && S_ISDIR(st.st_mode))
			remove_tree(p);
		else
			(void)unlink(p);
	}
	closedir(d);
	(void)rmdir(dir);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static int mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (int)(st.st_mode & 07777);
}

static int load_cert(const char *path, X509 **out)
{
	struct buf b;
	int err;

	buf_init(&b, 64 * 1024);
	err = crypto_file_read(path, 64 * 1024, &b);
	if (!err)
		err = crypto_cert_from_pem(out, b.p, b.len);
	buf_fini(&b);
	return err;
}

static int fingerprint(const char *path, char hex[65])
{
	X509 *c = NULL;
	int err = load_cert(path, &c);

	if (!err)
		err = crypto_cert_fingerprint(c, NULL, hex, 65);
	X509_free(c);
	return err;
}

/* X509_verify_cert() of cert against ca as the only trust anchor, for a
 * TLS server and a TLS client (extended key usage). */
static int verify_chain(X509 *ca, X509 *cert)
{
	static const int purposes[] = {X509_PURPOSE_SSL_SERVER,
				       X509_PURPOSE_SSL_CLIENT};
	int err = 0;

	for (size_t i = 0; !err && i < ARRAY_SIZE(purposes); i++) {
		X509_STORE *st = X509_STORE_new();
		X509_STORE_CTX *ctx = X509_STORE_CTX_new();

		if (!st || !ctx || !X509_STORE_add_cert(st, ca) ||
		    !X509_STORE_CTX_init(ctx, st, cert, NULL) ||
		    !X509_STORE_CTX_set_purpose(ctx, purposes[i]))
			err = -ENOMEM;
		else if (X509_verify_cert(ctx) != 1)
			err = -EBADMSG;
		X509_STORE_CTX_free(ctx);
		X509_STORE_free(st);
	}
	return err;
}

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			TEST_FAIL_AT("assertion failed: %s", #cond);           \
			goto out;                                              \
		}                                                              \
	} while (0)

TEST(domain_create_files_and_modes)
{
	static const struct {
		const char *name;
		int mode;
	} files[] = {
		{"ca.key", 0600},	 {"ca.pem", 0644},
		{"domain.key", 0600},	 {"domain.pem", 0644},
		{"kek", 0600},		 {"sipcertd.db", 0600},
		{"sipcertd.conf", 0644},
	};
	struct sipcert_domain_info info = {0};
	char top[TPATH], dir[TPATH], p[TPATH];
	struct store *st = NULL;
	struct store_user **users = NULL;
	struct crypto_kek kek;
	struct buf url;
	const char *u;
	size_t n_users = 1;
	int rc = -1;

	buf_init(&url, 2 * TPATH);
	CHECK(!scratch(top));
	in(dir, top, "new"); /* created by the call */
	CHECK(sipcert_domain_create(
		      &(struct sipcert_domain_opts){.domain = "example.com",
						    .dir = dir},
		      &info) == 0);
	CHECK(mode_of(dir) == 0700);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (mode_of(in(p, dir, files[i].name)) != files[i].mode) {
			TEST_FAIL_AT("%s has mode %o, expected %o", p,
				     mode_of(p), files[i].mode);
			goto out;
		}
	}
	CHECK(count_entries(dir) == (int)ARRAY_SIZE(files));
	TEST_EQ_STR(info.domain, "example.com");
	TEST_EQ_STR(info.host, "example.com");
	TEST_EQ_STR(info.dir, dir);
	TEST_EQ_STR(info.config, in(p, dir, "sipcertd.conf"));
	TEST_EQ_STR(info.store, in(p, dir, "sipcertd.db"));
	TEST_EQ_STR(info.cert, in(p, dir, "domain.pem"));
	TEST_EQ_STR(info.key, in(p, dir, "domain.key"));
	TEST_EQ_STR(info.ca_cert, in(p, dir, "ca.pem"));
	TEST_EQ_STR(info.ca_key, in(p, dir, "ca.key"));
	TEST_EQ_STR(info.kek, in(p, dir, "kek"));
	CHECK(info.sip_port == 5060 && info.tls_port == 5061 &&
	      info.https_port == 8443);
	CHECK(!strncmp(info.trust_anchors, "-----BEGIN CERTIFICATE-----", 27));
	/* the KEK loads (crypto_kek_load() checks size and mode) */
	CHECK(crypto_kek_load(info.kek, &kek) == 0);
	crypto_kek_wipe(&kek);
	/* the store opens, and is empty */
	buf_printf(&url, "sqlite:%s", info.store);
	CHECK(!buf_cstr(&url, &u));
	CHECK(store_open(&st, u) == 0);
	CHECK(store_user_list(st, &users, &n_users) == 0);
	CHECK(n_users == 0);
	rc = 0;
out:
	store_list_free(users, n_users);
	store_close(st);
	sipcert_domain_info_fini(&info);
	sipcert_domain_info_fini(&info); /* twice is harmless */
	remove_tree(top);
	buf_fini(&url);
	return rc;
}

TEST(domain_create_certificate_names_and_chain)
{
	struct sipcert_domain_info info = {0};
	struct crypto_san_list sans = {0}, ca_sans = {0};
	char dir[TPATH];
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *key = NULL;
	struct buf kb;
	bool is_ca, has_bc;
	time_t nb, na, now = time(NULL);
	int rc = -1;

	buf_init(&kb, CRYPTO_KEY_FILE_MAX_BYTES);
	kb.is_secret = true;
	CHECK(!scratch(dir));
	CHECK(sipcert_domain_create(
		      &(struct sipcert_domain_opts){
			      .domain = "example.com",
			      .host = "sip1.example.net",
			      .dir = dir,
			      .sip_port = 15060,
			      .tls_port = 15061,
			      .https_port = 18443,
		      },
		      &info) == 0);
	TEST_EQ_STR(info.host, "sip1.example.net");
	CHECK(info.sip_port == 15060 && info.tls_port == 15061 &&
	      info.https_port == 18443);
	CHECK(!load_cert(info.cert, &cert) && !load_cert(info.ca_cert, &ca));
	/* RFC 5922 §4: URI:sip:DOMAIN and DNS:HOST (and localhost) */
	CHECK(crypto_cert_sans(cert, &sans) == 0);
	CHECK(sans.n_uris == 1 && sans.n_dns == 2);
	TEST_EQ_STR(sans.uris[0], "sip:example.com");
	TEST_EQ_STR(sans.dns[0], "sip1.example.net");
	TEST_EQ_STR(sans.dns[1], "localhost");
	CHECK(crypto_cert_matches_sip_domain(cert, "example.com") == 0);
	CHECK(crypto_cert_matches_sip_domain(cert, "example.net") == -ENOENT);
	CHECK(crypto_cert_matches_dns(cert, "sip1.example.net") == 0);
	CHECK(crypto_cert_matches_dns(cert, "localhost") == 0);
	CHECK(crypto_cert_matches_dns(cert, "example.com") == -ENOENT);
	/* a leaf, valid now, for 825 days */
	CHECK(crypto_cert_is_ca(cert, &is_ca, &has_bc) == 0);
	CHECK(!is_ca && has_bc);
	CHECK(crypto_cert_times(cert, &nb, &na) == 0);
	CHECK(nb <= now && nb >= now - 3600);
	CHECK(na - nb >= 824 * 86400 && na - nb <= 826 * 86400);
	/* the CA: cA TRUE, ten years, names nothing */
	CHECK(crypto_cert_is_ca(ca, &is_ca, &has_bc) == 0 && is_ca);
	CHECK(crypto_cert_times(ca, &nb, &na) == 0);
	CHECK(na - nb >= 3649 * 86400);
	CHECK(crypto_cert_sans(ca, &ca_sans) == 0);
	CHECK(ca_sans.n_uris == 0 && ca_sans.n_dns == 0);
	/* the chain, as a TLS server and as a TLS client */
	CHECK(verify_chain(ca, cert) == 0);
	CHECK(verify_chain(cert, ca) == -EBADMSG); /* not the other way */
	/* the key belongs to the certificate */
	CHECK(crypto_key_private_load(&key, CRYPTO_PEM, info.key) == 0);
	CHECK(X509_check_private_key(cert, key) == 1);
	CHECK(EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) == 2048);
	rc = 0;
out:
	crypto_san_list_free(&sans);
	crypto_san_list_free(&ca_sans);
	EVP_PKEY_free(key);
	X509_free(ca);
	X509_free(cert);
	sipcert_domain_info_fini(&info);
	remove_tree(dir);
	buf_fini(&kb);
	return rc;
}

TEST(domain_create_host_localhost_is_named_once)
{
	struct sipcert_domain_info info = {0};
	struct crypto_san_list sans = {0};
	char dir[TPATH];
	X509 *cert = NULL;
	int rc = -1;

	CHECK(!scratch(dir));
	CHECK(sipcert_domain_create(
		      &(struct sipcert_domain_opts){.domain = "example.test",
						    .host = "LOCALHOST",
						    .dir = dir},
		      &info) == 0);
	CHECK(!load_cert(info.cert, &cert));
	CHECK(crypto_cert_sans(cert, &sans) == 0);
	CHECK(sans.n_uris == 1 && sans.n_dns == 1);
	TEST_EQ_STR(sans.dns[0], "LOCALHOST");
	rc = 0;
out:
	crypto_san_list_free(&sans);
	X509_free(cert);
	sipcert_domain_info_fini(&info);
	remove_tree(dir);
	return rc;
}

TEST(domain_create_refuses_to_replace)
{
	struct sipcert_domain_info info = {0}, again = {0}, poison;
	char dir[TPATH], p[TPATH], why[256] = "", fp1[65], fp2[65], fp3[65];
	struct sipcert_domain_opts o = {
		.domain = "example.com",
		.errbuf = why,
		.errbuf_len = sizeof(why),
	};
	int rc = -1;

	memset(&poison, 0x5a, sizeof(poison));
	CHECK(!scratch(dir));
	o.dir = dir;
	CHECK(sipcert_domain_create(&o, &info) == 0);
	CHECK(!why[0]); /* untouched on success */
	CHECK(!fingerprint(info.cert, fp1));
	again = poison;
	CHECK(sipcert_domain_create(&o, &again) == -EEXIST);
	CHECK(strstr(why, "already holds a domain"));
	CHECK(strstr(why, "/ca.key exists"));
	CHECK(!memcmp(&again, &poison, sizeof(again))); /* untouched */
	CHECK(!fingerprint(info.cert, fp2) && !strcmp(fp1, fp2));
	/* one file of a domain is enough to refuse */
	CHECK(!unlink(info.ca_key) && !unlink(info.cert) && !unlink(info.key) &&
	      !unlink(info.ca_cert) && !unlink(info.kek) &&
	      !unlink(info.store));
	CHECK(sipcert_domain_create(&o, &again) == -EEXIST);
	CHECK(strstr(why, "/sipcertd.conf exists"));
	CHECK(count_entries(dir) == 1);
	/* emptied, the directory takes a new domain */
	CHECK(!unlink(info.config));
	CHECK(sipcert_domain_create(&o, &again) == 0);
	sipcert_domain_info_fini(&again);
	CHECK(!fingerprint(info.cert, fp2));
	/* force replaces one, the store, its leftovers and the KEK too */
	CHECK(!symlink("/nonexistent", in(p, dir, "sipcertd.db-wal")));
	o.force = 1;
	CHECK(sipcert_domain_create(&o, &again) == 0);
	CHECK(!fingerprint(info.cert, fp3) && strcmp(fp2, fp3));
	CHECK(count_entries(dir) == 7);
	rc = 0;
out:
	sipcert_domain_info_fini(&info);
	if (memcmp(&again, &poison, sizeof(again)))
		sipcert_domain_info_fini(&again);
	remove_tree(dir);
	return rc;
}

TEST(domain_create_cleans_up_after_failure)
{
	struct sipcert_domain_info info = {0};
	char dir[TPATH], p[TPATH], why[256] = "";
	struct sipcert_domain_opts o = {
		.domain = "example.com",
		.force = 1,
		.errbuf = why,
		.errbuf_len = sizeof(why),
	};
	int rc = -1, err;

	CHECK(!scratch(dir));
	o.dir = dir;
	/* sipcertd.conf, written last, cannot replace a directory */
	CHECK(!mkdir(in(p, dir, "sipcertd.conf"), 0700));
	err = sipcert_domain_create(&o, &info);
	CHECK(err == -EISDIR);
	CHECK(strstr(why, "sipcertd.conf"));
	CHECK(count_entries(dir) == 1);
	/* the store and the KEK cannot be removed when they are
	 * directories: nothing is written */
	CHECK(!rmdir(p) && !mkdir(in(p, dir, "kek"), 0700));
	CHECK(!mkdir(in(p, dir, "kek/x"), 0700));
	CHECK(sipcert_domain_create(&o, &info) == -EISDIR);
	CHECK(strstr(why, "cannot remove"));
	CHECK(count_entries(dir) == 1);
	rc = 0;
out:
	sipcert_domain_info_fini(&info);
	remove_tree(dir);
	return rc;
}

TEST(domain_create_rejects_bad_options)
{
	static const struct {
		struct sipcert_domain_opts o;
		const char *why;
	} bad[] = {
		{{.dir = "DIR"}, "'' is not a domain name"},
		{{.domain = "192.0.2.1", .dir = "DIR"},
		 "'192.0.2.1' is not a domain name"},
		{{.domain = "a..b", .dir = "DIR"}, "'a..b' is not a domain"},
		{{.domain = "-a.b", .dir = "DIR"}, "'-a.b' is not a domain"},
		{{.domain = "a_b.c", .dir = "DIR"}, "'a_b.c' is not a domain"},
		{{.domain = "a.b", .host = "127.0.0.1", .dir = "DIR"},
		 "'127.0.0.1' is not a host name"},
		{{.domain = "a.b", .host = "*.b", .dir = "DIR"},
		 "'*.b' is not a host name"},
		{{.domain = "a.b"}, "no directory given"},
		{{.domain = "a.b", .dir = ""}, "no directory given"},
		{{.domain = "a.b", .dir = "DIR", .tls_port = 65536},
		 "a port is out of range"},
		{{.domain = "a.b", .dir = "DIR", .sip_port = 5061},
		 "the SIP, TLS and HTTPS ports must differ (5061, 5061, "
		 "8443)"},
		{{.domain = "a.b", .dir = "DIR", .https_port = 5060},
		 "must differ"},
		{{.domain = "a.b", .dir = "DIR/no/such"}, "cannot create"},
		{{.domain = "a.b", .dir = "DIR/file"}, "is not a directory"},
	};
	char dir[TPATH], p[TPATH], why[256];
	int rc = -1;

	CHECK(!scratch(dir));
	CHECK(sipcert_domain_create(NULL, NULL) == -EINVAL);
	{
		FILE *f = fopen(in(p, dir, "file"), "w");

		CHECK(f);
		fclose(f);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct sipcert_domain_opts o = bad[i].o;
		struct sipcert_domain_info info = {0};
		char d[TPATH];
		int err;

		if (o.dir && !strncmp(o.dir, "DIR", 3)) {
			fmt(d, sizeof(d), "%s%s", dir, o.dir + 3);
			o.dir = d;
		}
		why[0] = '\0';
		o.errbuf = why;
		o.errbuf_len = sizeof(why);
		err = sipcert_domain_create(&o, &info);
		if (!err || !strstr(why, bad[i].why)) {
			TEST_FAIL_AT("case %zu: %d \"%s\", expected \"%s\"", i,
				     err, why, bad[i].why);
			sipcert_domain_info_fini(&info);
			goto out;
		}
		CHECK(sipcert_domain_create(&o, NULL) == -EINVAL);
	}
	CHECK(count_entries(dir) == 1); /* only "file" */
	/* a directory too long for the control socket path */
	{
		char longdir[TPATH];
		struct sipcert_domain_info info;

		fmt(longdir, sizeof(longdir), "%s/%0100d", dir, 0);
		why[0] = '\0';
		CHECK(sipcert_domain_create(
			      &(struct sipcert_domain_opts){
				      .domain = "a.b",
				      .dir = longdir,
				      .errbuf = why,
				      .errbuf_len = sizeof(why)},
			      &info) == -ENAMETOOLONG);
		CHECK(strstr(why, "control socket path"));
		CHECK(count_entries(dir) == 1); /* the directory went again */
	}
	/* no errbuf, a short one: both fine */
	{
		struct sipcert_domain_info info;
		char tiny[4] = "xxx";

		CHECK(sipcert_domain_create(
			      &(struct sipcert_domain_opts){.domain = "a.b"},
			      &info) == -EINVAL);
		CHECK(sipcert_domain_create(
			      &(struct sipcert_domain_opts){
				      .domain = "a.b",
				      .errbuf = tiny,
				      .errbuf_len = sizeof(tiny)},
			      &info) == -EINVAL);
		TEST_EQ_STR(tiny, "no ");
	}
	rc = 0;
out:
	remove_tree(dir);
	return rc;
}

TEST(domain_info_json_has_exactly_the_contract_keys)
{
	static const char *const keys[] = {
		"domain",   "config",	"store",     "trust_anchors",
		"sip_port", "tls_port", "https_port"};
	struct sipcert_domain_info info = {0};
	char dir[TPATH], *text = NULL, *pem = NULL;
	size_t pem_len, i = 0;
	json_t *j = NULL;
	const char *k;
	json_t *v;
	int rc = -1;

	CHECK(!scratch(dir));
	CHECK(sipcert_domain_create(
		      &(struct sipcert_domain_opts){.domain = "example.org",
						    .dir = dir,
						    .sip_port = 5070},
		      &info) == 0);
	CHECK(sipcert_domain_info_json(&info, &text) == 0);
	CHECK(text[strlen(text) - 1] == '\n');
	j = json_loads(text, 0, NULL);
	CHECK(j && json_is_object(j));
	CHECK(json_object_size(j) == ARRAY_SIZE(keys));
	json_object_foreach(j, k, v)
	{
		CHECK(i < ARRAY_SIZE(keys));
		TEST_EQ_STR(k, keys[i]);
		i++;
	}
	TEST_EQ_STR(json_string_value(json_object_get(j, "domain")),
		    "example.org");
	TEST_EQ_STR(json_string_value(json_object_get(j, "config")),
		    info.config);
	TEST_EQ_STR(json_string_value(json_object_get(j, "store")), info.store);
	CHECK(json_integer_value(json_object_get(j, "sip_port")) == 5070);
	CHECK(json_integer_value(json_object_get(j, "tls_port")) == 5061);
	CHECK(json_integer_value(json_object_get(j, "https_port")) == 8443);
	/* trust_anchors is the PEM of ca.pem, byte for byte */
	{
		struct buf b;

		buf_init(&b, 64 * 1024);
		CHECK(!crypto_file_read(info.ca_cert, 64 * 1024, &b));
		pem = buf_steal(&b, &pem_len);
		buf_fini(&b);
	}
	CHECK(pem);
	TEST_EQ_STR(json_string_value(json_object_get(j, "trust_anchors")),
		    pem);
	CHECK(sipcert_domain_info_json(NULL, &text) == -EINVAL);
	CHECK(sipcert_domain_info_json(&info, NULL) == -EINVAL);
	rc = 0;
out:
	json_decref(j);
	mem_free(text);
	mem_free(pem);
	sipcert_domain_info_fini(&info);
	remove_tree(dir);
	return rc;
}
