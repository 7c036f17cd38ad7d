/* Logging to stderr, journald-friendly.
 *
 * When JOURNAL_STREAM is set, stderr is a journald stream and lines carry
 * a "<N>" priority prefix (sd-daemon(3)); otherwise they are prefixed by
 * the program name, as the BSD daemons do.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *log_progname = "kube-nftd";
static int log_level_max = LOG_LVL_INFO;
static int log_journal;

void
log_init(const char *progname, int verbose)
{
	log_progname = progname;
	log_level_max = verbose > 0 ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

int
log_verbose(void)
{
	return log_level_max >= LOG_LVL_DEBUG;
}

void
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	char line[2048];

	if ((int)lvl > log_level_max)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	/* One write per line so that concurrent writers do not interleave. */
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", (int)lvl, line);
	else if (lvl <= LOG_LVL_WARNING)
		fprintf(stderr, "%s: %s: %s\n", log_progname,
			lvl == LOG_LVL_ERR ? "error" : "warning", line);
	else
		fprintf(stderr, "%s: %s\n", log_progname, line);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
