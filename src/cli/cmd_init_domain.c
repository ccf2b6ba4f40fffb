/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert init-domain: a ready-to-run domain for sipcertd in a directory
 * (configuration, demo CA, RFC 5922 domain certificate, key-encryption
 * key, empty store), through sipcert_domain_create(). */
#include "cli.h"

#include <string.h>

static void init_domain_usage(FILE *f)
{
	fprintf(f, "usage: sipcert init-domain --domain DOMAIN --dir DIR "
		   "[--host HOST]\n"
		   "         [--sip-port N] [--tls-port N] [--https-port N] "
		   "[--force] [--json]\n");
}

/* A port: 1..65535, decimal, nothing else. */
static int parse_port(const char *s, unsigned *out)
{
	uint32_t v;

	if (slice_u32(slice_cstr(s), 65535, &v) || v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static void print_human(const struct sipcert_domain_info *info)
{
	printf("created the SIP domain %s in %s\n", info->domain, info->dir);
	printf("  config         %s\n", info->config);
	printf("  certificate    %s (URI:sip:%s, DNS:%s%s)\n", info->cert,
	       info->domain, info->host,
	       strcmp(info->host, "localhost") ? ", DNS:localhost" : "");
	printf("  key            %s\n", info->key);
	printf("  trust anchors  %s (demo CA; its key is %s)\n", info->ca_cert,
	       info->ca_key);
	printf("  kek            %s\n", info->kek);
	printf("  store          %s\n", info->store);
	printf("  listening on   udp and tcp 127.0.0.1:%u, tls 127.0.0.1:%u, "
	       "https 127.0.0.1:%u\n",
	       info->sip_port, info->tls_port, info->https_port);
	printf("start it with:   sipcertd -c %s\n", info->config);
}

int cmd_init_domain(int argc, char **argv)
{
	struct sipcert_domain_opts o = {0};
	struct sipcert_domain_info info;
	char why[512] = "";
	bool json = false;
	int err;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned *port = NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			init_domain_usage(stdout);
			return CLI_OK;
		}
		if (!strcmp(a, "--json")) {
			json = true;
			continue;
		}
		if (!strcmp(a, "--force")) {
			o.force = 1;
			continue;
		}
		if (!strcmp(a, "--sip-port"))
			port = &o.sip_port;
		else if (!strcmp(a, "--tls-port"))
			port = &o.tls_port;
		else if (!strcmp(a, "--https-port"))
			port = &o.https_port;
		else if (strcmp(a, "--domain") && strcmp(a, "--dir") &&
			 strcmp(a, "--host")) {
			fprintf(stderr,
				"sipcert init-domain: unknown option %s\n", a);
			init_domain_usage(stderr);
			return CLI_USAGE;
		}
		if (!v) {
			fprintf(stderr,
				"sipcert init-domain: %s needs a value\n", a);
			return CLI_USAGE;
		}
		i++;
		if (port) {
			if (parse_port(v, port)) {
				fprintf(stderr,
					"sipcert init-domain: %s: "
					"'%s' is not a port (1-65535)\n",
					a, v);
				return CLI_USAGE;
			}
		} else if (!strcmp(a, "--domain")) {
			o.domain = v;
		} else if (!strcmp(a, "--dir")) {
			o.dir = v;
		} else {
			o.host = v;
		}
	}
	if (!o.domain || !o.dir) {
		fprintf(stderr, "sipcert init-domain: --domain and --dir are "
				"required\n");
		init_domain_usage(stderr);
		return CLI_USAGE;
	}
	o.errbuf = why;
	o.errbuf_len = sizeof(why);
	err = sipcert_domain_create(&o, &info);
	if (err) {
		fprintf(stderr, "sipcert init-domain: %s%s\n",
			*why ? why : sipcert_strerror(err),
			err == -EEXIST ? " (--force replaces it)" : "");
		/* refusing to replace a domain is a "no", not a failure */
		return err == -EEXIST ? CLI_NO : CLI_USAGE;
	}
	if (json) {
		char *text = NULL;

		err = sipcert_domain_info_json(&info, &text);
		if (!err)
			fputs(text, stdout);
		sipcert_free(text);
	} else {
		print_human(&info);
	}
	sipcert_domain_info_fini(&info);
	if (err) {
		fprintf(stderr, "sipcert init-domain: %s\n",
			sipcert_strerror(err));
		return CLI_USAGE;
	}
	return CLI_OK;
}
