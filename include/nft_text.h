/* The text backend: renders a program as an `nft -f` script that
 * atomically replaces the table ("table X" + "delete table X" + the full
 * definition, which nft loads as one transaction). */
#ifndef KN_NFT_TEXT_H
#define KN_NFT_TEXT_H

#include "program.h"
#include "util.h"

void kn_text_render(const struct kn_program *p, struct strbuf *out);
/* Only the "table inet NAME { ... }" block, as `nft list table` shows it
 * (used by golden tests and by explain). */
void kn_text_render_table(const struct kn_program *p, struct strbuf *out);

#endif
