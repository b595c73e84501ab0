#!/usr/bin/env bash
# Builds ferry's USB stick image, to be written with dd:
#   tools/mkusb.sh OUT.img FERRY_ELF GUEST_ELF BOOTX64_EFI [CONFIG]
# and replaces the configuration file in an image already built:
#   tools/mkusb.sh --set-config IMAGE CONFIG
# and says where the FAT partition with the configuration file starts:
#   tools/mkusb.sh --fat-offset IMAGE
#
# Layout (an ISO 9660 hybrid made by xorriso, like grub-mkrescue's):
#   - one FAT file system (efi.img, also GPT partition "EFI boot partition",
#     an EFI system partition) holding
#       \EFI\BOOT\BOOTX64.EFI   ferry's UEFI loader (boot/efi/)
#       \ferry\ferry.elf, \ferry\guest.elf
#       \ferry\ferry.cfg        the configuration (CONFIG, default boot/ferry.cfg)
#   - UEFI boots BOOTX64.EFI from it: as a disk or USB stick through the GPT
#     partition, as a CD through the El Torito EFI entry.
#   - BIOS boots GRUB (El Torito, and boot_hybrid.img as the MBR for disks
#     and USB sticks), whose /boot/grub/grub.cfg in the ISO file system
#     opens the same FAT file system (loopback on /efi.img, the very bytes
#     of the partition) and loads the same three files.
# So there is one ferry.cfg to edit, whichever firmware boots the stick.
set -euo pipefail

die() { echo "mkusb: $*" >&2; exit 1; }

# The byte offset of the FAT file system (the GPT partition that is
# /efi.img) inside an image.
fat_offset() {
	local img=$1 report part start
	report=$(xorriso -indev "$img" -report_system_area plain 2>/dev/null) || die "$img: not an image xorriso can read"
	part=$(awk '/^GPT partition path *:/ && $NF == "/efi.img" { print $(NF-1) }' <<<"$report")
	[ -n "$part" ] || die "$img: no GPT partition holds /efi.img (not made by mkusb.sh?)"
	start=$(awk -v p="$part" '/^GPT start and size *:/ && $(NF-2) == p { print $(NF-1) }' <<<"$report")
	[ -n "$start" ] || die "$img: cannot find where partition $part starts"
	echo $((start * 512))
}

mtools_env() { MTOOLS_SKIP_CHECK=1 "$@"; }

for t in xorriso grub-mkimage mkfs.fat mcopy; do
	command -v "$t" >/dev/null || PATH=$PATH:/usr/sbin:/sbin command -v "$t" >/dev/null ||
		die "$t is missing (apt-get install xorriso grub-pc-bin grub-common dosfstools mtools)"
done
PATH=$PATH:/usr/sbin:/sbin

case ${1:-} in
--fat-offset)
	[ $# -eq 2 ] || die "usage: tools/mkusb.sh --fat-offset IMAGE"
	fat_offset "$2"
	exit 0 ;;
--set-config)
	[ $# -eq 3 ] || die "usage: tools/mkusb.sh --set-config IMAGE CONFIG"
	off=$(fat_offset "$2")
	mtools_env mcopy -o -i "$2@@$off" "$3" ::/ferry/ferry.cfg
	exit 0 ;;
esac

[ $# -ge 4 ] && [ $# -le 5 ] || die "usage: tools/mkusb.sh OUT.img FERRY_ELF GUEST_ELF BOOTX64_EFI [CONFIG]"
out=$1 ferry=$2 guest=$3 loader=$4 cfg=${5:-$(dirname "$0")/../boot/ferry.cfg}
for f in "$ferry" "$guest" "$loader" "$cfg"; do
	[ -f "$f" ] || die "$f does not exist (run make first)"
done
grub_dir=/usr/lib/grub/i386-pc
[ -f $grub_dir/boot_hybrid.img ] || die "$grub_dir is missing (apt-get install grub-pc-bin)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir=$work/iso   # the ISO file system's contents; nothing else goes here
mkdir -p "$dir/boot/grub/i386-pc"

# The FAT file system: 16 MiB leaves room for larger builds and edits,
# and stays under El Torito's 32 MiB limit for one boot image.
fat=$dir/efi.img
mkfs.fat -C -n FERRY "$fat" 16384 >/dev/null
mtools_env mmd -i "$fat" ::/EFI ::/EFI/BOOT ::/ferry
mtools_env mcopy -i "$fat" "$loader" ::/EFI/BOOT/BOOTX64.EFI
mtools_env mcopy -i "$fat" "$ferry" ::/ferry/ferry.elf
mtools_env mcopy -i "$fat" "$guest" ::/ferry/guest.elf
mtools_env mcopy -i "$fat" "$cfg" ::/ferry/ferry.cfg

# GRUB for BIOS: a core image with every module it needs built in (the ISO
# carries no module directory).  Plain commands and no menu entry: GRUB
# boots at once.  GRUB wraps lines at 80 columns: messages stay shorter.
grub-mkimage -O i386-pc-eltorito -p /boot/grub -o "$dir/boot/grub/i386-pc/eltorito.img" \
	biosdisk iso9660 part_msdos part_gpt fat loopback multiboot2 normal configfile serial echo \
	all_video test
cat > "$dir/boot/grub/grub.cfg" <<'CFG'
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
insmod all_video
echo 'ferry: GRUB is loading ferry'
# The FAT file system UEFI boots from, the one holding ferry.cfg.
loopback ferryfat /efi.img
set root=(ferryfat)
if [ ! -f /ferry/ferry.elf ]; then
	echo 'ferry: error: grub: /ferry/ferry.elf is missing from the stick'
elif [ ! -f /ferry/guest.elf ]; then
	echo 'ferry: error: grub: /ferry/guest.elf is missing from the stick'
else
	multiboot2 /ferry/ferry.elf
	module2 /ferry/guest.elf
	if [ -f /ferry/ferry.cfg ]; then
		module2 /ferry/ferry.cfg ferry.cfg
	else
		echo 'ferry: warning: grub: /ferry/ferry.cfg is missing: ferry uses its defaults'
	fi
	boot
fi
CFG
cat > "$dir/README.TXT" <<'TXT'
This is ferry's boot stick.  Its configuration is ferry/ferry.cfg on the
stick's FAT partition ("EFI boot partition", label FERRY); see ferry's
README, section "Boot on real hardware".
TXT

xorriso -as mkisofs -o "$out" -V FERRY -r \
	--grub2-mbr "$grub_dir/boot_hybrid.img" --protective-msdos-label \
	-efi-boot-part --efi-boot-image \
	-b boot/grub/i386-pc/eltorito.img -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info \
	-eltorito-alt-boot -e efi.img -no-emul-boot \
	"$dir" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
echo "mkusb: $out: ferry.cfg is ::/ferry/ferry.cfg in the FAT file system at byte $(fat_offset "$out")"
