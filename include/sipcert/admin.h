/* SPDX-License-Identifier: BSD-3-Clause */
/* Administration of a SIP domain served by sipcertd: creating a domain's
 * files (configuration, RFC 5922 domain certificate, key-encryption key,
 * store). */
#ifndef SIPCERT_ADMIN_H
#define SIPCERT_ADMIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What sipcert_domain_create() makes. Zero-initialise, then set. */
struct sipcert_domain_opts {
	/** The SIP domain, a host name such as "example.com" (required). */
	const char *domain;
	/** The directory to fill (required). Created with mode 0700 when
	 * missing; its parent must exist. */
	const char *dir;
	/** The server's host name, put in the certificate as DNS:host beside
	 * URI:sip:domain (RFC 5922 §4). NULL: the domain itself. "localhost"
	 * is always added too; IP addresses are refused (RFC 5922 §7.2). */
	const char *host;
	unsigned sip_port;   /**< UDP and TCP; 0: 5060 */
	unsigned tls_port;   /**< SIP over TLS; 0: 5061 */
	unsigned https_port; /**< HTTPS; 0: 8443 */
	/** Nonzero: replace a domain already in dir, its store (users,
	 * credentials) and key-encryption key included. */
	int force;
	/** Optional: on failure, receives a NUL-terminated explanation for
	 * people (truncated to errbuf_len). Untouched on success. */
	char *errbuf;
	size_t errbuf_len;
};

/** What sipcert_domain_create() made. Every string is NUL-terminated and
 * owned by the struct; release them with sipcert_domain_info_fini(). */
struct sipcert_domain_info {
	char *domain;
	char *host;
	char *dir;     /**< absolute */
	char *config;  /**< dir/sipcertd.conf, for sipcertd -c */
	char *store;   /**< dir/sipcertd.db, the SQLite store */
	char *cert;    /**< dir/domain.pem, the domain certificate */
	char *key;     /**< dir/domain.key, its private key (0600) */
	char *ca_cert; /**< dir/ca.pem, the demo CA certificate */
	char *ca_key;  /**< dir/ca.key, its private key (0600) */
	char *kek;     /**< dir/kek, the key-encryption key (0600) */
	/** The PEM text clients need to trust the domain (the CA
	 * certificate in ca.pem). */
	char *trust_anchors;
	unsigned sip_port;
	unsigned tls_port;
	unsigned https_port;
};

/**
 * Create a ready-to-run domain in o->dir:
 *  - ca.pem and ca.key: a demo CA (cA TRUE, RSA-2048, ten years);
 *  - domain.pem and domain.key: the domain certificate it issues (RSA-2048,
 *    825 days, subjectAltName URI:sip:DOMAIN, DNS:HOST and DNS:localhost,
 *    extended key usage serverAuth and clientAuth, RFC 5922 §4);
 *  - kek: the key-encryption key for private keys kept in the store;
 *  - sipcertd.db: an empty SQLite store;
 *  - sipcertd.conf: a complete, commented configuration naming them with
 *    paths relative to itself, listening on 127.0.0.1 (written last).
 * Files are written atomically; private keys and the KEK with mode 0600.
 * On failure the files this call created are removed again.
 *
 * @param o     the options; o->domain and o->dir are required
 * @param info  receives what was made (only on success); the caller
 *              releases it with sipcert_domain_info_fini()
 * @return 0, or
 *   -EINVAL  a missing or malformed option (not a host name, a port above
 *            65535, two services on one TCP port)
 *   -EEXIST  dir already holds a domain file and o->force is 0
 *   -ENAMETOOLONG  dir is too long for the control socket path
 *   -ENOENT, -EACCES, -EIO ...  the file system refused (see errbuf)
 *   -EPROTO  OpenSSL failed
 *   -ENOMEM
 */
int sipcert_domain_create(const struct sipcert_domain_opts *o,
			  struct sipcert_domain_info *info);

/** Free the strings of info and zero it. NULL, a zeroed struct and a
 * second call are harmless. */
void sipcert_domain_info_fini(struct sipcert_domain_info *info);

/**
 * Render info as a JSON object with exactly the members "domain",
 * "config", "store", "trust_anchors" (the PEM text), "sip_port",
 * "tls_port" and "https_port", followed by a newline.
 * @param json  receives the text; free it with sipcert_free()
 * @return 0, -EINVAL, -ENOMEM
 */
int sipcert_domain_info_json(const struct sipcert_domain_info *info,
			     char **json);

#ifdef __cplusplus
}
#endif
#endif
