#!/bin/sh
# Debian packages the tests and the demo need, installed only when missing.
set -eu
need=""
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have mosquitto || need="$need mosquitto"
have chromium || need="$need chromium"
# The OLED reference images and the sign picture are drawn in DejaVu.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need="$need fonts-dejavu-core"
python3 -c 'import ensurepip, venv' 2>/dev/null || need="$need python3-venv"
have openssl || need="$need openssl"  # the TLS tests make their own certificates
# make system-test boots the package in a container; make deb builds it.
have debootstrap || need="$need debootstrap"
have systemd-nspawn || need="$need systemd-container"
have dpkg-deb || need="$need dpkg"
# The image build's device trees are checked in make test (tests/test_image_build.py).
have dtc || need="$need device-tree-compiler"
[ -z "$need" ] && exit 0
echo "Installing Debian packages:$need"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $need
