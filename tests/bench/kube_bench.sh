#!/bin/sh
# kube-nftd with the Kubernetes API source (--source kube) against
# tests/fakeapi loaded with the 10k-pod / 2,000-policy cluster of gen.py:
#   - initial sync: daemon start to first commit (median of --runs)
#   - event to enforcement: --events pod relabellings on the node, one
#     every --interval ms, from fakeapi writing the watch event
#     (--log-events) to the kernel's ack of the commit (kube-nftd -v logs
#     it), median and p99
#   - API load: lists and watches per resource over --duration seconds,
#     with watches shortened (KUBE_NFTD_KUBE_TUNING) so that they renew
#   - VmHWM and VmRSS of the daemon at its first commit
# Everything runs in a throw-away network namespace; the machine's ruleset
# is never touched.
#
#   tests/bench/kube_bench.sh [--duration S] [--runs N] [--events N]
#       [--interval MS] [--watch MIN-MAX] [--no-doc] [--build DIR]
#
# Run as root.  scripts/bench calls it; it also runs alone (building
# build-bench/, or $KN_BENCH_BUILD, if needed).  The table goes to
# docs/performance.md between the kube-bench markers unless --no-doc.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${KN_BENCH_BUILD:-$top/build-bench}
bench=$top/tests/bench
fake=$top/tests/fakeapi/fakeapi.py

duration=90 runs=3 events=1000 interval=40 watch=20-30 doc=1
usage() {
	echo "usage: tests/bench/kube_bench.sh [--duration S] [--runs N] [--events N]" \
		"[--interval MS] [--watch MIN-MAX] [--no-doc] [--build DIR]"
}
while [ $# -gt 0 ]; do
	case $1 in
	--duration) duration=$2; shift ;;
	--runs) runs=$2; shift ;;
	--events) events=$2; shift ;;
	--interval) interval=$2; shift ;;
	--watch) watch=$2; shift ;;
	--build) build=$2; shift ;;
	--no-doc) doc=0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
data=${KN_BENCH_DATA:-$build/bench-data}
tuning="watch=$watch"

say() { printf '%s\n' "kube-bench: $*" >&2; }
die() {
	say "$*"
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run me as root (network namespaces and nftables need it)"
for p in ip nft openssl python3; do
	command -v "$p" >/dev/null 2>&1 || die "$p is needed"
done

# ---------------------------------------------------------------- build, data
kubenftd=$build/src/kube-nftd
if [ ! -x "$kubenftd" ]; then
	mkdir -p "$build"
	if [ ! -f "$build/Makefile" ]; then
		say "configuring $build (-O2)"
		(cd "$build" && "$top/configure" CFLAGS="-O2 -g" >configure.log 2>&1) ||
			die "configure failed, see $build/configure.log"
	fi
	say "building"
	(cd "$build" && make -j"$(nproc)" src/kube-nftd >make.log 2>&1) || die "build failed"
fi
if [ ! -s "$data/c10k.json" ] || [ ! -s "$data/events/label-change.json" ]; then
	say "generating the 10k-pod cluster"
	mkdir -p "$data"
	python3 "$bench/gen.py" -o "$data/c10k.json.part" --events "$data/events" ||
		die "gen.py failed"
	mv "$data/c10k.json.part" "$data/c10k.json"
fi

# ---------------------------------------------------------------- namespace
ns=kn-kbench-$$
work=$(mktemp -d "${TMPDIR:-/tmp}/kn-kbench.XXXXXX")
dpid= fpid=
cleanup() {
	for p in $dpid $fpid; do
		kill "$p" 2>/dev/null || :
		wait "$p" 2>/dev/null || :
	done
	ip netns del "$ns" 2>/dev/null || :
	[ -n "${KN_BENCH_KEEP:-}" ] && say "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
ip netns add "$ns" || die "cannot create network namespace $ns"
ip -n "$ns" link set lo up
cd "$work"

{
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "nft=$(nft --version 2>/dev/null | sed 's/ (.*//')"
	echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "duration=$duration"
	echo "watch_s=$watch"
	echo "tuning=KUBE_NFTD_KUBE_TUNING=$tuning"
} >machine.txt

# ---------------------------------------------------------------- fakeapi
# A CA and a server certificate for 127.0.0.1 (EC keys: fast to make).
k() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "$@" 2>>openssl.log; }
printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
k -x509 -keyout ca.key -out ca.crt -subj "/CN=kn bench ca" -days 2 >/dev/null ||
	die "openssl failed"
k -keyout server.key -out server.csr -subj "/CN=server" >/dev/null &&
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
		-out server.crt -days 2 -extfile san.ext 2>>openssl.log >/dev/null ||
	die "openssl failed"
echo tok1 >token
cat >kubeconfig.yaml <<EOF
apiVersion: v1
kind: Config
current-context: fake
clusters:
- name: fake
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: $work/ca.crt
contexts:
- name: fake
  context: {cluster: fake, user: kube-nftd}
users:
- name: kube-nftd
  user:
    tokenFile: $work/token
EOF

# Not through a function: $! must be the server (ip netns exec execs it).
ip netns exec "$ns" python3 "$fake" serve --listen 127.0.0.1:6443 \
	--tls-cert server.crt --tls-key server.key --token tok1 \
	--control "$work/ctl.sock" --log "$work/api.log" --log-events \
	--ready-file "$work/fake.ready" --bookmark-interval 10 >fake.out 2>&1 &
fpid=$!
n=0
until [ -e fake.ready ]; do
	kill -0 "$fpid" 2>/dev/null || { cat fake.out >&2; die "fakeapi exited"; }
	n=$((n + 1))
	[ "$n" -lt 1000 ] || die "fakeapi did not start"
	sleep 0.01
done
say "loading the 10k-pod cluster into fakeapi"
python3 "$fake" ctl "$work/ctl.sock" POST /objects "@$data/c10k.json" >ctl.out 2>&1 ||
	die "loading the cluster: $(cat ctl.out)"

# ---------------------------------------------------------------- daemon runs
# The last run goes on: events, then the API load over --duration.
i=0
while [ "$i" -lt "$runs" ]; do
	i=$((i + 1))
	: >daemon.log
	lines=$(wc -l <api.log)
	t0=$(date +%s)
	ip netns exec "$ns" env KUBE_NFTD_KUBE_TUNING="$tuning" "$kubenftd" -v \
		--config /dev/null --node node-0 --source kube --kubeconfig "$work/kubeconfig.yaml" \
		--control-socket "$work/control" >daemon.log 2>&1 &
	dpid=$!
	n=0
	until grep -q 'first commit' daemon.log; do
		kill -0 "$dpid" 2>/dev/null || { tail -n 20 daemon.log >&2; die "kube-nftd exited"; }
		n=$((n + 1))
		[ "$n" -lt 12000 ] || die "kube-nftd did not commit within 120 s"
		sleep 0.01
	done
	[ "$(cat "/proc/$dpid/comm")" = kube-nftd ] || die "process $dpid is not kube-nftd"
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$dpid/status")
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$dpid/status")
	fc=$(sed -n 's/.*first commit \([0-9]*\) ms after start.*/\1/p' daemon.log | head -n 1)
	lm=$(sed -n 's/.*resources listed in \([0-9]*\) ms.*/\1/p' daemon.log | head -n 1)
	cm=$(sed -n 's/.*committed table.*(full), \([0-9.]*\) ms.*/\1/p' daemon.log | head -n 1)
	echo "sync first_commit_ms=$fc list_ms=${lm:-0} commit_ms=${cm:-0} hwm_kb=$hwm" \
		"rss_kb=$rss" >>sync.txt
	say "run $i: first commit after $fc ms, VmHWM $hwm kB, VmRSS $rss kB"
	[ "$i" -lt "$runs" ] || break
	kill "$dpid"
	wait "$dpid" 2>/dev/null || :
	dpid=
done

say "$events events, one every $interval ms"
sleep 1
python3 "$bench/kube_bench.py" drive "$work/ctl.sock" "$data/events/label-change.json" \
	"$events" "$interval" >drive.txt || die "driving events failed"
left=$((t0 + duration - $(date +%s)))
if [ "$left" -gt 0 ]; then
	say "API load: $left s more (run of $duration s, watches of $watch s)"
	sleep "$left"
fi
kill "$dpid"
wait "$dpid" 2>/dev/null || :
dpid=
tail -n "+$((lines + 1))" api.log >api-run.log
mv api-run.log api.log
grep -q 'error' daemon.log && say "daemon errors: $(grep -c error daemon.log)"
echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>machine.txt

# ---------------------------------------------------------------- report
echo
if [ "$doc" -eq 1 ]; then
	python3 "$bench/kube_bench.py" report --doc "$top/docs/performance.md" "$work"
	say "table written to docs/performance.md"
else
	python3 "$bench/kube_bench.py" report "$work"
fi
