#! @ATF_SH@
#
# kube-nftd with the Kubernetes API source (--source kube) against
# tests/fakeapi, a real HTTPS server speaking the list and watch protocol,
# with every failure of the issue's list injected in turn.
#
# Each case runs the fake server and the daemon in a network namespace of
# its own (kn-kube-PID), which is where the daemon programs its table:
# the root namespace's ruleset is never touched.  The cluster is small:
# namespace x with a deny-all-ingress policy and pods on node1 (this
# node), so that every pod shows as an element "x/NAME" of the table's
# ingress-v4 map.  In every failure case the test checks that
#   - the table keeps the last good ruleset while the failure lasts,
#   - the daemon recovers by itself (a pod created afterwards shows up),
#   - the log says what happened once, not in a loop,
#   - the daemon exits cleanly on SIGTERM (under ASan: nothing leaked).
#
# The daemon runs with short watches and backoffs (KUBE_NFTD_KUBE_TUNING,
# see kn_kubesrc_parse_tuning) so that the program takes minutes, not
# hours; the fake server's request log (api.log) tells what it asked.

KN_TOP_SRCDIR=@TOP_SRCDIR@
KN_TOP_BUILDDIR=@TOP_BUILDDIR@
: "${KN_DAEMON:=$KN_TOP_BUILDDIR/src/kube-nftd}"
: "${KN_NFTCTL:=$KN_TOP_BUILDDIR/src/kube-nftctl}"
: "${KN_PYTHON:=python3}"
FAKE=$KN_TOP_SRCDIR/tests/fakeapi/fakeapi.py
TABLE=kube-nftd
# Watches of 2-3 s (1 s grace before a silent one counts as stalled),
# backoff from 100 ms doubling to 800 ms, token files read every second.
TUNING=watch=2-3,grace=1,backoff=100-800,connect=2,token=1,stall=2

# common_head DESCRIPTION [PROGRAM...]: the programs the case needs too.
common_head()
{
	atf_set descr "$1"
	shift
	atf_set require.user root
	atf_set require.progs "ip nft openssl $KN_PYTHON $*"
	atf_set timeout 120
}

# ------------------------------------------------------------ setup

# netns_new: a namespace for the case, removed by the cleanup.
netns_new()
{
	NS=kn-kube-$$
	echo "$NS" >netns.name
	ip netns add "$NS" || atf_fail "cannot create network namespace $NS"
	ip -n "$NS" link set lo up
}

NS=$(cat netns.name 2>/dev/null)

# certs: a CA and a server certificate for 127.0.0.1, ::1 and localhost;
# another CA (the server certificate it signs does not verify); a client
# CA and a client certificate.  EC keys: fast to make.
certs()
{
	_k() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "$@" \
		2>>openssl.log; }
	printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n' >san.ext
	for _ca in ca bad-ca client-ca; do
		_k -x509 -keyout $_ca.key -out $_ca.crt -subj "/CN=kn test $_ca" -days 2 ||
			atf_fail "openssl: $(cat openssl.log)"
	done
	for _c in server:ca bad-server:bad-ca client:client-ca; do
		_name=${_c%%:*} _ca=${_c#*:}
		_k -keyout $_name.key -out $_name.csr -subj "/CN=$_name" &&
			openssl x509 -req -in $_name.csr -CA $_ca.crt -CAkey $_ca.key \
				-CAcreateserial -out $_name.crt -days 2 -extfile san.ext \
				2>>openssl.log || atf_fail "openssl: $(cat openssl.log)"
	done
}

# kubeconfig [token|cert]: how the daemon finds the fake server.
kubeconfig()
{
	_user="tokenFile: token"
	if [ "${1:-token}" = cert ]; then
		# The -data forms, as kubeadm writes them.
		_user="client-certificate-data: $(base64 -w0 client.crt)
    client-key-data: $(base64 -w0 client.key)"
	fi
	cat >kubeconfig.yaml <<EOF
apiVersion: v1
kind: Config
current-context: fake
clusters:
- name: fake
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.crt
contexts:
- name: fake
  context: {cluster: fake, user: kube-nftd}
users:
- name: kube-nftd
  user:
    $_user
EOF
}

# fake_start [OPTION...]: the fake API server in the namespace.
fake_start()
{
	rm -f fake.ready
	ip netns exec "$NS" "$KN_PYTHON" "$FAKE" serve --listen "${FAKE_LISTEN:-127.0.0.1:6443}" \
		--tls-cert "${FAKE_CERT:-server}.crt" --tls-key "${FAKE_CERT:-server}.key" \
		--client-ca client-ca.crt --token tok1 --control "$(pwd)/ctl.sock" \
		--log "$(pwd)/api.log" --state "$(pwd)/state.json" --ready-file "$(pwd)/fake.ready" \
		--bookmark-interval 1 "$@" >>fake.out 2>&1 &
	echo "$!" >fake.pid
	wait_for 10 "the fake API server to start" test -e fake.ready
}

fake_kill()
{
	kill -9 "$(cat fake.pid)" 2>/dev/null
	wait "$(cat fake.pid)" 2>/dev/null
	return 0
}

# ctl METHOD PATH [BODY]: the fake server's control interface.
ctl()
{
	"$KN_PYTHON" "$FAKE" ctl "$(pwd)/ctl.sock" "$@" >ctl.out 2>&1 ||
		atf_fail "control $*: $(cat ctl.out)"
}

fault()
{
	ctl POST /faults "$1"
}

# pod NAME IP [NODE]: create or update pod x/NAME.
pod()
{
	ctl POST /objects "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$1\",
\"namespace\":\"x\",\"labels\":{\"app\":\"$1\"}},\"spec\":{\"nodeName\":\"${3:-node1}\",
\"containers\":[{\"name\":\"c\"}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"$2\"}}"
}

seed()
{
	ctl POST /objects '{"apiVersion":"v1","kind":"List","items":[
{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}},
{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
 "metadata":{"name":"deny","namespace":"x"},"spec":{"podSelector":{}}}]}'
	pod a 10.0.0.1
	pod b 10.0.0.2
	pod c 10.0.1.3 node2
}

# daemon_start [OPTION...]: kube-nftd for node1, its log in daemon.log.
daemon_start()
{
	ip netns exec "$NS" env KUBE_NFTD_KUBE_TUNING="$TUNING" ${DAEMON_ENV:-} \
		"$KN_DAEMON" --config /dev/null --node node1 --source kube \
		--kubeconfig "$(pwd)/kubeconfig.yaml" --control-socket "$(pwd)/control" \
		--debounce-ms 5 "$@" >>daemon.log 2>&1 &
	echo "$!" >daemon.pid
}

# daemon_stop: SIGTERM; the daemon must exit 0 (under ASan: no leak, no
# error) and must not have died before.
daemon_stop()
{
	_pid=$(cat daemon.pid)
	kill -0 "$_pid" 2>/dev/null || { cat daemon.log >&2; atf_fail "kube-nftd died"; }
	kill -TERM "$_pid"
	wait "$_pid"
	_rc=$?
	rm -f daemon.pid
	if [ "$_rc" -ne 0 ] || grep -q 'Sanitizer' daemon.log; then
		cat daemon.log >&2
		atf_fail "kube-nftd exited with status $_rc"
	fi
}

# setup [kubeconfig-kind]: namespace, certificates, server, cluster, daemon,
# first commit; the ruleset is saved as good.nft.
setup()
{
	netns_new
	certs
	echo tok1 >token
	kubeconfig "${1:-token}"
	fake_start ${FAKE_OPTS:-}
	seed
	daemon_start
	wait_pod a
	wait_pod b
	snapshot
}

# ------------------------------------------------------------ checks

# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds.
wait_for()
{
	_limit=$(($1 * 10))
	_what=$2
	shift 2
	_i=0
	until "$@" >/dev/null 2>&1; do
		_i=$((_i + 1))
		if [ "$_i" -gt "$_limit" ]; then
			echo "--- daemon.log" >&2
			cat daemon.log >&2 2>/dev/null
			echo "--- fake.out" >&2
			tail -20 fake.out >&2 2>/dev/null
			atf_fail "no $_what after $(($_limit / 10)) s"
		fi
		sleep 0.1
	done
}

rules()
{
	ip netns exec "$NS" nft -s list table inet $TABLE 2>/dev/null
}

has_pod()
{
	rules | grep -q "comment \"x/$1\""
}

no_pod()
{
	! has_pod "$1"
}

wait_pod()
{
	wait_for 20 "pod x/$1 in the ruleset" has_pod "$1"
}

wait_no_pod()
{
	wait_for 20 "pod x/$1 out of the ruleset" no_pod "$1"
}

snapshot()
{
	rules >good.nft || atf_fail "no table inet $TABLE"
}

# kept: the table is the last good one.
kept()
{
	rules >now.nft
	if ! cmp -s good.nft now.nft; then
		diff -u good.nft now.nft >&2
		atf_fail "the ruleset changed while the API server failed"
	fi
	kill -0 "$(cat daemon.pid)" 2>/dev/null || { cat daemon.log >&2; atf_fail "kube-nftd died"; }
}

# recovered NAME IP: a pod created now is enforced.
recovered()
{
	pod "$1" "$2"
	wait_pod "$1"
}

# logged PATTERN [MAX]: the log says it, at least once and at most MAX
# times (default 1).
logged()
{
	_n=$(grep -c -- "$1" daemon.log)
	if [ "$_n" -lt 1 ] || [ "$_n" -gt "${2:-1}" ]; then
		cat daemon.log >&2
		atf_fail "expected '$1' in the log 1 to ${2:-1} times, found $_n"
	fi
}

# requests RESOURCE VERB [FILTER]: how many such requests api.log has.
requests()
{
	"$KN_PYTHON" - "$1" "$2" "${3:-}" <<'EOF'
import json, sys
res, verb, flt = sys.argv[1:]
n = 0
for line in open("api.log"):
    r = json.loads(line)
    if r.get("resource") != res or r.get("verb") != verb:
        continue
    q = r.get("query", {})
    if flt == "continue" and "continue" not in q:
        continue
    if flt == "first" and "continue" in q:
        continue
    if flt.isdigit() and r.get("status") != int(flt):
        continue
    n += 1
print(n)
EOF
}

status()
{
	ip netns exec "$NS" "$KN_NFTCTL" status --control-socket "$(pwd)/control"
}

# proxy_start: nghttpx, an HTTP/2 front (port 6444) for the fake server.
# Watches never end: allow a backend connection per stream.
proxy_start()
{
	rm -f proxy.pid
	ip netns exec "$NS" nghttpx --conf=/dev/null --frontend='127.0.0.1,6444' \
		--backend='127.0.0.1,6443;;tls' --insecure --workers=1 \
		--backend-connections-per-host=64 --backend-read-timeout=1h \
		--frontend-read-timeout=1h --stream-read-timeout=0 --no-ocsp \
		--accesslog-file="$(pwd)/access.log" --errorlog-file="$(pwd)/proxy.err" \
		--pid-file="$(pwd)/proxy.pid" --daemon "$(pwd)/server.key" "$(pwd)/server.crt" \
		</dev/null >/dev/null 2>&1 || atf_fail "nghttpx: $(cat proxy.err)"
	wait_for 10 "nghttpx to start" test -s proxy.pid
	wait_for 10 "nghttpx to listen" ip netns exec "$NS" sh -c \
		"ss -ltn | grep -q 127.0.0.1:6444"
}

proxy_kill()
{
	[ -f proxy.pid ] || return 0
	# The worker first (the master's child), then the master.
	pkill -9 -P "$(cat proxy.pid)" 2>/dev/null
	kill -9 "$(cat proxy.pid)" 2>/dev/null
	rm -f proxy.pid
	return 0
}

kube_cleanup()
{
	proxy_kill
	[ -f daemon.pid ] && kill -9 "$(cat daemon.pid)" 2>/dev/null
	[ -f fake.pid ] && kill -9 "$(cat fake.pid)" 2>/dev/null
	[ -f netns.name ] && ip netns del "$(cat netns.name)" 2>/dev/null
	return 0
}

# ------------------------------------------------------------ cases

atf_test_case sync_pages_and_events cleanup
sync_pages_and_events_head()
{
	common_head "Nothing is committed before every resource is listed; paged lists (with an expired continue token) and watch events reach the ruleset"
}
sync_pages_and_events_body()
{
	TUNING=$TUNING,page=2
	netns_new
	certs
	echo tok1 >token
	kubeconfig
	fake_start
	seed
	for i in 4 5 6 7 8; do
		pod "p$i" "10.0.0.$i"
	done
	# One resource cannot be listed: nothing may be committed.
	fault '{"resource":"endpointslices","verb":"list","status":503,"count":-1}'
	fault '{"resource":"pods","verb":"list","expire_continue":true}'
	daemon_start
	wait_for 10 "a 503 for endpointslices" grep -q "endpointslices: list: HTTP 503" daemon.log
	sleep 1
	rules >/dev/null && atf_fail "a table was committed before every resource was listed"
	status | grep -q "api sync: waiting" || atf_fail "status: $(status)"
	ctl DELETE /faults
	wait_pod a
	for i in 4 5 6 7 8; do
		has_pod "p$i" || atf_fail "pod x/p$i missing"
	done
	no_pod c || atf_fail "x/c runs on node2: not a local pod"
	logged "endpointslices: list: HTTP 503"
	logged "first commit"
	# Pages of 2: 7 pods need 4 pages; the expired token restarted the
	# list once; the other resources were listed once.
	[ "$(requests pods list 410)" = 1 ] || atf_fail "no 410 for the continue token"
	[ "$(requests pods list first)" = 2 ] || atf_fail "pods listed $(requests pods list first) times"
	[ "$(requests pods list continue)" -ge 4 ] || atf_fail "pods not paged"
	[ "$(requests namespaces list)" = 1 ] || atf_fail "namespaces listed more than once"

	# Events: add, change (leaves node1), delete.
	recovered d 10.0.0.40
	pod d 10.0.1.40 node2
	wait_no_pod d
	ctl DELETE /objects/pods/x/b
	wait_no_pod b
	has_pod a || atf_fail "x/a lost"
	# Watches renewed at timeoutSeconds from the last version: still one
	# list per resource (pods: two, because of the expired token).
	sleep 4
	[ "$(requests pods watch)" -ge 2 ] || atf_fail "the watch was not renewed"
	[ "$(requests namespaces list)" = 1 ] || atf_fail "a renewed watch relisted"
	status | grep -q "resource pods: watching; resourceVersion [0-9]" || atf_fail "status: $(status)"
	status | grep -q "api sync: every resource listed" || atf_fail "status: $(status)"
	daemon_stop
}
sync_pages_and_events_cleanup()
{
	kube_cleanup
}

atf_test_case server_killed_and_restarted cleanup
server_killed_and_restarted_head()
{
	common_head "The API server dies mid-stream and comes back: rules kept, watches resumed"
}
server_killed_and_restarted_body()
{
	setup
	fake_kill
	sleep 3
	kept
	logged "connection lost"
	logged "cannot connect"
	fake_start
	# The restarted server keeps its objects and versions: the daemon
	# watches on from where it was, without listing again.
	wait_for 10 "reconnection" grep -q "reachable again" daemon.log
	recovered d 10.0.0.40
	logged "reachable again"
	[ "$(requests pods list)" = 1 ] || atf_fail "pods listed again after a restart"
	daemon_stop
}
server_killed_and_restarted_cleanup()
{
	kube_cleanup
}

atf_test_case stream_closed_after_events cleanup
stream_closed_after_events_head()
{
	common_head "A watch cut after N events resumes from the last version received"
}
stream_closed_after_events_body()
{
	setup
	fault '{"resource":"pods","verb":"watch","close_after":2}'
	fault '{"resource":"pods","verb":"watch","close_after":1,"clean":true}'
	ctl POST /cut '{"resource":"pods"}'
	sleep 0.5
	for i in 4 5 6 7; do
		pod "p$i" "10.0.0.$i"
	done
	for i in 4 5 6 7; do
		wait_pod "p$i"
	done
	[ "$(requests pods list)" = 1 ] || atf_fail "a cut stream led to a relist"
	# Two cuts: the one that made room for the fault, and the fault's.
	logged "connection lost" 2
	daemon_stop
}
stream_closed_after_events_cleanup()
{
	kube_cleanup
}

# expire AS: the pods watch cannot see what happens next (new watches get
# 503, the open one is cut); x/b is deleted and the history compacted, so
# that only a relist can tell; then the server answers again.
expire_while_away()
{
	fault '{"resource":"pods","verb":"watch","status":503,"count":-1,"retry_after":1}'
	ctl POST /cut '{"resource":"pods"}'
	ctl DELETE /objects/pods/x/b
	ctl POST /expire "{\"resource\":\"pods\",\"as\":\"$1\"}"
	sleep 1
	kept
	ctl DELETE /faults
	wait_no_pod b
	has_pod a || atf_fail "x/a lost in the relist"
	logged "listing again"
	[ "$(requests pods list)" = 2 ] || atf_fail "pods listed $(requests pods list) times"
}

atf_test_case expired_as_event cleanup
expired_as_event_head()
{
	common_head "An ERROR event with a 410 Status leads to a relist that notices deletions"
}
expired_as_event_body()
{
	setup
	expire_while_away event
	grep -q '"fault":"expired (event)"' api.log || atf_fail "no 410 event was sent"
	recovered d 10.0.0.40
	daemon_stop
}
expired_as_event_cleanup()
{
	kube_cleanup
}

atf_test_case expired_as_status cleanup
expired_as_status_head()
{
	common_head "An HTTP 410 to a watch leads to a relist that notices deletions"
}
expired_as_status_body()
{
	setup
	expire_while_away status
	[ "$(requests pods watch 410)" -ge 1 ] || atf_fail "no HTTP 410 was sent"
	recovered d 10.0.0.40
	daemon_stop
}
expired_as_status_cleanup()
{
	kube_cleanup
}

atf_test_case unauthorized_until_token_rotated cleanup
unauthorized_until_token_rotated_head()
{
	common_head "401 until the token file is rotated; the new token is read without a restart"
}
unauthorized_until_token_rotated_body()
{
	setup
	# The server now wants tok2 only: every new request is refused.
	ctl POST /tokens '{"tokens":["tok2"]}'
	ctl POST /cut '{"resource":"pods"}'
	ctl POST /cut '{"resource":"namespaces"}'
	sleep 3
	kept
	logged "401 Unauthorized"
	# Rotated as the kubelet does it: a new file renamed over the old.
	echo tok2 >token.new
	mv token.new token
	recovered d 10.0.0.40
	logged "token file .* changed"
	logged "401 Unauthorized"
	[ "$(requests pods list)" = 1 ] || atf_fail "a 401 led to a relist"
	daemon_stop
}
unauthorized_until_token_rotated_cleanup()
{
	kube_cleanup
}

atf_test_case forbidden_resource cleanup
forbidden_resource_head()
{
	common_head "403 for one resource: a clear error naming the permission; the others are still served"
}
forbidden_resource_body()
{
	setup
	fault '{"resource":"networkpolicies","status":403,"count":-1}'
	ctl POST /cut '{"resource":"networkpolicies"}'
	sleep 2
	kept
	logged 'networkpolicies: 403 Forbidden: .*cannot watch resource "networkpolicies" in API group "networking.k8s.io".*kube-nftd needs permission to list and watch networkpolicies (API group "networking.k8s.io") cluster-wide'
	# Pods still flow, and the policies listed before still apply.
	recovered d 10.0.0.40
	status | grep -q "resource networkpolicies: waiting to retry.*403 Forbidden" ||
		atf_fail "status: $(status)"
	ctl DELETE /faults
	wait_for 10 "recovery" grep -q "networkpolicies: recovered" daemon.log
	ctl DELETE /objects/networkpolicies/x/deny
	wait_no_pod a
	logged "networkpolicies: 403"
	daemon_stop
}
forbidden_resource_cleanup()
{
	kube_cleanup
}

atf_test_case throttled_retry_after cleanup
throttled_retry_after_head()
{
	common_head "429 and 5xx with Retry-After: the daemon waits as long as asked"
}
throttled_retry_after_body()
{
	setup
	fault '{"resource":"pods","verb":"watch","status":429,"retry_after":2,"count":2}'
	fault '{"resource":"namespaces","verb":"watch","status":503,"retry_after":1,"count":2}'
	fault '{"resource":"serviceaccounts","verb":"watch","status":500,"count":2}'
	for r in pods namespaces serviceaccounts; do
		ctl POST /cut "{\"resource\":\"$r\"}"
	done
	sleep 1
	kept
	recovered d 10.0.0.40
	logged "pods: watch: HTTP 429 TooManyRequests"
	logged "namespaces: watch: HTTP 503 ServiceUnavailable"
	logged "serviceaccounts: watch: HTTP 500 InternalError"
	# Retry-After 2 for pods: no two pods requests closer than that
	# while the fault lasted (the backoff alone would retry in 100 ms).
	"$KN_PYTHON" - <<'EOF' || atf_fail "Retry-After not honoured"
import json
ts = [r["ts"] for r in map(json.loads, open("api.log"))
      if r.get("resource") == "pods" and r.get("verb") == "watch" and "status" in r]
st = [r["status"] for r in map(json.loads, open("api.log"))
      if r.get("resource") == "pods" and r.get("verb") == "watch" and "status" in r]
i = st.index(429)
gaps = [ts[j + 1] - ts[j] for j in (i, i + 1)]
print("gaps after 429:", gaps)
assert all(g >= 1.9 for g in gaps), gaps
EOF
	daemon_stop
}
throttled_retry_after_cleanup()
{
	kube_cleanup
}

atf_test_case stalled_stream cleanup
stalled_stream_head()
{
	common_head "A watch that sends nothing past its timeout is abandoned and renewed"
}
stalled_stream_body()
{
	setup
	fault '{"resource":"pods","verb":"watch","stall":true}'
	ctl POST /cut '{"resource":"pods"}'
	sleep 0.5
	pod d 10.0.0.40
	sleep 1
	kept
	# timeoutSeconds (at most 3 s) and 1 s of grace.
	wait_pod d
	logged "pods: watch stalled"
	[ "$(requests pods list)" = 1 ] || atf_fail "a stall led to a relist"
	daemon_stop
}
stalled_stream_cleanup()
{
	kube_cleanup
}

atf_test_case malformed_json cleanup
malformed_json_head()
{
	common_head "Malformed JSON in a watch: the stream is dropped and resumed from the last good version"
}
malformed_json_body()
{
	setup
	fault '{"resource":"pods","verb":"watch","inject":"{\"type\":\"ADDED\",\"object\":{\"metadata\":}}"}'
	ctl POST /cut '{"resource":"pods"}'
	sleep 1
	kept
	recovered d 10.0.0.40
	logged "pods: watch: malformed watch event"
	[ "$(requests pods list)" = 1 ] || atf_fail "malformed JSON led to a relist"
	daemon_stop
}
malformed_json_cleanup()
{
	kube_cleanup
}

atf_test_case unknown_event_type cleanup
unknown_event_type_head()
{
	common_head "An unknown watch event type is reported once and skipped; the stream goes on"
}
unknown_event_type_body()
{
	setup
	fault '{"resource":"pods","verb":"watch","inject":"{\"type\":\"SURPRISE\",\"object\":{\"metadata\":{\"name\":\"z\"}}}"}'
	fault '{"resource":"pods","verb":"watch","inject":"{\"type\":\"SURPRISE\",\"object\":{}}"}'
	ctl POST /cut '{"resource":"pods"}'
	sleep 1
	ctl POST /cut '{"resource":"pods"}'
	sleep 1
	kept
	recovered d 10.0.0.40
	logged "unknown watch event type 'SURPRISE' ignored"
	grep -q "pods: .*retrying" daemon.log && atf_fail "an unknown type counted as a failure"
	daemon_stop
}
unknown_event_type_cleanup()
{
	kube_cleanup
}

atf_test_case oversized_object cleanup
oversized_object_head()
{
	common_head "An object over the size limit is skipped and reported, in a watch and in a list"
}
oversized_object_body()
{
	setup
	# Pod x/big with a 5 MiB annotation, as a watch event.
	"$KN_PYTHON" - <<'EOF'
import json
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "big", "namespace": "x",
                    "annotations": {"blob": "x" * (5 << 20)}},
       "spec": {"nodeName": "node1", "containers": [{"name": "c"}]},
       "status": {"phase": "Running", "podIP": "10.0.0.50"}}
json.dump(pod, open("big.json", "w"))
EOF
	ctl POST /objects @big.json
	sleep 1
	kept
	logged "pods: Pod x/big: [0-9]* bytes, over the 4 MiB limit; left out until it shrinks"
	recovered d 10.0.0.40
	no_pod big || atf_fail "the oversized pod was enforced"
	# In a list: the pods are listed again after a 410.
	ctl POST /expire '{"resource":"pods","as":"event"}'
	wait_for 10 "the relist" grep -q "pods: listed" daemon.log
	wait_for 10 "the oversized pod in the list" grep -q "over the 4 MiB limit; skipped" daemon.log
	has_pod d || atf_fail "x/d lost in the relist"
	# Shrunk, it is enforced.
	pod big 10.0.0.50
	wait_pod big
	daemon_stop
}
oversized_object_cleanup()
{
	kube_cleanup
}

atf_test_case tls_certificate_not_verified cleanup
tls_certificate_not_verified_head()
{
	common_head "A server certificate that does not verify is refused and clearly logged"
}
tls_certificate_not_verified_body()
{
	setup
	fake_kill
	FAKE_CERT=bad-server fake_start
	sleep 3
	kept
	logged "TLS: the server's certificate does not verify against CA file .*ca.crt"
	grep -q '"event":"tls-handshake-failed"' api.log || atf_fail "no handshake was refused"
	grep -q '"auth":"token".*' api.log || atf_fail "no request before"
	# Nothing reached the impostor: its log has handshakes only.
	"$KN_PYTHON" - <<'EOF' || atf_fail "a request was sent to a server that did not verify"
import json
recs = [json.loads(l) for l in open("api.log")]
start = max(i for i, r in enumerate(recs) if r.get("event") == "started")
assert not any("method" in r for r in recs[start:]), recs[start:]
EOF
	fake_kill
	fake_start
	recovered d 10.0.0.40
	daemon_stop
}
tls_certificate_not_verified_cleanup()
{
	kube_cleanup
}

atf_test_case client_certificate cleanup
client_certificate_head()
{
	common_head "Client certificate authentication from kubeconfig data fields"
}
client_certificate_body()
{
	setup cert
	grep -q '"auth":"cert:client"' api.log || atf_fail "not authenticated by certificate"
	grep -q '"auth":"token"' api.log && atf_fail "a token was sent"
	recovered d 10.0.0.40
	daemon_stop
}
client_certificate_cleanup()
{
	kube_cleanup
}

atf_test_case streaming_list cleanup
streaming_list_head()
{
	common_head "Streaming lists where the server offers them, list and watch where it rejects them"
}
streaming_list_body()
{
	FAKE_OPTS=--streaming-lists setup
	[ "$(requests pods list)" = 0 ] || atf_fail "listed although streaming lists are served"
	grep -q '"sendInitialEvents":"true"' api.log || atf_fail "no streaming list"
	recovered d 10.0.0.40
	# After a 410 the relist streams again, and notices deletions.
	fault '{"resource":"pods","verb":"watch","status":503,"count":-1}'
	ctl POST /cut '{"resource":"pods"}'
	ctl DELETE /objects/pods/x/b
	ctl POST /expire '{"resource":"pods","as":"event"}'
	ctl DELETE /faults
	wait_no_pod b
	[ "$(requests pods list)" = 0 ] || atf_fail "listed although streaming lists are served"
	# A server that stops serving them (1.33): list and watch.
	ctl POST /streaming '{"enabled":false}'
	ctl POST /expire '{"resource":"pods","as":"event"}'
	wait_for 10 "list and watch" grep -q "does not serve streaming lists" daemon.log
	wait_for 10 "a pods list" test "$(requests pods list)" = 1
	recovered e 10.0.0.41
	daemon_stop
}
streaming_list_cleanup()
{
	kube_cleanup
}

atf_test_case in_cluster_ipv6 cleanup
in_cluster_ipv6_head()
{
	common_head "In-cluster configuration with an IPv6 service address and the mounted token"
}
in_cluster_ipv6_body()
{
	netns_new
	certs
	mkdir sa
	cp ca.crt sa/ca.crt
	echo tok1 >sa/token
	FAKE_LISTEN=[::]:6443 fake_start
	seed
	DAEMON_ENV="KUBERNETES_SERVICE_HOST=::1 KUBERNETES_SERVICE_PORT=6443 \
KUBE_NFTD_SERVICEACCOUNT_DIR=$(pwd)/sa"
	# No --source and no --kubeconfig: in a pod, kube is the default.
	ip netns exec "$NS" env KUBE_NFTD_KUBE_TUNING="$TUNING" $DAEMON_ENV \
		"$KN_DAEMON" --config /dev/null --node node1 \
		--control-socket "$(pwd)/control" >>daemon.log 2>&1 &
	echo "$!" >daemon.pid
	wait_pod a
	logged "API server https://\[::1\]:6443 (in-cluster configuration)"
	status | grep -q "^source: kube" || atf_fail "status: $(status)"
	daemon_stop
}
in_cluster_ipv6_cleanup()
{
	kube_cleanup
}

atf_test_case http2_one_connection cleanup
http2_one_connection_head()
{
	common_head "Over HTTP/2 every watch shares one connection; losing it is survived" \
		nghttpx ss
}
http2_one_connection_body()
{
	netns_new
	certs
	echo tok1 >token
	kubeconfig
	sed -i 's/:6443/:6444/' kubeconfig.yaml
	fake_start
	proxy_start
	seed
	daemon_start
	wait_pod a
	snapshot
	status | grep -q "^api server: .*HTTP/2)" || atf_fail "status: $(status)"
	_conns=$(ip netns exec "$NS" ss -tnH state established '( dport = :6444 )' | wc -l)
	[ "$_conns" = 1 ] || atf_fail "$_conns connections to the HTTP/2 server"
	grep -q 'HTTP/2" 200' access.log || atf_fail "no HTTP/2 request: $(head -3 access.log)"
	recovered d 10.0.0.40
	snapshot
	# The one connection dies: every watch fails at once, said once.
	proxy_kill
	sleep 2
	kept
	logged "cannot connect"
	proxy_start
	recovered e 10.0.0.41
	_conns=$(ip netns exec "$NS" ss -tnH state established '( dport = :6444 )' | wc -l)
	[ "$_conns" = 1 ] || atf_fail "$_conns connections to the HTTP/2 server after a restart"
	[ "$(requests pods list)" = 1 ] || atf_fail "pods listed again"
	daemon_stop
}
http2_one_connection_cleanup()
{
	kube_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case sync_pages_and_events
	atf_add_test_case server_killed_and_restarted
	atf_add_test_case stream_closed_after_events
	atf_add_test_case expired_as_event
	atf_add_test_case expired_as_status
	atf_add_test_case unauthorized_until_token_rotated
	atf_add_test_case forbidden_resource
	atf_add_test_case throttled_retry_after
	atf_add_test_case stalled_stream
	atf_add_test_case malformed_json
	atf_add_test_case unknown_event_type
	atf_add_test_case oversized_object
	atf_add_test_case tls_certificate_not_verified
	atf_add_test_case client_certificate
	atf_add_test_case streaming_list
	atf_add_test_case in_cluster_ipv6
	atf_add_test_case http2_one_connection
}
