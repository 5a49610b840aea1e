#!/bin/sh
# Install everything iovd, its tests and its test host need, on Debian 12 (bookworm).
# Idempotent. Needs root (or sudo). QEMU 10 comes from bookworm-backports; the mirror is
# the one this machine's apt sources already use.
set -eu

if [ "$(id -u)" -ne 0 ]; then
    exec sudo -- "$0" "$@"
fi

export DEBIAN_FRONTEND=noninteractive

# Find the Debian mirror URI that serves the "bookworm" suite in the existing sources.
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    mirror=$(awk '
        /^[[:space:]]*$/ { if (uri != "" && suite) { print uri; exit } uri=""; suite=0; next }
        /^URIs:/   { uri=$2 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") suite=1 }
        END        { if (uri != "" && suite) print uri }' "$f" | head -n1)
    [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
fi
if [ -z "$mirror" ]; then
    echo "setup: no apt source for the 'bookworm' suite found in /etc/apt/sources.list{,.d}; add one and re-run" >&2
    exit 1
fi

bp=/etc/apt/sources.list.d/iovd-bookworm-backports.sources
want="Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
if [ ! -f "$bp" ] || [ "$(cat "$bp")" != "$want" ]; then
    printf '%s\n' "$want" > "$bp"
fi

apt-get update -q

apt-get install -y -q --no-install-recommends \
    build-essential pkg-config git python3 \
    libpci-dev pci.ids libudev-dev libnl-3-dev libnl-route-3-dev libjansson-dev libcmocka-dev \
    libseccomp-dev libnvme-dev \
    clang llvm libclang-rt-14-dev \
    busybox-static cpio gzip xz-utils kmod iproute2 ca-certificates e2fsprogs \
    scdoc mandoc systemd debhelper dpkg-dev fakeroot lintian \
    golang-go golang-github-container-orchestrated-devices-container-device-interface-dev \
    pciutils nvme-cli python3-jsonschema \
    zsh podman

apt-get install -y -q --no-install-recommends -t bookworm-backports qemu-system-x86
# The independent varlink client of tests/varlink (python3-varlink 31 is in backports).
apt-get install -y -q --no-install-recommends -t bookworm-backports python3-varlink

# iovd starts guests (iovm) as this unprivileged system user.
if ! getent passwd iovm > /dev/null; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin iovm
fi

# The test host's kernel is fetched (never installed) by tests/rig/image.sh into its cache.
echo "setup: done (qemu: $(qemu-system-x86_64 --version | head -n1))"
