/* Log line formats: journald priority prefixes, the BSD-style program name
 * prefix, and the verbosity filter. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atf-c.h>

#include "log.h"

/* Redirects stderr into a temporary file until capture_end. */
struct capture {
	FILE *f;
	int saved;
};

static void
capture_begin(struct capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	ATF_REQUIRE(c->f != NULL);
	c->saved = dup(STDERR_FILENO);
	ATF_REQUIRE(c->saved >= 0);
	ATF_REQUIRE(dup2(fileno(c->f), STDERR_FILENO) >= 0);
}

/* Returns what was written, NUL-terminated, in a static buffer. */
static const char *
capture_end(struct capture *c)
{
	static char out[8192];
	size_t n;

	fflush(stderr);
	ATF_REQUIRE(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	rewind(c->f);
	n = fread(out, 1, sizeof(out) - 1, c->f);
	out[n] = '\0';
	fclose(c->f);
	return out;
}

ATF_TC_WITHOUT_HEAD(plain_prefix);
ATF_TC_BODY(plain_prefix, tc)
{
	struct capture c;

	unsetenv("JOURNAL_STREAM");
	log_init("kube-nftctl", 0);
	ATF_CHECK_EQ(0, log_verbose());
	capture_begin(&c);
	log_err("cannot open %s", "/x");
	log_warn("pod %s/%s has no IP", "ns", "p");
	log_notice("resync");
	log_info("ready, %d pods", 3);
	log_debug("not shown");
	ATF_CHECK_STREQ("kube-nftctl: error: cannot open /x\n"
			"kube-nftctl: warning: pod ns/p has no IP\n"
			"kube-nftctl: resync\n"
			"kube-nftctl: ready, 3 pods\n",
			capture_end(&c));
}

ATF_TC_WITHOUT_HEAD(plain_verbose);
ATF_TC_BODY(plain_verbose, tc)
{
	struct capture c;

	unsetenv("JOURNAL_STREAM");
	log_init("kn", 1);
	ATF_CHECK_EQ(1, log_verbose());
	capture_begin(&c);
	log_debug("batch of %d messages", 12);
	ATF_CHECK_STREQ("kn: batch of 12 messages\n", capture_end(&c));
	/* Re-initialising without verbosity silences debug again. */
	log_init("kn", 0);
	capture_begin(&c);
	log_debug("hidden");
	ATF_CHECK_STREQ("", capture_end(&c));
}

ATF_TC_WITHOUT_HEAD(journal_prefix);
ATF_TC_BODY(journal_prefix, tc)
{
	struct capture c;

	ATF_REQUIRE_EQ(0, setenv("JOURNAL_STREAM", "8:12345", 1));
	log_init("kube-nftd", 0);
	capture_begin(&c);
	log_err("e");
	log_warn("w");
	log_notice("n");
	log_info("i");
	log_debug("d");
	/* No program name: journald records it already. */
	ATF_CHECK_STREQ("<3>e\n<4>w\n<5>n\n<6>i\n", capture_end(&c));

	log_init("kube-nftd", 2);
	capture_begin(&c);
	log_debug("d %d", 7);
	ATF_CHECK_STREQ("<7>d 7\n", capture_end(&c));
	unsetenv("JOURNAL_STREAM");
}

/* A line longer than the internal buffer is cut, never overrun, and
 * still ends with a newline. */
ATF_TC_WITHOUT_HEAD(long_line);
ATF_TC_BODY(long_line, tc)
{
	static char big[5000];
	struct capture c;
	const char *out;

	memset(big, 'y', sizeof(big) - 1);
	unsetenv("JOURNAL_STREAM");
	log_init("p", 0);
	capture_begin(&c);
	log_info("%s", big);
	out = capture_end(&c);
	ATF_CHECK_EQ(strlen("p: ") + 2047 + 1, strlen(out));
	ATF_CHECK(strncmp(out, "p: yyy", 6) == 0);
	ATF_CHECK_EQ('\n', out[strlen(out) - 1]);
}

ATF_TC_WITHOUT_HEAD(fatal_exits);
ATF_TC_BODY(fatal_exits, tc)
{
	struct capture c;
	int status;
	pid_t pid;

	unsetenv("JOURNAL_STREAM");
	log_init("kube-nftd", 0);
	capture_begin(&c);
	/* fatal calls exit, which flushes what the child inherited. */
	fflush(stdout);
	pid = fork();
	ATF_REQUIRE(pid >= 0);
	if (pid == 0)
		fatal("cannot bind %s", "netlink");
	ATF_REQUIRE_EQ(pid, waitpid(pid, &status, 0));
	ATF_CHECK_STREQ("kube-nftd: error: cannot bind netlink\n", capture_end(&c));
	ATF_CHECK(WIFEXITED(status));
	ATF_CHECK_EQ(1, WEXITSTATUS(status));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, plain_prefix);
	ATF_TP_ADD_TC(tp, plain_verbose);
	ATF_TP_ADD_TC(tp, journal_prefix);
	ATF_TP_ADD_TC(tp, long_line);
	ATF_TP_ADD_TC(tp, fatal_exits);
	return atf_no_error();
}
