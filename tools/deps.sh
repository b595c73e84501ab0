#!/usr/bin/env bash
# Makes sure the Debian packages ferry's build, demo and tests use are
# installed.  As root it installs what is missing with apt-get; otherwise it
# names the missing packages and fails.
set -euo pipefail

# command -> package (Debian 12)
declare -A need=(
	[gcc]=gcc
	[ld]=binutils
	[make]=make
	[python3]=python3
	[qemu-system-x86_64]=qemu-system-x86
	[grub-mkrescue]=grub-common
	[xorriso]=xorriso
	[mformat]=mtools
	[mkfs.fat]=dosfstools
	[bochs]=bochs
	[bxhub]=bochs
	[xz]=xz-utils
	[mkfs.ext4]=e2fsprogs
	[debugfs]=e2fsprogs
	[dpkg-deb]=dpkg
	[apt-get]=apt
	[qemu-x86_64]=qemu-user
	[vblade]=vblade
	[tshark]=tshark
	[ip]=iproute2
)
# files -> package
declare -A need_files=(
	[/usr/lib/grub/i386-pc/multiboot2.mod]=grub-pc-bin
	[/usr/lib/grub/x86_64-efi/multiboot2.mod]=grub-efi-amd64-bin
	[/usr/share/OVMF/OVMF_CODE.fd]=ovmf
	[/usr/lib/crt0-efi-x86_64.o]=gnu-efi
	[/usr/share/consolefonts/Lat15-Terminus16.psf.gz]=console-setup-linux
	[/usr/share/bochs/BIOS-bochs-latest]=bochsbios
	[/usr/share/vgabios/vgabios.bin]=vgabios
	[/boot/ipxe.lkrn]=ipxe
	[/usr/lib/python3/dist-packages/cryptography/hazmat/primitives/ciphers/aead.py]=python3-cryptography
	[/usr/lib/x86_64-linux-gnu/libc.a]=libc6-dev
)
# The sanitizer runtimes come with gcc on Debian (libasan8, libubsan1).

missing=()
for c in "${!need[@]}"; do
	command -v "$c" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$c" >/dev/null 2>&1 || missing+=("${need[$c]}")
done
for f in "${!need_files[@]}"; do
	[ -e "$f" ] || missing+=("${need_files[$f]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# bochs needs a display plugin package; bochs-term is the small one (the
# tests use the VNC display built into bochs itself).
[[ " ${missing[*]} " == *" bochs "* ]] && missing+=(bochs-term)
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages: ${missing[*]}" >&2
	echo "deps: install them with: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed"
