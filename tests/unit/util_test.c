/* Allocation helpers, strbuf bounds, hashing and arrays. */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atf-c.h>

#include "util.h"

ATF_TC_WITHOUT_HEAD(strbuf_growth);
ATF_TC_BODY(strbuf_growth, tc)
{
	struct strbuf sb;
	char want[5001];

	strbuf_init(&sb, 0);
	ATF_CHECK_STREQ("", strbuf_str(&sb));
	ATF_CHECK_EQ(0, sb.len);
	for (int i = 0; i < 5000; i++) {
		want[i] = (char)('a' + i % 26);
		strbuf_putc(&sb, want[i]);
	}
	want[5000] = '\0';
	ATF_CHECK_EQ(5000, sb.len);
	ATF_CHECK(sb.cap >= 5001);
	ATF_CHECK(!sb.overflow);
	ATF_CHECK_STREQ(want, strbuf_str(&sb));
	/* Binary data with an embedded NUL keeps its length. */
	strbuf_reset(&sb);
	ATF_CHECK_STREQ("", strbuf_str(&sb));
	strbuf_add(&sb, "a\0b", 3);
	ATF_CHECK_EQ(3, sb.len);
	ATF_CHECK(memcmp(sb.buf, "a\0b", 4) == 0);
	strbuf_free(&sb);
	ATF_CHECK(sb.buf == NULL);
	strbuf_free(&sb);
	strbuf_free(NULL);
}

ATF_TC_WITHOUT_HEAD(strbuf_printf);
ATF_TC_BODY(strbuf_printf, tc)
{
	struct strbuf sb;
	char big[1000];

	strbuf_init(&sb, 0);
	strbuf_printf(&sb, "%s/%d", "ns", 42);
	strbuf_puts(&sb, " ");
	/* Longer than the function's small stack buffer. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strbuf_printf(&sb, "[%s]", big);
	ATF_CHECK_EQ(6 + 1000 + 1, sb.len);
	ATF_CHECK(strncmp(strbuf_str(&sb), "ns/42 [xxx", 10) == 0);
	ATF_CHECK_EQ(']', sb.buf[sb.len - 1]);
	ATF_CHECK_EQ('\0', sb.buf[sb.len]);
	strbuf_free(&sb);
}

ATF_TC_WITHOUT_HEAD(strbuf_max);
ATF_TC_BODY(strbuf_max, tc)
{
	struct strbuf sb;

	strbuf_init(&sb, 10);
	ATF_CHECK_EQ(10, sb.max);
	strbuf_puts(&sb, "12345678");
	ATF_CHECK(!sb.overflow);
	/* Exactly up to the maximum is fine. */
	strbuf_puts(&sb, "90");
	ATF_CHECK(!sb.overflow);
	ATF_CHECK_STREQ("1234567890", strbuf_str(&sb));
	/* One more byte is dropped and flagged. */
	strbuf_putc(&sb, 'x');
	ATF_CHECK(sb.overflow);
	ATF_CHECK_EQ(10, sb.len);
	ATF_CHECK_STREQ("1234567890", strbuf_str(&sb));
	/* The flag is sticky: nothing more is appended until a reset. */
	strbuf_reset(&sb);
	ATF_CHECK(!sb.overflow);
	strbuf_puts(&sb, "123456789");
	strbuf_puts(&sb, "ab");
	ATF_CHECK(sb.overflow);
	ATF_CHECK_STREQ("123456789", strbuf_str(&sb));
	strbuf_putc(&sb, 'c');
	ATF_CHECK_STREQ("123456789", strbuf_str(&sb));
	strbuf_printf(&sb, "%d", 1);
	ATF_CHECK_EQ(9, sb.len);
	strbuf_free(&sb);

	/* 0 means the default maximum (256 MiB). */
	strbuf_init(&sb, 0);
	ATF_CHECK_EQ(256u * 1024 * 1024, sb.max);
	/* A length that would overflow size_t arithmetic is refused. */
	strbuf_puts(&sb, "ab");
	strbuf_add(&sb, "", SIZE_MAX - 1);
	ATF_CHECK(sb.overflow);
	ATF_CHECK_EQ(2, sb.len);
	strbuf_free(&sb);
}

ATF_TC_WITHOUT_HEAD(strbuf_steal);
ATF_TC_BODY(strbuf_steal, tc)
{
	struct strbuf sb;
	char *p;

	strbuf_init(&sb, 0);
	p = strbuf_steal(&sb);
	ATF_CHECK_STREQ("", p);
	free(p);
	strbuf_puts(&sb, "hello");
	p = strbuf_steal(&sb);
	ATF_CHECK_STREQ("hello", p);
	ATF_CHECK(sb.buf == NULL);
	ATF_CHECK_EQ(0, sb.len);
	ATF_CHECK_STREQ("", strbuf_str(&sb));
	free(p);
	/* Usable again after stealing. */
	strbuf_puts(&sb, "x");
	ATF_CHECK_STREQ("x", strbuf_str(&sb));
	strbuf_free(&sb);
}

ATF_TC_WITHOUT_HEAD(xasprintf);
ATF_TC_BODY(xasprintf, tc)
{
	char *p = xasprintf("%s-%04x-%c", "kn", 0xbeef, 'z');

	ATF_CHECK_STREQ("kn-beef-z", p);
	free(p);
	p = xasprintf("%s", "");
	ATF_CHECK_STREQ("", p);
	free(p);
}

ATF_TC_WITHOUT_HEAD(xalloc);
ATF_TC_BODY(xalloc, tc)
{
	char *p;
	int *z;

	/* Zero sizes still give a pointer that can be freed. */
	p = xmalloc(0);
	ATF_CHECK(p != NULL);
	free(p);
	z = xcalloc(0, sizeof(*z));
	ATF_CHECK(z != NULL);
	free(z);
	z = xcalloc(8, sizeof(*z));
	for (int i = 0; i < 8; i++)
		ATF_CHECK_EQ(0, z[i]);
	z = xreallocarray(z, 16, sizeof(*z));
	ATF_CHECK_EQ(0, z[7]);
	free(z);
	p = xstrndup("abcdef", 3);
	ATF_CHECK_STREQ("abc", p);
	free(p);
	p = xstrdup("");
	ATF_CHECK_STREQ("", p);
	free(p);
}

/* nmemb * size overflowing size_t must not wrap into a small allocation:
 * the process aborts with a message. */
ATF_TC_WITHOUT_HEAD(xreallocarray_overflow);
ATF_TC_BODY(xreallocarray_overflow, tc)
{
	char msg[64] = "";
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	ATF_REQUIRE_EQ(0, pipe(fds));
	pid = fork();
	ATF_REQUIRE(pid >= 0);
	if (pid == 0) {
		struct rlimit nocore = {0, 0};

		/* The abort is expected; do not leave a core file behind. */
		setrlimit(RLIMIT_CORE, &nocore);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		xreallocarray(NULL, SIZE_MAX / 2 + 2, 2);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], msg, sizeof(msg) - 1);
	close(fds[0]);
	ATF_REQUIRE_EQ(pid, waitpid(pid, &status, 0));
	ATF_CHECK(WIFSIGNALED(status));
	ATF_CHECK_EQ(SIGABRT, WTERMSIG(status));
	ATF_REQUIRE(n > 0);
	msg[n] = '\0';
	ATF_CHECK_STREQ("out of memory\n", msg);
}

ATF_TC_WITHOUT_HEAD(hash64_stable);
ATF_TC_BODY(hash64_stable, tc)
{
	/* Published FNV-1a 64-bit test vectors: names derived from these
	 * hashes are part of the ruleset and must never change. */
	ATF_CHECK_EQ(0xcbf29ce484222325ULL, hash64("", 0, HASH64_SEED));
	ATF_CHECK_EQ(0xaf63dc4c8601ec8cULL, hash64("a", 1, HASH64_SEED));
	ATF_CHECK_EQ(0x85944171f73967e8ULL, hash64("foobar", 6, HASH64_SEED));
	/* Chaining equals hashing the concatenation. */
	ATF_CHECK_EQ(hash64("foobar", 6, HASH64_SEED),
		     hash64("bar", 3, hash64("foo", 3, HASH64_SEED)));
	ATF_CHECK(hash64("ab", 2, HASH64_SEED) != hash64("ba", 2, HASH64_SEED));
}

ATF_TC_WITHOUT_HEAD(grow_array);
ATF_TC_BODY(grow_array, tc)
{
	int *v = NULL, *before;
	size_t cap = 0, n = 0;

	grow_array((void **)&v, &cap, 1, sizeof(*v));
	ATF_CHECK_EQ(4, cap);
	before = v;
	/* Enough room: nothing moves. */
	grow_array((void **)&v, &cap, 4, sizeof(*v));
	ATF_CHECK_EQ(4, cap);
	ATF_CHECK(v == before);
	grow_array((void **)&v, &cap, 5, sizeof(*v));
	ATF_CHECK_EQ(8, cap);
	grow_array((void **)&v, &cap, 100, sizeof(*v));
	ATF_CHECK_EQ(128, cap);
	free(v);

	v = NULL;
	cap = 0;
	for (int i = 0; i < 1000; i++)
		*VEC_PUSH(v, n, cap) = i * 3;
	ATF_CHECK_EQ(1000, n);
	ATF_CHECK(cap >= 1000 && cap < 2000);
	for (int i = 0; i < 1000; i++)
		ATF_REQUIRE_EQ(i * 3, v[i]);
	free(v);
}

ATF_TC_WITHOUT_HEAD(str_cmp_ptr);
ATF_TC_BODY(str_cmp_ptr, tc)
{
	const char *v[] = {"pod-b", "pod-a", "ns", "pod-aa", ""};

	qsort(v, ARRAY_SIZE(v), sizeof(v[0]), str_cmp_ptr);
	ATF_CHECK_STREQ("", v[0]);
	ATF_CHECK_STREQ("ns", v[1]);
	ATF_CHECK_STREQ("pod-a", v[2]);
	ATF_CHECK_STREQ("pod-aa", v[3]);
	ATF_CHECK_STREQ("pod-b", v[4]);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, strbuf_growth);
	ATF_TP_ADD_TC(tp, strbuf_printf);
	ATF_TP_ADD_TC(tp, strbuf_max);
	ATF_TP_ADD_TC(tp, strbuf_steal);
	ATF_TP_ADD_TC(tp, xasprintf);
	ATF_TP_ADD_TC(tp, xalloc);
	ATF_TP_ADD_TC(tp, xreallocarray_overflow);
	ATF_TP_ADD_TC(tp, hash64_stable);
	ATF_TP_ADD_TC(tp, grow_array);
	ATF_TP_ADD_TC(tp, str_cmp_ptr);
	return atf_no_error();
}
