/* The JSON half of the manifest reader (manifest.h): a validating parser
 * that reads its input as a stream through a window of bounded size, and
 * builds jansson values only for the members its caller reads.
 *
 * It accepts and rejects exactly what jansson's json_loadb accepts and
 * rejects with JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK |
 * JSON_REJECT_DUPLICATES, a stream of values one after the other, and
 * reports the same message at the same line and column, for what it
 * builds and for what it skips alike (but for a NUL byte right after a
 * number or a word, which jansson drops and this parser refuses: see
 * jsonrd.c).  The values it builds equal jansson's.
 * tests/unit/jsonrd_test.c holds it to that.
 *
 * Kubernetes documents: every top-level object chooses its members by its
 * kind (kn_decode_fields), as do the items of a List (a kind ending in
 * "List"), nested or not.  Until the kind is known, members are built
 * whole.  The items of a top-level List are handed out one at a time as
 * they are read, the List itself never built, so that memory is bounded
 * by one item rather than by the file.
 */
#ifndef KN_JSONRD_H
#define KN_JSONRD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "decode.h"

struct kn_jsonrd;

/* Reads fd from its current offset, at most max bytes, or the len bytes
 * of buf (copied in pieces, as from a file).  fields NULL builds every
 * value whole. */
struct kn_jsonrd *kn_jsonrd_new_fd(int fd, size_t max, kn_fields_fn fields);
struct kn_jsonrd *kn_jsonrd_new_buf(const char *buf, size_t len, kn_fields_fn fields);
void kn_jsonrd_free(struct kn_jsonrd *j);

/* The window's size (at least 64 bytes), for tests of its edges. */
void kn_jsonrd_set_window(struct kn_jsonrd *j, size_t size);

/* Skips a UTF-8 byte order mark and white space at the start of the
 * input; *ret_byte is the first byte after them (JSON starts with '{' or
 * '['), -1 when the input ends first.  Returns 0 or a negative errno
 * (-EFBIG past max).  Call it first. */
int kn_jsonrd_start(struct kn_jsonrd *j, int *ret_byte);

/* The whole input from its first byte, for a syntax read whole (YAML):
 * owned by j.  Returns 0 or a negative errno. */
int kn_jsonrd_slurp(struct kn_jsonrd *j, const char **ret_buf, size_t *ret_len);

/* Called with each item of a top-level List, null ones too, index
 * counting them from 1; the item is borrowed.  Non-zero stops reading. */
typedef int (*kn_jsonrd_item_cb)(void *ctx, json_t *item, size_t index);

/* What kn_jsonrd_next returns when item stopped it. */
#define KN_JSONRD_STOPPED 2

/* Reads the next top-level value.  Returns 1 with *ret (owned by the
 * caller; NULL when the value was a List whose items went to item), 0
 * at the end of the input, KN_JSONRD_STOPPED, or a negative errno:
 * -EINVAL for malformed JSON (kn_jsonrd_error), others for I/O, -EFBIG
 * past max. */
int kn_jsonrd_next(struct kn_jsonrd *j, kn_jsonrd_item_cb item, void *ctx, json_t **ret);

/* The syntax error: line and column as jansson counts them (the column,
 * in characters, of the last one read; 0 at the start of a line). */
struct kn_jsonrd_error {
	int line;
	int column;
	char text[JSON_ERROR_TEXT_LENGTH];
};

const struct kn_jsonrd_error *kn_jsonrd_error(const struct kn_jsonrd *j);

/* True when text holds a NUL byte right after a letter or a digit, which
 * jansson drops past a number or a word and this parser refuses
 * (jsonrd.c): then, and only then, jansson may take a value refused
 * here, or refuse it elsewhere.  For the tests that compare the two. */
bool kn_jsonrd_nul_differs(const char *text, size_t len);

#endif
