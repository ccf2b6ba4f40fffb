/* SPDX-License-Identifier: BSD-3-Clause */
/* Logging for the daemon and the tools: syslog levels, one line per event,
 * to stderr or syslog. The library never calls this (it returns errors);
 * secrets are never passed here. */
#include "base.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static enum log_level min_level = LOG_LEVEL_INFO;
static bool use_syslog;

static const char *const level_names[] = {
	[LOG_LEVEL_ERR] = "error",     [LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice", [LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

static const int syslog_prio[] = {
	[LOG_LEVEL_ERR] = LOG_ERR,	 [LOG_LEVEL_WARNING] = LOG_WARNING,
	[LOG_LEVEL_NOTICE] = LOG_NOTICE, [LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

void log_setup(enum log_level level, bool to_syslog, const char *ident)
{
	min_level = level;
	if (to_syslog && !use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!to_syslog && use_syslog)
		closelog();
	use_syslog = to_syslog;
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (level_names[i] && !strcmp(name, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	return -EINVAL;
}

bool log_enabled(enum log_level level)
{
	return level <= min_level;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one event, one line: control characters from the network would
	 * forge log lines */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (use_syslog) {
		syslog(syslog_prio[level], "%s: %s", module, line);
	} else {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp,
			ts.tv_nsec / 1000000, level_names[level], module, line);
	}
}
