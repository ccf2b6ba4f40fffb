/* SPDX-License-Identifier: BSD-3-Clause */
/* libsipcert linked statically (libsipcert.a), through the public API
 * only: the version, a user agent made and freed, a bad option refused
 * with its code. Exits 0 when all hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sipcert/sipcert.h>

int main(void)
{
	struct sipcert_ua_opts o;
	struct sipcert_error e;
	struct sipcert_ua *ua = NULL;
	char dir[] = "/tmp/sipcert-static-XXXXXX";
	int fails = 0;

	if (strcmp(sipcert_version(), "0.0.0") <= 0) {
		printf("FAIL static_version: %s\n", sipcert_version());
		fails++;
	}
	memset(&o, 0, sizeof(o));
	o.aor = "not an aor";
	if (sipcert_ua_new(&ua, &o, &e) == 0 || strcmp(e.code, "usage")) {
		printf("FAIL static_bad_aor: %s\n", e.code);
		fails++;
	}
	if (!mkdtemp(dir))
		return 1;
	memset(&o, 0, sizeof(o));
	o.aor = "sip:alice@example.test";
	o.state_dir = dir;
	o.cache_ttl_s = -1;
	if (sipcert_ua_new(&ua, &o, &e)) {
		printf("FAIL static_ua_new: %s %s\n", e.code, e.message);
		fails++;
	}
	sipcert_ua_free(ua);
	printf("%d passed, %d failed\n", 3 - fails, fails);
	return fails ? 1 : 0;
}
