# tests/netns/listing.sh: snapshots of table inet $TABLE, for comparing
# the kernel state two paths produced.  Sourced by apply_test and
# plan_test, which set TABLE and KN_PYTHON.

# Normalizes `nft -j list`: without the handles (numbering), the counter
# values (state) and the metainfo, and with the elements of each set in
# one order (a hash set lists in an order of its own in each namespace).
# With the argument "sort", the objects too are put in one order: a
# chain created by a later incremental commit lists later.
NORMALIZE='
import json, sys
out = []
for obj in json.load(sys.stdin)["nftables"]:
    (kind, body), = obj.items()
    if kind == "metainfo":
        continue
    body.pop("handle", None)
    if "elem" in body:
        body["elem"].sort(key=lambda e: json.dumps(e, sort_keys=True))
    for e in body.get("expr", []):
        if "counter" in e:
            e["counter"] = {}
    out.append({kind: body})
if sys.argv[1:] == ["sort"]:
    out.sort(key=lambda o: json.dumps(o, sort_keys=True))
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()
'

# snapshot NS PREFIX: writes PREFIX.nft (the table as `nft -s list` shows
# it) and PREFIX.json (normalized JSON; objects sorted when LISTING_SORT
# is set).
snapshot()
{
	ip netns exec "$1" nft -s list table inet $TABLE >"$2.nft" 2>stderr ||
		atf_fail "nft list table inet $TABLE in $1: $(cat stderr)"
	ip netns exec "$1" nft -j list table inet $TABLE >"$2.raw.json" 2>stderr ||
		atf_fail "nft -j list table inet $TABLE in $1: $(cat stderr)"
	# shellcheck disable=SC2086 # the optional argument is one word
	"$KN_PYTHON" -c "$NORMALIZE" ${LISTING_SORT:+sort} <"$2.raw.json" >"$2.json" ||
		atf_fail "cannot parse the JSON listing of $1"
}

# same WHAT A B: fails with the difference when files A and B differ.
same()
{
	if ! cmp -s "$2" "$3"; then
		diff -u "$2" "$3" | head -60
		atf_fail "$1: $2 and $3 differ"
	fi
}
