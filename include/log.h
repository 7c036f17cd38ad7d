/* Tiny logging API shared by the daemon and the CLI.
 *
 * Only the edges (the daemon loop, the CLI mains) log; library modules
 * return errors to them.  Lines go to stderr; when JOURNAL_STREAM is set
 * (stderr is connected to journald) each line carries a "<N>" syslog
 * priority prefix so that journald records the right level.
 */
#ifndef KN_LOG_H
#define KN_LOG_H

#include <stdarg.h>
#include <stdnoreturn.h>

enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARNING = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

/* progname is used as the line prefix when not writing to the journal. */
void log_init(const char *progname, int verbose);
int log_verbose(void);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_err(...)	log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* For startup failures only. */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
