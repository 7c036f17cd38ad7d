#!/bin/sh
# nsinit.sh STAGEDIR: turns the current process into a private systemd.
#
# Runs as PID 1 of fresh pid, mount and cgroup namespaces, inside a network
# namespace (packaging_test.sh starts it with ip netns exec ... unshare).
# It prepares what a container manager would: a private /run and journal
# directory, the cgroup2 hierarchy of its own cgroup, a read-only
# /proc/sys; copies STAGEDIR/run/* to /run (units and drop-ins for
# /run/systemd/system, the test's files), then execs systemd with the
# empty target kn-test.target as its default unit, so that nothing starts
# but what the test asks for.
set -eu

stage=$1
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs /run
[ -d /var/log/journal ] && mount -t tmpfs -o mode=0755 tmpfs /var/log/journal
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -o bind,ro /proc/sys /proc/sys
mkdir -p /run/systemd/system
cp -R "$stage"/run/. /run/
# The host may forbid maintainer scripts to start services (policy-rc.d,
# as container images have); this private machine allows them.
if [ -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 0\n' >/run/kn-policy-rc.d
	chmod 0755 /run/kn-policy-rc.d
	mount --bind /run/kn-policy-rc.d /usr/sbin/policy-rc.d
fi
cat >/run/systemd/system/kn-test.target <<'EOF'
[Unit]
Description=kube-nftd packaging test
EOF

for sd in /lib/systemd/systemd /usr/lib/systemd/systemd; do
	[ -x "$sd" ] && break
done
exec env -i container=kube-nftd-test PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	"$sd" --system --unit=kn-test.target --log-target=console --show-status=no
