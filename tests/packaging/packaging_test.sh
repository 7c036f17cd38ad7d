#! @ATF_SH@
#
# Packaging: the systemd unit, the man pages, the Debian and RPM packages,
# the Kubernetes manifests and the release tarball, each built and checked.
#
# The unit's sandbox is run for real under a private systemd started in
# fresh pid, mount, cgroup and network namespaces (tests/packaging/nsinit.sh):
# PID 1 of the test machine need not be systemd, and nothing of the host's
# own services, journal or network is touched.  Missing tools are installed
# with apt-get when running as root; a test case is skipped, saying why,
# only when that is impossible.

KN_TOP_SRCDIR=@TOP_SRCDIR@
KN_TOP_BUILDDIR=@TOP_BUILDDIR@
KN_PKG=$KN_TOP_SRCDIR/packaging
KN_KUBE_NFTD=$KN_TOP_BUILDDIR/src/kube-nftd
KN_KUBE_NFTCTL=$KN_TOP_BUILDDIR/src/kube-nftctl

# ------------------------------------------------------------ helpers

# The version AC_INIT declares in configure.ac.
kn_version()
{
	sed -n 's/^AC_INIT(\[kube-nftd\], *\[\([^]]*\)\].*/\1/p' "$KN_TOP_SRCDIR/configure.ac"
}

# want COMMAND PACKAGE: makes COMMAND available if possible, installing
# the Debian PACKAGE when it is missing and we are root.
want()
{
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq --no-install-recommends "$2" >>apt.log 2>&1 ||
			{ apt-get update -qq >>apt.log 2>&1 &&
				apt-get install -y -qq --no-install-recommends "$2" >>apt.log 2>&1; }
	fi
	command -v "$1" >/dev/null 2>&1
}

# need COMMAND PACKAGE: the same, skipping the test case when impossible.
need()
{
	want "$@" || atf_skip "$1 is missing and the package $2 could not be installed"
}

need_built()
{
	for f in "$@"; do
		[ -x "$f" ] || atf_fail "$f is missing: build the tree first"
	done
}

# differ WHAT EXPECTED ACTUAL: fails, showing both sets, when the two
# sorted lists differ.
differ()
{
	if [ "$2" != "$3" ]; then
		printf '%s\nexpected:\n%s\nactual:\n%s\n' "$1" "$2" "$3" >&2
		atf_fail "$1"
	fi
}

# make_tarball DIR: configures a private build tree in DIR and runs make
# dist there; prints the tarball's path.
make_tarball()
{
	mkdir -p "$1"
	(cd "$1" && "$KN_TOP_SRCDIR/configure" >configure.log 2>&1 &&
		make dist >dist.log 2>&1) || {
		tail -n 20 "$1/configure.log" "$1/dist.log" >&2
		return 1
	}
	ls "$1"/kube-nftd-*.tar.xz
}

# --------------------------------------------- a private systemd (sd_*)
#
# sd_start STAGEDIR boots systemd as PID 1 of new pid, mount and cgroup
# namespaces within a new network namespace; STAGEDIR/run/ is copied to its
# /run (drop-ins, test files).  sd CMD... runs a command in its mount, pid
# and network namespaces (systemctl, dpkg, nft).  sd_stop ends it and
# removes the namespaces and the cgroup.  The state files sd.* live in the
# test case's work directory, so that the cleanup part finds them.

sd_start()
{
	cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	if [ -z "$cg2" ]; then
		echo "no cgroup2 hierarchy is mounted" >sd.why
		return 1
	fi
	for p in unshare nsenter ip; do
		command -v "$p" >/dev/null 2>&1 || { echo "$p is missing" >sd.why; return 1; }
	done
	name=kn-pkg-$$
	own=$(sed -n 's|^0::||p' /proc/self/cgroup)
	cg=$cg2${own%/}/$name
	mkdir "$cg" || { echo "cannot create the cgroup $cg" >sd.why; return 1; }
	echo "$cg" >sd.cgroup
	ip netns add "$name" || { echo "cannot create a network namespace" >sd.why; return 1; }
	echo "$name" >sd.netns
	sh -c 'echo $$ >"$1/cgroup.procs" && exec ip netns exec "$2" \
		unshare --pid --fork --mount --cgroup --mount-proc sh "$3" "$4"' \
		sh "$cg" "$name" "$KN_TOP_SRCDIR/tests/packaging/nsinit.sh" "$1" \
		>sd.console 2>&1 &
	echo $! >sd.launcher
	# Up to 30 s for PID 1 to appear and finish starting.
	i=0
	state=
	while [ $i -lt 300 ] && kill -0 $! 2>/dev/null; do
		pid1=$(cat "/proc/$!/task/$!/children" 2>/dev/null | awk '{ print $1 }')
		if [ -n "$pid1" ] && [ -S "/proc/$pid1/root/run/systemd/private" ]; then
			echo "$pid1" >sd.pid1
			state=$(nsenter -t "$pid1" -m -p systemctl is-system-running 2>&1)
			case $state in
			running | degraded)
				SD="nsenter -t $pid1 -m -p -n --"
				return 0
				;;
			esac
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "the private systemd did not start: ${state:-no PID 1}; $(tail -3 sd.console)" |
		tr '\n' ' ' >sd.why
	return 1
}

# $SD (for atf_check) and sd run a command there.
sd()
{
	$SD "$@"
}

# sd_dpkg ARGS...: dpkg there; waits (up to 5 min) while another dpkg or
# apt of the machine holds the lock, and fails the test case on an error.
sd_dpkg()
{
	i=0
	while ! sd dpkg "$@" >dpkg.out 2>&1; do
		if grep -q 'lock' dpkg.out && [ $i -lt 150 ]; then
			sleep 2
			i=$((i + 1))
			continue
		fi
		cat dpkg.out >&2
		atf_fail "dpkg $*"
	done
}

# sd_show UNIT PROPERTY: one property of a unit.
sd_show()
{
	sd systemctl show -P "$2" "$1"
}

sd_stop()
{
	if [ -f sd.pid1 ]; then
		pid1=$(cat sd.pid1)
		nsenter -t "$pid1" -m -p systemctl exit >/dev/null 2>&1
	fi
	if [ -f sd.launcher ]; then
		launcher=$(cat sd.launcher)
		i=0
		while kill -0 "$launcher" 2>/dev/null && [ $i -lt 150 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		# Killing PID 1 of a pid namespace ends every process in it.
		[ -f sd.pid1 ] && kill -KILL "$(cat sd.pid1)" 2>/dev/null
		kill -KILL "$launcher" 2>/dev/null
		sleep 0.2
	fi
	[ -f sd.cgroup ] && find "$(cat sd.cgroup)" -depth -type d -exec rmdir {} \; 2>/dev/null
	[ -f sd.netns ] && ip netns del "$(cat sd.netns)" 2>/dev/null
	rm -f sd.pid1 sd.launcher sd.cgroup sd.netns
}

# stage_dropin DIR: the test's drop-in for kube-nftd.service.  It changes
# no sandbox setting: the unit is started alone (no sysinit.target, which
# would start the host's early-boot services), logs to a file instead of a
# journal, and pings the watchdog faster so that the test sees it work.
stage_dropin()
{
	mkdir -p "$1/run/systemd/system/kube-nftd.service.d"
	cat >"$1/run/systemd/system/kube-nftd.service.d/kn-test.conf" <<'EOF'
[Unit]
DefaultDependencies=no

[Service]
StandardOutput=append:/run/kn-test.log
StandardError=inherit
WatchdogSec=2s
EOF
}

# check_sandbox: the running daemon has exactly the credentials the unit
# promises.
check_sandbox()
{
	pid=$(sd_show kube-nftd.service MainPID)
	[ "$pid" -gt 0 ] || atf_fail "kube-nftd is not running"
	sd cat "/proc/$pid/status" >status
	uid=$(id -u kube-nftd)
	grep -q "^Uid:[[:space:]]*${uid}[[:space:]]" status || atf_fail "kube-nftd does not run as kube-nftd ($uid)"
	for set in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -q "^$set:[[:space:]]*0000000000001000\$" status ||
			atf_fail "$set is not CAP_NET_ADMIN alone: $(grep "^$set:" status)"
	done
	grep -q '^NoNewPrivs:[[:space:]]*1$' status || atf_fail "no_new_privs is not set"
	grep -q '^Seccomp:[[:space:]]*2$' status || atf_fail "no seccomp filter"
}

# control_status: what the control socket answers.
control_status()
{
	sd python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
' /run/kube-nftd/control
}

# wait_status PATTERN: waits up to 10 s for the unit's status text to
# match the extended regular expression PATTERN.
wait_status()
{
	i=0
	while [ $i -lt 100 ]; do
		sd_show kube-nftd.service StatusText | grep -Eq "$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	atf_fail "status never matched '$1': $(sd_show kube-nftd.service StatusText)"
}

has_table()
{
	sd nft list tables 2>/dev/null | grep -qx 'table inet kube-nftd'
}

# ------------------------------------------------------------ version

# machine_wide: the case changes machine-wide state (the user kube-nftd,
# an installed unit, the package): it waits until no other such case
# runs (kyua runs cases in parallel; its exclusive cases are not
# available to ATF programs).  The lock goes with the body's process.
machine_wide()
{
	exec 9>/run/lock/kube-nftd-packaging-tests.lock
	flock 9 || atf_fail "cannot take the packaging tests' lock"
}

atf_test_case version
version_head()
{
	atf_set descr "Both binaries and every package report the version of configure.ac"
}
version_body()
{
	need_built "$KN_KUBE_NFTD" "$KN_KUBE_NFTCTL"
	v=$(kn_version)
	[ -n "$v" ] || atf_fail "no version in configure.ac"
	atf_check -o inline:"kube-nftd $v\n" "$KN_KUBE_NFTD" --version
	atf_check -o inline:"kube-nftd $v\n" "$KN_KUBE_NFTD" -V
	atf_check -o inline:"kube-nftctl $v\n" "$KN_KUBE_NFTCTL" --version
	atf_check -o inline:"kube-nftctl $v\n" "$KN_KUBE_NFTCTL" version
	deb=$(sed -n '1s/^kube-nftd (\([^)]*\)).*/\1/p' "$KN_PKG/debian/changelog")
	differ "packaging/debian/changelog" "$v" "${deb%-*}"
	rpm=$(sed -n 's/^Version:[[:space:]]*//p' "$KN_PKG/rpm/kube-nftd.spec")
	differ "packaging/rpm/kube-nftd.spec" "$v" "$rpm"
	image=$(sed -n 's/^[[:space:]]*image: kube-nftd:\(.*\)$/\1/p' "$KN_PKG/kubernetes/daemonset.yaml")
	differ "the DaemonSet's image tag" "$v" "$image"
	grep -q "^ARG VERSION=$v\$" "$KN_PKG/kubernetes/Containerfile" ||
		atf_fail "packaging/kubernetes/Containerfile does not build $v"
}

atf_test_case build_deps
build_deps_head()
{
	atf_set descr "The packages build-depend on every library configure.ac checks for, at its minimum version"
}
build_deps_body()
{
	# pkg-config module, Debian -dev package.
	cat >debmap <<'EOF'
libnftnl libnftnl-dev
libmnl libmnl-dev
jansson libjansson-dev
yaml-0.1 libyaml-dev
libcurl libcurl4-openssl-dev
atf-c libatf-dev
EOF
	sed -n 's/.*PKG_CHECK_MODULES(\[[A-Z_]*\], *\[\([^ ]*\) >= \([^]]*\)\]).*/\1 \2/p' \
		"$KN_TOP_SRCDIR/configure.ac" >modules
	[ -s modules ] || atf_fail "no PKG_CHECK_MODULES in configure.ac"
	control=$KN_PKG/debian/control
	spec=$KN_PKG/rpm/kube-nftd.spec
	while read -r mod ver; do
		deb=$(awk -v m="$mod" '$1 == m { print $2 }' debmap)
		[ -n "$deb" ] ||
			atf_fail "configure.ac checks for $mod: add it to packaging/debian/control, the spec and this test"
		grep -Eq "^[[:space:]]*(Build-Depends:)?[[:space:]]*$deb \(>= $ver\)" "$control" ||
			atf_fail "packaging/debian/control lacks $deb (>= $ver)"
		[ "$mod" = atf-c ] && continue # the RPM is built without the tests
		grep -Eq "^BuildRequires:[[:space:]]+pkgconfig\($mod\) >= $ver\$" "$spec" ||
			atf_fail "kube-nftd.spec lacks BuildRequires: pkgconfig($mod) >= $ver"
	done <modules
}

# ------------------------------------------------------------ man pages

# help_options BINARY: the long options its --help names.
help_options()
{
	"$1" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

# man_section PAGE NAME: the text of one section, rendered by mandoc.
man_section()
{
	mandoc -Tmarkdown "$1" | awk -v s="# $2" '$0 == s { f = 1; next } /^# / { f = 0 } f'
}

# man_options PAGE: the long options the OPTIONS section describes (its
# tags); man_mentioned PAGE: every long option that section names.
man_options()
{
	man_section "$1" OPTIONS | grep '^\*\*-' | grep -o -- '\*\*--[a-z][a-z0-9-]*\*\*' |
		tr -d '*' | sort -u
}
man_mentioned()
{
	man_section "$1" OPTIONS | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

atf_test_case manpages
manpages_head()
{
	atf_set descr "The man pages are lint-clean and describe exactly the options of --help"
}
manpages_body()
{
	need mandoc mandoc
	need_built "$KN_KUBE_NFTD" "$KN_KUBE_NFTCTL"
	docs=$KN_TOP_SRCDIR/docs
	for page in kube-nftd.8 kube-nftctl.8 kube-nftd.conf.5; do
		atf_check -o empty -e empty mandoc -Tlint -W warning "$docs/$page"
	done

	for prog in kube-nftd kube-nftctl; do
		help_options "$KN_TOP_BUILDDIR/src/$prog" >help.$prog
		[ -s help.$prog ] || atf_fail "$prog --help names no option"
		man_options "$docs/$prog.8" >man.$prog
		man_mentioned "$docs/$prog.8" >mentioned.$prog
		missing=$(comm -23 help.$prog man.$prog)
		[ -z "$missing" ] || atf_fail "$prog(8) does not describe: $(echo $missing)"
		extra=$(comm -13 help.$prog mentioned.$prog)
		[ -z "$extra" ] || atf_fail "$prog(8) describes options $prog does not have: $(echo $extra)"
	done

	# The configuration file takes every long option of kube-nftd but
	# --config, --help and --version; kube-nftd.conf(5) and the default
	# configuration file list exactly those.
	grep -v -x -e --config -e --help -e --version help.kube-nftd | sed 's/^--//' >settings
	man_section "$docs/kube-nftd.conf.5" SETTINGS |
		sed -n 's/^\*\*\([a-z][a-z0-9-]*\)\*\* = .*/\1/p' | sort -u >settings.man
	differ "kube-nftd.conf(5) settings" "$(cat settings)" "$(cat settings.man)"
	sed -n 's/^#\([a-z][a-z0-9-]*\) = .*/\1/p' "$KN_PKG/kube-nftd.conf" | sort -u >settings.conf
	differ "packaging/kube-nftd.conf settings" "$(cat settings)" "$(cat settings.conf)"

	# The unit's Documentation= pages exist.
	for m in $(sed -n 's/^Documentation=//p' "$KN_PKG/systemd/kube-nftd.service"); do
		case $m in
		man:*) page=${m#man:} ;;
		*) continue ;;
		esac
		name=${page%(*}
		section=${page#*(}
		section=${section%)}
		[ -f "$docs/$name.$section" ] || atf_fail "the unit names $m, which does not exist"
	done
}

# ------------------------------------------------------------ systemd unit

atf_test_case systemd_unit
systemd_unit_head()
{
	atf_set descr "The unit passes systemd-analyze verify and scores at most 2.0 in systemd-analyze security"
}
systemd_unit_body()
{
	need systemd-analyze systemd
	need_built "$KN_KUBE_NFTD"
	unit=$KN_PKG/systemd/kube-nftd.service

	for setting in Type=notify WatchdogSec= Restart=on-failure \
		'ExecReload=/bin/kill -HUP $MAINPID' 'EnvironmentFile=-/etc/default/kube-nftd' \
		'ExecStart=/usr/sbin/kube-nftd $OPTIONS' User=kube-nftd \
		AmbientCapabilities=CAP_NET_ADMIN CapabilityBoundingSet=CAP_NET_ADMIN \
		NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
		RuntimeDirectory=kube-nftd \
		'RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6' \
		SystemCallFilter=@system-service; do
		awk -v s="$setting" 'index($0, s) == 1 { f = 1 } END { exit !f }' "$unit" ||
			atf_fail "the unit lacks $setting"
	done

	# verify checks that ExecStart= names an executable: point it at the
	# build.  The man pages are not installed here (--man=no); the package
	# test verifies the installed unit with them.
	mkdir unit
	sed "s|^ExecStart=/usr/sbin/kube-nftd|ExecStart=$KN_KUBE_NFTD|" "$unit" >unit/kube-nftd.service
	atf_check -o empty -e empty systemd-analyze verify --man=no "$PWD/unit/kube-nftd.service"

	systemd-analyze security --offline=true "$unit" >security.out 2>&1 ||
		{ cat security.out >&2; atf_fail "systemd-analyze security failed"; }
	line=$(grep 'Overall exposure level for kube-nftd.service' security.out)
	echo "$line"
	score=$(echo "$line" | sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\1/p')
	verdict=$(echo "$line" | sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\2/p')
	[ -n "$score" ] || { cat security.out >&2; atf_fail "no exposure level"; }
	awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
		{ cat security.out >&2; atf_fail "exposure $score is above 2.0"; }
	[ "$verdict" = OK ] || atf_fail "exposure verdict is $verdict, not OK"
}

atf_test_case systemd_live cleanup
systemd_live_head()
{
	atf_set descr "The daemon works under the unit's sandbox: READY, watchdog, reload, restart, stop keeps the ruleset"
	atf_set require.user root
	atf_set timeout 300
}
systemd_live_body()
{
	machine_wide
	need systemd-analyze systemd
	need nft nftables
	need python3 python3
	need_built "$KN_KUBE_NFTD"
	if [ -e /lib/systemd/system/kube-nftd.service ] || [ -e /etc/systemd/system/kube-nftd.service ]; then
		atf_skip "a kube-nftd unit is installed on this machine; not running a second one"
	fi
	if ! getent passwd kube-nftd >/dev/null; then
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin kube-nftd || atf_fail "cannot create the user kube-nftd"
		touch created-user
	fi

	# The unit as shipped, started from the runtime unit directory, with
	# the built daemon copied to /run (a build under /home or /root would
	# be hidden by ProtectHome= or unreadable to the user).
	stage=$PWD/stage
	mkdir -p "$stage/run/systemd/system" "$stage/run/kn-test/manifests"
	sed "s|^ExecStart=/usr/sbin/kube-nftd|ExecStart=/run/kn-test/kube-nftd|" \
		"$KN_PKG/systemd/kube-nftd.service" >"$stage/run/systemd/system/kube-nftd.service"
	cp "$KN_KUBE_NFTD" "$stage/run/kn-test/kube-nftd"
	chmod 0755 "$stage/run/kn-test" "$stage/run/kn-test/kube-nftd"
	cp "$KN_TOP_SRCDIR/tests/golden/basic.yaml" "$stage/run/kn-test/manifests/"
	chmod -R a+rX "$stage/run/kn-test"
	stage_dropin "$stage"
	cat >>"$stage/run/systemd/system/kube-nftd.service.d/kn-test.conf" <<'EOF'
Environment="OPTIONS=--config /dev/null --node node1 --source dir:/run/kn-test/manifests --control-socket /run/kube-nftd/control --metrics-file /run/kube-nftd/metrics.prom"
EOF
	# A sanitizer build: LeakSanitizer needs ptrace at exit, which the
	# unit's system call filter rightly forbids.  Leaks are the other
	# tests' business.
	if ldd "$KN_KUBE_NFTD" 2>/dev/null | grep -q libasan; then
		echo 'Environment=ASAN_OPTIONS=detect_leaks=0' \
			>>"$stage/run/systemd/system/kube-nftd.service.d/kn-test.conf"
	fi
	sd_start "$stage" || atf_skip "cannot run a private systemd: $(cat sd.why)"

	# Type=notify: start returns once the first commit succeeded.
	sd systemctl start kube-nftd.service ||
		{ sd cat /run/kn-test.log >&2; atf_fail "the unit did not start"; }
	atf_check -o inline:"active\n" $SD systemctl is-active kube-nftd.service
	wait_status '^enforcing 1 pods, 2 policies; 1 commits'
	check_sandbox
	has_table || atf_fail "no table inet kube-nftd after the start"
	control_status >status.txt
	grep -qx 'state: synced' status.txt || { cat status.txt >&2; atf_fail "control socket"; }
	sd grep -qx 'kube_nftd_commits_total 1' /run/kube-nftd/metrics.prom ||
		atf_fail "no metrics in /run/kube-nftd"

	# The watchdog (2 s here) is fed: after 5 s, still the same process.
	pid=$(sd_show kube-nftd.service MainPID)
	sleep 5
	differ "main PID after 5 s of watchdog" "$pid" "$(sd_show kube-nftd.service MainPID)"
	differ "restarts" 0 "$(sd_show kube-nftd.service NRestarts)"

	# ExecReload: SIGHUP commits again, same process.
	atf_check $SD systemctl reload kube-nftd.service
	wait_status '; 2 commits'
	differ "main PID after reload" "$pid" "$(sd_show kube-nftd.service MainPID)"

	# Stop leaves the ruleset in place; a restart replaces it.
	atf_check $SD systemctl stop kube-nftd.service
	has_table || atf_fail "stopping the service removed the ruleset"
	sd grep -q 'leaving table inet kube-nftd in place' /run/kn-test.log ||
		atf_fail "the daemon did not say it left the table"
	atf_check $SD systemctl restart kube-nftd.service
	wait_status '^enforcing 1 pods'
	atf_check $SD systemctl stop kube-nftd.service
	failed=$(sd systemctl list-units --failed --plain --no-legend)
	[ -z "$failed" ] || { sd cat /run/kn-test.log >&2; atf_fail "failed units: $failed"; }
	sd_stop
}
systemd_live_cleanup()
{
	sd_stop
	[ -f created-user ] && userdel kube-nftd 2>/dev/null
	getent group kube-nftd >/dev/null && [ -f created-user ] && groupdel kube-nftd 2>/dev/null
	true
}

# ------------------------------------------------------------ Kubernetes

atf_test_case kubernetes
kubernetes_head()
{
	atf_set descr "The manifests parse; the ClusterRole grants get/list/watch on exactly what kube-nftd watches"
}
kubernetes_body()
{
	need python3 python3
	need_built "$KN_TOP_BUILDDIR/tests/packaging/yaml2json"
	atf_check -o save:objects.json "$KN_TOP_BUILDDIR/tests/packaging/yaml2json" \
		"$KN_PKG"/kubernetes/*.yaml
	atf_check -o ignore python3 - objects.json <<'EOF'
import json, sys

objs = json.load(open(sys.argv[1]))
def fail(msg):
    sys.exit("packaging/kubernetes: " + msg)
def one(kind):
    found = [o for o in objs if o.get("kind") == kind]
    if len(found) != 1:
        fail("expected one %s, found %d" % (kind, len(found)))
    return found[0]

kinds = sorted(o.get("kind") for o in objs)
if kinds != ["ClusterRole", "ClusterRoleBinding", "DaemonSet", "ServiceAccount"]:
    fail("unexpected objects: %s" % kinds)

# The ClusterRole: get, list and watch, on exactly these resources.
want = {("", r) for r in ("pods", "namespaces", "serviceaccounts", "services")}
want |= {("networking.k8s.io", "networkpolicies"), ("discovery.k8s.io", "endpointslices")}
want |= {("rbac.authorization.k8s.io", r)
         for r in ("roles", "clusterroles", "rolebindings", "clusterrolebindings")}
role = one("ClusterRole")
got = set()
for rule in role["rules"]:
    if sorted(rule) != ["apiGroups", "resources", "verbs"]:
        fail("rule with %s" % sorted(rule))
    if sorted(rule["verbs"]) != ["get", "list", "watch"]:
        fail("verbs %s" % rule["verbs"])
    for g in rule["apiGroups"]:
        for r in rule["resources"]:
            if "*" in (g, r) or "/" in r:
                fail("wildcard or subresource %s/%s" % (g, r))
            got.add((g, r))
if got != want:
    fail("ClusterRole: missing %s, extra %s" % (sorted(want - got), sorted(got - want)))

sa = one("ServiceAccount")
binding = one("ClusterRoleBinding")
if binding["roleRef"] != {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                          "name": role["metadata"]["name"]}:
    fail("the binding does not grant the ClusterRole")
if binding["subjects"] != [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                            "namespace": sa["metadata"]["namespace"]}]:
    fail("the binding is not for the ServiceAccount alone")

# The DaemonSet: host network, NET_ADMIN alone, read-only root, non-root.
ds = one("DaemonSet")
pod = ds["spec"]["template"]["spec"]
if ds["metadata"]["namespace"] != sa["metadata"]["namespace"]:
    fail("the DaemonSet and its ServiceAccount are in different namespaces")
if pod.get("serviceAccountName") != sa["metadata"]["name"]:
    fail("the DaemonSet does not use the ServiceAccount")
if pod.get("hostNetwork") is not True:
    fail("hostNetwork is not true")
if pod.get("hostPID") or pod.get("hostIPC") or pod.get("volumes", []) and \
        any("hostPath" in v for v in pod["volumes"]):
    fail("the pod shares more of the host than its network")
psc = pod.get("securityContext", {})
if psc.get("runAsNonRoot") is not True or not psc.get("runAsUser"):
    fail("the pod does not run as a non-root user")
if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
    fail("no RuntimeDefault seccomp profile")
if len(pod["containers"]) != 1 or pod.get("initContainers"):
    fail("expected one container")
c = pod["containers"][0]
sc = c["securityContext"]
if sc.get("privileged") or sc.get("readOnlyRootFilesystem") is not True:
    fail("privileged, or the root file system is writable")
if sc.get("allowPrivilegeEscalation") is not False:
    fail("allowPrivilegeEscalation is not false")
if sc.get("capabilities") != {"drop": ["ALL"], "add": ["NET_ADMIN"]}:
    fail("capabilities are not NET_ADMIN alone: %s" % sc.get("capabilities"))
mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
if "/run/kube-nftd" not in mounts:
    fail("no writable /run/kube-nftd for the control socket")
print("ok")
EOF
}

atf_test_case file_capability cleanup
file_capability_head()
{
	atf_set descr "As the DaemonSet runs it: non-root, no_new_privs, CAP_NET_ADMIN from a file capability"
	atf_set require.user root
}
file_capability_body()
{
	machine_wide
	need setcap libcap2-bin
	need setpriv util-linux
	need nft nftables
	need_built "$KN_KUBE_NFTCTL"
	cp "$KN_KUBE_NFTCTL" ./plain
	cp "$KN_KUBE_NFTCTL" ./kube-nftctl
	chmod 0755 . ./plain ./kube-nftctl
	setcap cap_net_admin=ep ./kube-nftctl ||
		atf_skip "this file system does not keep file capabilities"
	ip netns add "kn-cap-$$" || atf_fail "cannot create a network namespace"
	echo "kn-cap-$$" >netns
	basic=$KN_TOP_SRCDIR/tests/golden/basic.yaml
	# What containerd and CRI-O do for the DaemonSet's container: switch
	# to uid 65532 with NET_ADMIN alone bounding and permitted, set
	# no_new_privs (allowPrivilegeEscalation: false), exec the entrypoint.
	set -- ip netns exec "kn-cap-$$" setpriv --reuid=65532 --regid=65532 --clear-groups \
		--inh-caps=-all --bounding-set=-all,+net_admin --no-new-privs
	# Without the file capability the added capability is lost at exec.
	atf_check -s exit:1 -o ignore -e match:'Operation not permitted' \
		"$@" ./plain apply --node node1 "$basic"
	# With it, the daemon's user holds CAP_NET_ADMIN.
	atf_check -o ignore -e ignore "$@" ./kube-nftctl apply --node node1 "$basic"
	atf_check -o match:'table inet kube-nftd' ip netns exec "kn-cap-$$" nft list tables
	# A runtime that clears the permitted set before the exec (Docker
	# Engine) loses it under no_new_privs: the DaemonSet's comment says so.
	atf_check -s exit:1 -o ignore -e match:'Operation not permitted' \
		"$@" sh -c './kube-nftctl flush'
}
file_capability_cleanup()
{
	[ -f netns ] && ip netns del "$(cat netns)" 2>/dev/null
	true
}

# ------------------------------------------------------------ tarball

atf_test_case dist
dist_head()
{
	atf_set descr "make dist is reproducible: two build trees, umasks and times give the same bytes"
	atf_set timeout 300
}
dist_body()
{
	t1=$(umask 022 && make_tarball "$PWD/a") || atf_fail "make dist failed"
	sleep 1
	t2=$(umask 002 && make_tarball "$PWD/b") || atf_fail "make dist failed"
	s1=$(sha256sum <"$t1")
	s2=$(sha256sum <"$t2")
	if [ "$s1" != "$s2" ]; then
		tar -tvf "$t1" >a.list
		tar -tvf "$t2" >b.list
		diff a.list b.list | head -20 >&2
		atf_fail "two make dist runs gave different tarballs"
	fi
	echo "$(basename "$t1"): $s1"
	v=$(kn_version)
	[ "$(basename "$t1")" = "kube-nftd-$v.tar.xz" ] || atf_fail "tarball name $(basename "$t1")"
	tar -tf "$t1" >list
	for f in configure docs/kube-nftd.8 docs/kube-nftd.conf.5 docs/kube-nftctl.8 \
		packaging/systemd/kube-nftd.service packaging/kube-nftd.conf \
		packaging/kube-nftd.default packaging/debian/control packaging/debian/rules \
		packaging/rpm/kube-nftd.spec packaging/kubernetes/daemonset.yaml \
		scripts/build-deb scripts/build-rpm tests/packaging/packaging_test.sh \
		tests/packaging/nsinit.sh; do
		grep -qx "kube-nftd-$v/$f" list || atf_fail "the tarball lacks $f"
	done
	# Owner, group and time are the same for every member.
	tar -tvf "$t1" | awk '{ print $2, $4, $5 }' | sort -u >meta
	[ "$(wc -l <meta)" -eq 1 ] || { cat meta >&2; atf_fail "members differ in owner or time"; }
	grep -q '^0/0 ' meta || atf_fail "members are not owned by 0/0"
}

# ------------------------------------------------------------ Debian

atf_test_case deb cleanup
deb_head()
{
	atf_set descr "The .deb builds, is lintian-clean, installs, runs under systemd, upgrades by restarting, and purges without a trace"
	atf_set require.user root
	atf_set timeout 900
}
deb_body()
{
	machine_wide
	if dpkg-query -W -f='${Status}' kube-nftd 2>/dev/null | grep -q 'ok installed'; then
		atf_skip "kube-nftd is installed on this machine; not touching it"
	fi
	getent passwd kube-nftd >/dev/null &&
		atf_skip "a user kube-nftd exists on this machine; the package would adopt it"
	need dpkg-buildpackage dpkg-dev
	need dh debhelper
	need lintian lintian
	need systemd-analyze systemd
	need nft nftables
	need_built "$KN_KUBE_NFTCTL"

	start=$(date +%s)
	mkdir debs
	# The unit tests run in this suite already: build without them.
	DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" DEB_BUILD_PROFILES=nocheck \
		"$KN_TOP_SRCDIR/scripts/build-deb" "$PWD/debs" >deb.path 2>build.err ||
		{ cat build.err >&2; atf_fail "scripts/build-deb failed"; }
	deb=$(cat deb.path)
	echo "built $(basename "$deb") in $(($(date +%s) - start)) s"

	# lintian: no error, no warning.  Overrides need a comment saying why.
	lintian --fail-on error,warning "$deb" >lintian.out 2>&1 ||
		{ cat lintian.out >&2; atf_fail "lintian"; }
	grep -E '^[EW]:' lintian.out && atf_fail "lintian reports errors or warnings"
	for o in "$KN_PKG"/debian/*lintian-overrides; do
		[ -f "$o" ] || continue
		awk '/^#/ { c = 1; next } /^[^[:space:]]/ { if (!c) { print; bad = 1 } next }
			/^$/ { c = 0 } END { exit bad }' "$o" || atf_fail "$o: an override without a comment"
	done

	# Contents.
	dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' | sort >contents
	for f in /usr/sbin/kube-nftd /usr/sbin/kube-nftctl /lib/systemd/system/kube-nftd.service \
		/etc/kube-nftd/kube-nftd.conf /etc/kube-nftd/manifests /etc/default/kube-nftd \
		/usr/share/man/man8/kube-nftd.8.gz /usr/share/man/man8/kube-nftctl.8.gz \
		/usr/share/man/man5/kube-nftd.conf.5.gz /usr/share/doc/kube-nftd/copyright; do
		grep -qx "$f" contents || atf_fail "the package lacks $f"
	done
	dpkg-deb -e "$deb" ctrl
	atf_check -o inline:"/etc/default/kube-nftd\n/etc/kube-nftd/kube-nftd.conf\n" sort ctrl/conffiles

	# Upgrades restart the service in one step: postinst restarts when
	# upgrading, prerm stops only on removal.
	grep -q '_dh_action=restart' ctrl/postinst || atf_fail "postinst does not restart on upgrade"
	grep -q 'deb-systemd-invoke stop' ctrl/prerm || atf_fail "prerm does not stop on removal"
	awk '/deb-systemd-invoke stop/ && !guarded { exit 1 }
		/"\$1" = remove/ { guarded = 1 }' ctrl/prerm || atf_fail "prerm stops the service on upgrade"

	# Install, upgrade and purge under a private systemd, so that the
	# maintainer scripts really start, restart and stop the service.
	stage=$PWD/stage
	mkdir -p "$stage/run"
	stage_dropin "$stage"
	live=yes
	sd_start "$stage" || {
		live=no
		echo "not running the service: cannot start a private systemd: $(cat sd.why)" >&2
		# Without it the maintainer scripts see no systemd and leave the
		# service alone; install in a network namespace anyway.
		sd_stop
		ip netns add "kn-pkg-$$" && echo "kn-pkg-$$" >sd.netns
		SD="ip netns exec kn-pkg-$$"
	}
	echo "$deb" >installed
	sd_dpkg -i "$deb"
	id kube-nftd >/dev/null || atf_fail "postinst did not create the user kube-nftd"
	atf_check -o inline:"kube-nftd $(kn_version)\n" /usr/sbin/kube-nftd --version
	# The installed kube-nftctl compiles what the one of the build tree
	# does (both come from the same sources).
	"$KN_KUBE_NFTCTL" compile --node node1 "$KN_TOP_SRCDIR/tests/golden/basic.yaml" >basic.nft ||
		atf_fail "the build's kube-nftctl cannot compile basic.yaml"
	atf_check -o file:basic.nft \
		/usr/sbin/kube-nftctl compile --node node1 "$KN_TOP_SRCDIR/tests/golden/basic.yaml"
	grep -q 'table inet kube-nftd' basic.nft || atf_fail "no table in the compiled ruleset"
	atf_check -o ignore man -w kube-nftd.conf
	atf_check -o empty -e empty systemd-analyze verify /lib/systemd/system/kube-nftd.service

	if [ $live = yes ]; then
		# postinst enabled and started it, with the default configuration.
		atf_check -o inline:"enabled\n" $SD systemctl is-enabled kube-nftd.service
		atf_check -o inline:"active\n" $SD systemctl is-active kube-nftd.service
		check_sandbox
		has_table || atf_fail "no table after the installation"
		# The operator configures the node: every setting of the
		# default file uncommented, as shown, and the node named.
		sed -e 's/^#\([a-z]\)/\1/' -e 's/^node = .*/node = node1/' \
			/etc/kube-nftd/kube-nftd.conf >conf.new
		cat conf.new >/etc/kube-nftd/kube-nftd.conf
		cp "$KN_TOP_SRCDIR/tests/golden/basic.yaml" /etc/kube-nftd/manifests/
		atf_check $SD systemctl reload kube-nftd.service
		wait_status '^enforcing 1 pods, 2 policies'
		sd test -s /run/kube-nftd/metrics.prom || atf_fail "no metrics file"

		# Upgrade (the same version again): one restart, the ruleset in
		# place throughout.
		pid=$(sd_show kube-nftd.service MainPID)
		sd_dpkg -i "$deb"
		atf_check -o inline:"active\n" $SD systemctl is-active kube-nftd.service
		[ "$(sd_show kube-nftd.service MainPID)" != "$pid" ] ||
			atf_fail "the upgrade did not restart the service"
		wait_status '^enforcing 1 pods, 2 policies'
		sd grep -q 'leaving table inet kube-nftd in place' /run/kn-test.log ||
			atf_fail "the old daemon did not leave its table"
		failed=$(sd systemctl list-units --failed --plain --no-legend)
		[ -z "$failed" ] || { sd cat /run/kn-test.log >&2; atf_fail "failed units: $failed"; }
	else
		sd /usr/sbin/kube-nftctl apply --node node1 "$KN_TOP_SRCDIR/tests/golden/basic.yaml" ||
			atf_fail "the installed kube-nftctl cannot apply"
	fi
	has_table || atf_fail "no table before the purge"

	# Purge: the operator's manifests are the operator's; everything the
	# package brought goes, with the user and the ruleset.
	rm -f /etc/kube-nftd/manifests/basic.yaml
	sd_dpkg --purge kube-nftd
	rm -f installed
	has_table && atf_fail "the ruleset survived the purge"
	if [ $live = yes ]; then
		sd systemctl is-active kube-nftd.service >state 2>&1
		grep -qx inactive state || atf_fail "the service is $(cat state) after the purge"
	fi
	atf_check -s not-exit:0 -o ignore -e ignore dpkg -L kube-nftd
	dpkg-query -W -f='${Status}\n' kube-nftd 2>/dev/null | grep -q installed &&
		atf_fail "dpkg still knows kube-nftd"
	[ -e /etc/kube-nftd ] && atf_fail "/etc/kube-nftd is left: $(find /etc/kube-nftd)"
	while read -r f; do
		[ -d "$f" ] && continue
		[ -e "$f" ] && atf_fail "$f is left"
	done <contents
	left=$(find /etc/systemd/system /etc/default /lib/systemd/system -name 'kube-nftd*' 2>/dev/null)
	[ -z "$left" ] || atf_fail "left behind: $left"
	getent passwd kube-nftd >/dev/null && atf_fail "the user kube-nftd is left"
	getent group kube-nftd >/dev/null && atf_fail "the group kube-nftd is left"
	sd_stop
	echo "whole test case: $(($(date +%s) - start)) s"
}
deb_cleanup()
{
	if [ -f installed ]; then
		rm -f /etc/kube-nftd/manifests/basic.yaml
		if [ -f sd.pid1 ]; then
			nsenter -t "$(cat sd.pid1)" -m -p -n -- dpkg --purge kube-nftd >/dev/null 2>&1
		fi
		dpkg --purge kube-nftd >/dev/null 2>&1
	fi
	sd_stop
	true
}

# ------------------------------------------------------------ RPM

atf_test_case rpm
rpm_head()
{
	atf_set descr "The binary RPM builds with rpmbuild and holds exactly the expected files and scriptlets"
	atf_set timeout 600
}
rpm_body()
{
	need rpmbuild rpm
	need file file
	start=$(date +%s)
	mkdir rpms
	"$KN_TOP_SRCDIR/scripts/build-rpm" "$PWD/rpms" >rpm.path 2>build.err ||
		{ cat build.err >&2; atf_fail "scripts/build-rpm failed"; }
	rpm=$(cat rpm.path)
	echo "built $(basename "$rpm") in $(($(date +%s) - start)) s"

	rpm -qlp "$rpm" | sort >files
	v=$(kn_version)
	cat >expected <<EOF
/etc/default/kube-nftd
/etc/kube-nftd
/etc/kube-nftd/kube-nftd.conf
/etc/kube-nftd/manifests
/usr/lib/systemd/system/kube-nftd.service
/usr/sbin/kube-nftctl
/usr/sbin/kube-nftd
/usr/share/doc/kube-nftd
/usr/share/doc/kube-nftd/README.md
/usr/share/doc/kube-nftd/design.md
/usr/share/doc/kube-nftd/ruleset.md
/usr/share/licenses/kube-nftd
/usr/share/licenses/kube-nftd/COPYING
EOF
	grep '^/usr/share/man/' files | sed 's/\.gz$//' >man.base
	printf '%s\n' /usr/share/man/man5/kube-nftd.conf.5 /usr/share/man/man8/kube-nftctl.8 \
		/usr/share/man/man8/kube-nftd.8 >man.expected
	differ "man pages in the RPM" "$(cat man.expected)" "$(cat man.base)"
	differ "files of the RPM" "$(sort expected)" "$(grep -v '^/usr/share/man/' files)"
	atf_check -o inline:"/etc/default/kube-nftd\n/etc/kube-nftd/kube-nftd.conf\n" \
		sh -c "rpm -qcp '$rpm' | sort"
	atf_check -o inline:"$v\n" rpm -qp --qf '%{VERSION}\n' "$rpm"

	# Scriptlets: user before the files, restart (not stop) on upgrade.
	rpm -qp --scripts "$rpm" >scripts
	grep -q 'useradd -r' scripts || atf_fail "no system user"
	grep -q 'try-restart kube-nftd.service' scripts || atf_fail "no restart on upgrade"
	grep -q 'disable --now kube-nftd.service' scripts || atf_fail "no stop on removal"

	# rpmlint: no error, no warning; filters need a comment saying why.
	if want rpmlint rpmlint; then
		rpmlint -c "$KN_PKG/rpm/rpmlint.toml" "$rpm" >rpmlint.out 2>&1 ||
			{ cat rpmlint.out >&2; atf_fail "rpmlint"; }
		grep -q ' 0 errors, 0 warnings' rpmlint.out || { cat rpmlint.out >&2; atf_fail "rpmlint"; }
		awk '/^[[:space:]]*#/ { c = 1; next }
			/^[[:space:]]*\047/ { if (!c) { print; bad = 1 } next }
			/[^[:space:]]/ { c = 0 } END { exit bad }' "$KN_PKG/rpm/rpmlint.toml" ||
			atf_fail "rpmlint.toml: a filter without a comment"
	else
		echo "rpmlint is not available: not run" >&2
	fi
}

atf_init_test_cases()
{
	atf_add_test_case version
	atf_add_test_case build_deps
	atf_add_test_case manpages
	atf_add_test_case systemd_unit
	atf_add_test_case systemd_live
	atf_add_test_case kubernetes
	atf_add_test_case file_capability
	atf_add_test_case dist
	atf_add_test_case deb
	atf_add_test_case rpm
}
