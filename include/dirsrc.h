/* The directory source: a folder of manifests (JSON/YAML, as kube-nftctl
 * reads them) kept in the store, watched with inotify.
 *
 * Files are read whole when written and closed (IN_CLOSE_WRITE) or moved
 * in (IN_MOVED_TO, what editors and `kubectl ... > tmp && mv` do), so a
 * partial write is never seen.  A file that fails to parse keeps its
 * previous objects; a deleted file takes its objects with it.  Hidden
 * files and editor leftovers (*~, *.swp, #*#) are ignored; only *.json,
 * *.yaml and *.yml are read. */
#ifndef KN_DIRSRC_H
#define KN_DIRSRC_H

#include <stddef.h>

#include "store.h"

struct kn_dirsrc;

/* Messages for the log (the source itself never logs): level is a
 * log_level, msg one line naming the file and object. */
typedef void (*kn_dirsrc_report)(void *arg, int level, const char *msg);

/* Opens the source on path; 0 or -errno. */
int kn_dirsrc_open(const char *path, struct kn_store *s, kn_dirsrc_report report, void *arg,
		   struct kn_dirsrc **ret);
void kn_dirsrc_close(struct kn_dirsrc *d);

/* The inotify descriptor to poll for EPOLLIN. */
int kn_dirsrc_fd(const struct kn_dirsrc *d);

/* Reads every file anew (start, SIGHUP, inotify overflow); objects of
 * files that disappeared are deleted.  Returns the number of files that
 * failed to parse. */
size_t kn_dirsrc_rescan(struct kn_dirsrc *d);
/* Handles pending inotify events; returns the number of store changes. */
size_t kn_dirsrc_dispatch(struct kn_dirsrc *d);

struct kn_dirsrc_stats {
	size_t files;	     /* files whose last read succeeded */
	size_t failed_files; /* files whose last read failed (old objects kept) */
	size_t invalid;	     /* objects skipped by validation at the last reads */
};
void kn_dirsrc_get_stats(const struct kn_dirsrc *d, struct kn_dirsrc_stats *ret);

#endif
