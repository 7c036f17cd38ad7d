/* The directory source: files in, objects out, partial writes and parse
 * failures never lose objects.  Uses a real folder and inotify. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "dirsrc.h"
#include "store.h"
#include "util.h"

static int errors;

static void
rep(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level <= 3)
		errors++;
	fprintf(stderr, "report %d: %s\n", level, msg);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ATF_REQUIRE(f != NULL);
	fputs(text, f);
	fclose(f);
}

static const char pod_a[] = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: \"n\"}\n"
			    "spec: {nodeName: n1, containers: [{name: c}]}\n";
static const char pod_b[] = "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: \"n\"}\n"
			    "spec: {nodeName: n1, containers: [{name: c}]}\n";

/* Waits for inotify events and dispatches them. */
static size_t
pump(struct kn_dirsrc *d)
{
	struct pollfd p = {.fd = kn_dirsrc_fd(d), .events = POLLIN};
	size_t changes = 0;

	while (poll(&p, 1, 200) > 0)
		changes += kn_dirsrc_dispatch(d);
	return changes;
}

static size_t
npods(struct kn_store *s)
{
	struct kn_pod *const *v;

	return kn_store_pods(s, &v);
}

ATF_TC_WITHOUT_HEAD(files_in_and_out);
ATF_TC_BODY(files_in_and_out, tc)
{
	struct kn_store *s = kn_store_new();
	struct kn_dirsrc *d;
	struct kn_dirsrc_stats st;

	ATF_REQUIRE_EQ(mkdir("m", 0700), 0);
	write_file("m/a.yaml", pod_a);
	write_file("m/.hidden.yaml", pod_b);
	write_file("m/notes.txt", pod_b);
	write_file("m/b.yaml~", pod_b);
	ATF_REQUIRE_EQ(kn_dirsrc_open("m", s, rep, NULL, &d), 0);
	ATF_CHECK_EQ(kn_dirsrc_rescan(d), 0);
	ATF_CHECK_EQ(npods(s), 1);
	ATF_CHECK(kn_store_get_pod(s, "n", "a") != NULL);

	/* An editor's way: write a temporary file, rename it in. */
	write_file("m/.b.yaml.tmp", pod_b);
	ATF_REQUIRE_EQ(rename("m/.b.yaml.tmp", "m/b.yaml"), 0);
	ATF_CHECK(pump(d) > 0);
	ATF_CHECK_EQ(npods(s), 2);

	ATF_REQUIRE_EQ(unlink("m/a.yaml"), 0);
	pump(d);
	ATF_CHECK_EQ(npods(s), 1);
	ATF_CHECK(kn_store_get_pod(s, "n", "a") == NULL);

	kn_dirsrc_get_stats(d, &st);
	ATF_CHECK_EQ(st.files, 1);
	ATF_CHECK_EQ(st.failed_files, 0);
	kn_dirsrc_close(d);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(broken_file_keeps_objects);
ATF_TC_BODY(broken_file_keeps_objects, tc)
{
	struct kn_store *s = kn_store_new();
	struct kn_dirsrc *d;
	struct kn_dirsrc_stats st;

	ATF_REQUIRE_EQ(mkdir("m", 0700), 0);
	write_file("m/a.yaml", pod_a);
	ATF_REQUIRE_EQ(kn_dirsrc_open("m", s, rep, NULL, &d), 0);
	kn_dirsrc_rescan(d);
	errors = 0;
	write_file("m/a.yaml", "kind: Pod\nmetadata: [unclosed\n");
	pump(d);
	ATF_CHECK_EQ(errors, 1);
	ATF_CHECK(kn_store_get_pod(s, "n", "a") != NULL);
	kn_dirsrc_get_stats(d, &st);
	ATF_CHECK_EQ(st.failed_files, 1);
	/* A new file that never parsed counts as failing too. */
	write_file("m/new.yaml", "{");
	pump(d);
	kn_dirsrc_get_stats(d, &st);
	ATF_CHECK_EQ(st.failed_files, 2);
	/* Fixed: the file's objects are what it now says. */
	write_file("m/a.yaml", pod_b);
	pump(d);
	ATF_CHECK(kn_store_get_pod(s, "n", "a") == NULL);
	ATF_CHECK(kn_store_get_pod(s, "n", "b") != NULL);
	kn_dirsrc_close(d);
	kn_store_free(s);
}

/* kubectl's List, items before kind, larger than the reader's window: its
 * items are handed out as they are read, and the file refused only at
 * its end.  None of them may reach the store, nor the file's old objects
 * leave it. */
static char *
pod_list(int pods, const char *tail)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_puts(&sb, "{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n");
	for (int i = 0; i < pods; i++)
		strbuf_printf(&sb,
			      "%s        {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": "
			      "{\"name\": \"p%d\", \"namespace\": \"n\", \"annotations\": "
			      "{\"note\": \"%0300d\"}}, \"spec\": {\"nodeName\": \"n1\"}}",
			      i ? ",\n" : "", i, i);
	strbuf_printf(&sb, "\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {}%s\n}\n", tail);
	return strbuf_steal(&sb);
}

ATF_TC_WITHOUT_HEAD(broken_list_keeps_objects);
ATF_TC_BODY(broken_list_keeps_objects, tc)
{
	struct kn_store *s = kn_store_new();
	char *bad = pod_list(1000, ", \"x\": tru"), *good = pod_list(1000, "");
	struct kn_dirsrc *d;
	struct kn_dirsrc_stats st;

	ATF_REQUIRE(strlen(bad) > 300 * 1024);
	ATF_REQUIRE_EQ(mkdir("m", 0700), 0);
	write_file("m/a.json", "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": "
			       "{\"name\": \"a\", \"namespace\": \"n\"}}");
	ATF_REQUIRE_EQ(kn_dirsrc_open("m", s, rep, NULL, &d), 0);
	kn_dirsrc_rescan(d);
	ATF_CHECK_EQ(npods(s), 1);
	errors = 0;
	write_file("m/a.json", bad);
	pump(d);
	ATF_CHECK_EQ(errors, 1);
	ATF_CHECK_EQ(npods(s), 1);
	ATF_CHECK(kn_store_get_pod(s, "n", "a") != NULL);
	kn_dirsrc_get_stats(d, &st);
	ATF_CHECK_EQ(st.failed_files, 1);
	write_file("m/a.json", good);
	pump(d);
	ATF_CHECK_EQ(npods(s), 1000);
	ATF_CHECK(kn_store_get_pod(s, "n", "a") == NULL);
	ATF_CHECK(kn_store_get_pod(s, "n", "p999") != NULL);
	kn_dirsrc_close(d);
	kn_store_free(s);
	free(bad);
	free(good);
}

ATF_TC_WITHOUT_HEAD(invalid_object_skipped);
ATF_TC_BODY(invalid_object_skipped, tc)
{
	struct kn_store *s = kn_store_new();
	struct kn_dirsrc *d;
	struct kn_dirsrc_stats st;

	ATF_REQUIRE_EQ(mkdir("m", 0700), 0);
	write_file("m/a.yaml",
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name, namespace: \"n\"}\n"
		   "---\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: ok, namespace: \"n\"}\n");
	ATF_REQUIRE_EQ(kn_dirsrc_open("m", s, rep, NULL, &d), 0);
	errors = 0;
	kn_dirsrc_rescan(d);
	ATF_CHECK_EQ(errors, 1);
	ATF_CHECK_EQ(npods(s), 1);
	kn_dirsrc_get_stats(d, &st);
	ATF_CHECK_EQ(st.invalid, 1);
	kn_dirsrc_close(d);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(object_in_two_files);
ATF_TC_BODY(object_in_two_files, tc)
{
	struct kn_store *s = kn_store_new();
	struct kn_dirsrc *d;

	ATF_REQUIRE_EQ(mkdir("m", 0700), 0);
	write_file("m/1.yaml", pod_a);
	write_file("m/2.yaml", pod_a);
	ATF_REQUIRE_EQ(kn_dirsrc_open("m", s, rep, NULL, &d), 0);
	kn_dirsrc_rescan(d);
	/* Removing one file must not remove what the other still defines. */
	ATF_REQUIRE_EQ(unlink("m/1.yaml"), 0);
	pump(d);
	ATF_CHECK(kn_store_get_pod(s, "n", "a") != NULL);
	ATF_REQUIRE_EQ(unlink("m/2.yaml"), 0);
	pump(d);
	ATF_CHECK(kn_store_get_pod(s, "n", "a") == NULL);
	kn_dirsrc_close(d);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(open_errors);
ATF_TC_BODY(open_errors, tc)
{
	struct kn_store *s = kn_store_new();
	struct kn_dirsrc *d;

	ATF_CHECK_EQ(kn_dirsrc_open("/nonexistent", s, rep, NULL, &d), -ENOENT);
	write_file("f", "x");
	ATF_CHECK_EQ(kn_dirsrc_open("f", s, rep, NULL, &d), -ENOTDIR);
	kn_store_free(s);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, files_in_and_out);
	ATF_TP_ADD_TC(tp, broken_file_keeps_objects);
	ATF_TP_ADD_TC(tp, broken_list_keeps_objects);
	ATF_TP_ADD_TC(tp, invalid_object_skipped);
	ATF_TP_ADD_TC(tp, object_in_two_files);
	ATF_TP_ADD_TC(tp, open_errors);
	return atf_no_error();
}
