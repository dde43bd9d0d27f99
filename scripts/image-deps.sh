#!/bin/sh
# What `make image` and `make image-test` need: arm64 programs run through qemu-user and
# binfmt_misc, the partitions made from files, and qemu-system-aarch64 to boot the card.
set -eu
need=""
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
have qemu-aarch64-static || need="$need qemu-user-static"
have update-binfmts || need="$need binfmt-support"
have qemu-system-aarch64 || need="$need qemu-system-arm"
have mkfs.vfat || need="$need dosfstools"
have mcopy || need="$need mtools"
have sfdisk || need="$need fdisk"
have xz || need="$need xz-utils"
have debootstrap || need="$need debootstrap"
have fdtput || need="$need device-tree-compiler"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ -n "$need" ]; then
  echo "Installing Debian packages:$need"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $need
fi
# Containers often come without binfmt_misc mounted, or with the handler off.
[ -e /proc/sys/fs/binfmt_misc/register ] || $sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || $sudo update-binfmts --enable qemu-aarch64
