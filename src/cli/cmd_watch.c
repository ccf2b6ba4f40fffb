/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert watch: stay subscribed to the certificates of some AORs (RFC
 * 6072 §6, each NOTIFY verified by §10.3) and print each update,
 * revocation (§6.6) and refusal as it arrives, until SIGINT or SIGTERM. */
#include "cli.h"

#include <string.h>

enum { OPT_EXPIRES = CLI_OPT_OWN };

struct watch_args {
	unsigned expires;
};

static const struct option watch_opts[] = {
	{"expires", required_argument, NULL, OPT_EXPIRES},
	{0},
};

static int watch_opt(struct ua_cli *c, int val, const char *arg)
{
	struct watch_args *a = c->arg;
	uint32_t v;

	(void)val;
	if (cli_u32_parse(arg, INT32_MAX, &v))
		return cli_usage_error(c, "--expires %s: expected seconds",
				       arg);
	a->expires = v;
	return CLI_GO_ON;
}

static const struct ua_cmd watch_cmd = {
	.name = "watch",
	.synopsis = "AOR... [--expires N] [common options]",
	.help = "  --expires N               of the subscriptions, in seconds "
		"(default 3600)\n",
	.opts = watch_opts,
	.on_opt = watch_opt,
	.min_args = 1,
	.max_args = -1,
	.password = CLI_SECRET_UNUSED,
	.passphrase = CLI_SECRET_UNUSED,
};

static const char *const watch_event_names[] = {
	[SIPCERT_WATCH_UPDATE] = "update",
	[SIPCERT_WATCH_REVOKED] = "revoked",
	[SIPCERT_WATCH_REFUSED] = "refused",
	[SIPCERT_WATCH_ENDED] = "ended",
};

static void watch_json(const struct sipcert_watch_event *ev)
{
	json_t *j = json_object();

	json_object_set_new(j, "event",
			    cli_json_str(watch_event_names[ev->kind]));
	json_object_set_new(j, "aor", cli_json_str(ev->aor));
	if (ev->cert)
		cli_cert_json(j, ev->cert);
	if (ev->error) {
		json_object_set_new(j, "error", cli_json_str(ev->error->code));
		json_object_set_new(j, "message",
				    cli_json_str(ev->error->message));
	}
	cli_json_print(j);
}

static void watch_people(const struct sipcert_watch_event *ev)
{
	const struct sipcert_cert *cert = ev->cert;
	char na[64];

	cli_print_safe(stdout, ev->aor);
	switch (ev->kind) {
	case SIPCERT_WATCH_UPDATE:
		if (!cert) {
			printf(": updated\n");
			break;
		}
		cli_time_people(na, sizeof(na), cert->not_after);
		printf(": certificate %s, valid until %s, signed by ",
		       cert->sha256, na);
		cli_print_safe(stdout, cert->identity_domain);
		fputs(" (", stdout);
		cli_print_safe(stdout, cert->alg);
		printf(")%s%s\n",
		       cert->externally_validated ? ", externally validated"
						  : "",
		       cert->from_cache ? ", from cache" : "");
		break;
	case SIPCERT_WATCH_REVOKED:
		printf(": revoked, no certificate\n");
		break;
	case SIPCERT_WATCH_REFUSED:
	case SIPCERT_WATCH_ENDED:
		printf(": %s", ev->kind == SIPCERT_WATCH_REFUSED
				       ? "refused"
				       : "subscription ended");
		if (ev->error) {
			fputs(": ", stdout);
			cli_print_safe(stdout, ev->error->message);
			printf(" (%s)", ev->error->code);
		}
		putchar('\n');
		break;
	}
}

static void on_watch_event(void *arg, const struct sipcert_watch_event *ev)
{
	const struct ua_cli *c = arg;

	if ((size_t)ev->kind >= ARRAY_SIZE(watch_event_names))
		return;
	if (ev->cert)
		cli_cert_warn_changed(ev->cert);
	if (c->json)
		watch_json(ev);
	else
		watch_people(ev);
	fflush(stdout);
}

int cmd_watch(int argc, char **argv)
{
	struct watch_args a = {0};
	struct sipcert_error e = {0};
	char **aors = NULL;
	struct ua_cli c;
	int rc, err, n = 0;

	rc = ua_cli_parse(&c, &watch_cmd, &a, argc, argv);
	if (rc != CLI_GO_ON)
		goto out;
	aors = mem_zalloc((size_t)c.n_args * sizeof(*aors));
	if (!aors) {
		rc = cli_fail(&c, CLI_USAGE, "internal", "out of memory");
		goto out;
	}
	for (n = 0; n < c.n_args; n++) {
		char aor[320];

		if (cli_aor_norm(c.args[n], aor, sizeof(aor))) {
			rc = cli_usage_error(&c,
					     "%s is not an AOR "
					     "(sip:user@domain)",
					     c.args[n]);
			goto out;
		}
		aors[n] = mem_strdup(aor);
		if (!aors[n]) {
			rc = cli_fail(&c, CLI_USAGE, "internal",
				      "out of memory");
			goto out;
		}
	}
	rc = ua_cli_open(&c);
	if (rc != CLI_GO_ON)
		goto out;

	cli_stop_on_signals(c.ua);
	err = sipcert_watch(c.ua, (const char *const *)aors, (size_t)n,
			    a.expires, on_watch_event, &c, &e);
	cli_stop_signals_restore();
	rc = err ? cli_refused(&c, err, &e) : CLI_OK;
out:
	for (int i = 0; aors && i < n; i++)
		mem_free(aors[i]);
	mem_free(aors);
	ua_cli_close(&c);
	return rc;
}
