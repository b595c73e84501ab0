#!/usr/bin/env bash
# Builds a GRUB hybrid ISO (BIOS and UEFI; CD, disk or USB stick) holding
# ferry and its guest.
#   tools/mkiso.sh OUT.iso FERRY_ELF GUEST "GUEST COMMANDS" ["FERRY ARGS" [CONFIG [INITRD]]]
# The guest commands become the guest module's command line.  CONFIG, a
# ferry.cfg file, goes in as a module named ferry.cfg (the command line
# overrides it; its guest_cmds, if set, replaces GUEST COMMANDS).
# GUEST is ferry's guest.elf or a Linux kernel (bzImage or vmlinux), whose
# command line GUEST COMMANDS then is; INITRD goes in as the module after
# it.  tools/mkusb.sh builds the USB stick image with an editable ferry.cfg.
set -euo pipefail
out=$1 ferry=$2 guest=$3 cmds=$4 args=${5:-loglevel=info} cfg=${6:-} initrd=${7:-}

for t in grub-mkrescue xorriso mformat; do
	command -v "$t" >/dev/null || { echo "mkiso: $t is missing (apt-get install grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools)" >&2; exit 1; }
done
# GRUB joins a command's words with single spaces and re-quotes any word
# that contains a space or a quote, so the text goes in as plain words with
# GRUB's special characters escaped; quotes cannot pass through unchanged.
grub_words() {
	case $1 in *[\"\'\\]*) echo "mkiso: '$1' contains a quote or backslash, which GRUB would rewrite" >&2; exit 1 ;; esac
	local out="" w
	for w in $1; do
		out+=" $(printf '%s' "$w" | sed 's/[;&|<>$(){}#]/\\&/g')"
	done
	printf '%s' "${out# }"
}
cmds_w=$(grub_words "$cmds")
args_w=$(grub_words "$args")
set -f

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir=$work/iso   # the image's contents; nothing else may be written here
mkdir -p "$dir/boot/grub"
cp "$ferry" "$dir/boot/ferry.elf"
cp "$guest" "$dir/boot/guest.elf"
initrd_line=
if [ -n "$initrd" ]; then
	cp "$initrd" "$dir/boot/initrd"
	# --nounzip: GRUB would gunzip the initrd (only its first archive).
	initrd_line='module2 --nounzip /boot/initrd'
fi
cfg_line=
if [ -n "$cfg" ]; then
	cp "$cfg" "$dir/boot/ferry.cfg"
	cfg_line='module2 /boot/ferry.cfg ferry.cfg'
fi
# Plain commands and no menu entry: GRUB boots at once (a menuentry, even
# with timeout=0, costs about three seconds).  all_video keeps GRUB on UEFI
# from stopping at "no suitable video mode".
cat > "$dir/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
insmod all_video
echo 'ferry: GRUB is loading ferry'
multiboot2 /boot/ferry.elf $args_w
module2 /boot/guest.elf $cmds_w
$initrd_line
$cfg_line
boot
CFG
grub-mkrescue -o "$out" "$dir" >/dev/null 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
