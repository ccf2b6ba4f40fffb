/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert agent: keep our credential fresh by RFC 6072 §5 (subscribe to
 * it, publish one when none is, renew before notAfter after a random
 * wait) and print what it does, until SIGINT or SIGTERM. */
#include "cli.h"

#include <string.h>

enum {
	OPT_KEY_TYPE = CLI_OPT_OWN,
	OPT_RENEW_BEFORE,
	OPT_MAX_WAIT,
	OPT_EXPIRES,
};

static const struct option agent_opts[] = {
	{"key-type", required_argument, NULL, OPT_KEY_TYPE},
	{"renew-before", required_argument, NULL, OPT_RENEW_BEFORE},
	{"max-wait", required_argument, NULL, OPT_MAX_WAIT},
	{"expires", required_argument, NULL, OPT_EXPIRES},
	{0},
};

static int agent_opt(struct ua_cli *c, int val, const char *arg)
{
	struct sipcert_agent_opts *o = c->arg;
	const char *name = val == OPT_RENEW_BEFORE ? "--renew-before"
			   : val == OPT_MAX_WAIT   ? "--max-wait"
						   : "--expires";
	uint32_t v;

	if (val == OPT_KEY_TYPE) {
		if (cli_key_type_parse(arg, &o->key_type))
			return cli_usage_error(c,
					       "--key-type %s: expected "
					       "rsa2048, rsa3072 or ec-p256",
					       arg);
		return CLI_GO_ON;
	}
	if (cli_u32_parse(arg, INT32_MAX, &v))
		return cli_usage_error(c, "%s %s: expected seconds", name, arg);
	if (val == OPT_RENEW_BEFORE)
		o->renew_before_s = v;
	else if (val == OPT_MAX_WAIT)
		o->max_wait_s = v;
	else
		o->expires = v;
	return CLI_GO_ON;
}

static const struct ua_cmd agent_cmd = {
	.name = "agent",
	.synopsis = "AOR [--key-type rsa2048|rsa3072|ec-p256] "
		    "[--renew-before S]\n"
		    "         [--max-wait S] [--expires N] [common options]",
	.help = "  --key-type TYPE           of new credentials: rsa2048 "
		"(default), rsa3072, ec-p256\n"
		"  --renew-before S          renew when notAfter is this close "
		"(default 600)\n"
		"  --max-wait S              after a random wait up to this "
		"(default 300)\n"
		"  --expires N               of the subscription, in seconds "
		"(default 3600)\n",
	.opts = agent_opts,
	.on_opt = agent_opt,
	.min_args = 1,
	.max_args = 1,
	.our_aor = true,
	.password = CLI_SECRET_REQUIRED,
	.passphrase = CLI_SECRET_REQUIRED,
};

static const char *const agent_event_names[] = {
	[SIPCERT_AGENT_SUBSCRIBED] = "subscribed",
	[SIPCERT_AGENT_CREDENTIAL] = "credential",
	[SIPCERT_AGENT_EMPTY] = "empty",
	[SIPCERT_AGENT_RENEWING] = "renewing",
	[SIPCERT_AGENT_PUBLISHED] = "published",
	[SIPCERT_AGENT_DEACTIVATED] = "deactivated",
	[SIPCERT_AGENT_ERROR] = "error",
};

static const char *const agent_event_text[] = {
	[SIPCERT_AGENT_SUBSCRIBED] = "subscribed to the credential",
	[SIPCERT_AGENT_CREDENTIAL] = "credential",
	[SIPCERT_AGENT_EMPTY] = "none published: making one",
	[SIPCERT_AGENT_RENEWING] = "notAfter is near: renewing",
	[SIPCERT_AGENT_PUBLISHED] = "published a new credential",
	[SIPCERT_AGENT_DEACTIVATED] = "deactivated: resubscribing",
	[SIPCERT_AGENT_ERROR] = "error",
};

static void agent_json(const struct ua_cli *c,
		       const struct sipcert_agent_event *ev)
{
	json_t *j = json_object();

	json_object_set_new(j, "event",
			    cli_json_str(agent_event_names[ev->kind]));
	json_object_set_new(j, "aor", cli_json_str(c->aor));
	if (ev->cert)
		cli_cert_json(j, ev->cert);
	if (ev->error) {
		json_object_set_new(j, "error", cli_json_str(ev->error->code));
		json_object_set_new(j, "message",
				    cli_json_str(ev->error->message));
	}
	cli_json_print(j);
}

static void agent_people(const struct ua_cli *c,
			 const struct sipcert_agent_event *ev)
{
	char na[64];

	printf("%s: %s", c->aor, agent_event_text[ev->kind]);
	if (ev->cert) {
		cli_time_people(na, sizeof(na), ev->cert->not_after);
		printf(" %s, valid until %s", ev->cert->sha256, na);
	}
	if (ev->error) {
		fputs(": ", stdout);
		cli_print_safe(stdout, ev->error->message);
		printf(" (%s)", ev->error->code);
	}
	putchar('\n');
}

static void on_agent_event(void *arg, const struct sipcert_agent_event *ev)
{
	const struct ua_cli *c = arg;

	if ((size_t)ev->kind >= ARRAY_SIZE(agent_event_names))
		return;
	if (c->json)
		agent_json(c, ev);
	else
		agent_people(c, ev);
	fflush(stdout);
}

int cmd_agent(int argc, char **argv)
{
	struct sipcert_agent_opts o = {.key_type = SIPCERT_KEY_RSA2048};
	struct sipcert_error e = {0};
	struct ua_cli c;
	int rc, err;

	rc = ua_cli_parse(&c, &agent_cmd, &o, argc, argv);
	if (rc == CLI_GO_ON)
		rc = ua_cli_open(&c);
	if (rc == CLI_GO_ON) {
		o.passphrase = ua_cli_passphrase(&c);
		cli_stop_on_signals(c.ua);
		err = sipcert_agent(c.ua, &o, on_agent_event, &c, &e);
		cli_stop_signals_restore();
		rc = err ? cli_refused(&c, err, &e) : CLI_OK;
	}
	ua_cli_close(&c);
	return rc;
}
