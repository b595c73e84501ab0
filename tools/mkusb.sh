#!/usr/bin/env bash
# Builds ferry's USB stick image, to be written with dd:
#   tools/mkusb.sh [--kernel FILE] [--initrd FILE] [--cmdline TEXT] [--fat-mib N]
#                  OUT.img FERRY_ELF GUEST_ELF BOOTX64_EFI [CONFIG]
# replaces the configuration file in an image already built:
#   tools/mkusb.sh --set-config IMAGE CONFIG
# adds or replaces a file in the stick's ferry folder (a kernel, an initrd):
#   tools/mkusb.sh --put IMAGE FILE [NAME]
# and says where the FAT partition with the configuration file starts:
#   tools/mkusb.sh --fat-offset IMAGE
#
# --kernel and --initrd copy a Linux kernel (bzImage) and its initrd into
# the ferry folder under their own file names and set "kernel =" and
# "initrd =" in the stick's ferry.cfg; --cmdline sets "guest_cmds =", the
# kernel's command line (or ferry's guest's script).  These lines replace
# any the CONFIG file has for the same keys.
#
# Layout (an ISO 9660 hybrid made by xorriso, like grub-mkrescue's):
#   - one FAT file system (efi.img, also GPT partition "EFI boot partition",
#     an EFI system partition; --fat-mib, default 30 MiB) holding
#       \EFI\BOOT\BOOTX64.EFI   ferry's UEFI loader (boot/efi/)
#       \ferry\ferry.elf, \ferry\guest.elf
#       \ferry\ferry.cfg        the configuration (CONFIG, default boot/ferry.cfg)
#       \ferry\...              the kernel and initrd, with --kernel, --initrd
#   - UEFI boots BOOTX64.EFI from it: as a disk or USB stick through the GPT
#     partition, as a CD through the El Torito EFI entry.
#   - BIOS boots GRUB (El Torito, and boot_hybrid.img as the MBR for disks
#     and USB sticks), whose /boot/grub/grub.cfg in the ISO file system
#     opens the same FAT file system (loopback on /efi.img, the very bytes
#     of the partition) and loads the same files.
# Both loaders give ferry every file of the ferry folder but ferry.elf as a
# boot module named by its file name (guest.elf first, ferry.cfg last);
# ferry boots the ones ferry.cfg names (kernel, initrd; vm/guest_mods.h).
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

# A file's name in the ferry folder: one word ferry.cfg can name (kernel =,
# initrd =; platform/config.c), not one of ferry's own files.
check_name() {
	local name=$1
	[[ $name =~ ^[A-Za-z0-9._+-]{1,63}$ ]] ||
		die "'$name': a file in the ferry folder needs a name of 1 to 63 letters, digits and . _ + -"
	case ${name,,} in
	ferry.elf | ferry.cfg | guest.elf) die "'$name' is the name of ferry's own file; give the file another name" ;;
	esac
}

# Copies FILE into the FAT image (mtools' IMAGE@@OFFSET or a plain file)
# as /ferry/NAME, saying what does not fit.
put_file() {
	local fat=$1 file=$2 name=$3
	[ -f "$file" ] || die "$file does not exist"
	mtools_env mcopy -o -i "$fat" "$file" "::/ferry/$name" 2>"$work/mcopy.log" ||
		die "cannot copy $file to /ferry/$name: $(tr '\n' ' ' <"$work/mcopy.log")(is the FAT partition full? tools/mkusb.sh --fat-mib N builds a larger one)"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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
--put)
	[ $# -eq 3 ] || [ $# -eq 4 ] || die "usage: tools/mkusb.sh --put IMAGE FILE [NAME]"
	name=${4:-$(basename "$3")}
	check_name "$name"
	off=$(fat_offset "$2")
	put_file "$2@@$off" "$3" "$name"
	echo "mkusb: $2: /ferry/$name written; name it in ferry.cfg (kernel = $name, or initrd = $name)"
	exit 0 ;;
esac

kernel= initrd= cmdline= have_cmdline= fat_mib=30
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) [ $# -ge 2 ] || die "--kernel needs a file"; kernel=$2; shift 2 ;;
	--initrd) [ $# -ge 2 ] || die "--initrd needs a file"; initrd=$2; shift 2 ;;
	--cmdline) [ $# -ge 2 ] || die "--cmdline needs the text"; cmdline=$2 have_cmdline=1; shift 2 ;;
	--fat-mib) [ $# -ge 2 ] || die "--fat-mib needs a size"; fat_mib=$2; shift 2 ;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -ge 4 ] && [ $# -le 5 ] ||
	die "usage: tools/mkusb.sh [--kernel FILE] [--initrd FILE] [--cmdline TEXT] [--fat-mib N] OUT.img FERRY_ELF GUEST_ELF BOOTX64_EFI [CONFIG]"
out=$1 ferry=$2 guest=$3 loader=$4 cfg=${5:-$(dirname "$0")/../boot/ferry.cfg}
for f in "$ferry" "$guest" "$loader" "$cfg"; do
	[ -f "$f" ] || die "$f does not exist (run make first)"
done
for f in "$kernel" "$initrd"; do
	[ -z "$f" ] || [ -f "$f" ] || die "$f does not exist"
done
[ -z "$initrd" ] || [ -n "$kernel" ] || die "--initrd needs --kernel"
kname=${kernel:+$(basename "$kernel")} iname=${initrd:+$(basename "$initrd")}
[ -z "$kname" ] || check_name "$kname"
[ -z "$iname" ] || check_name "$iname"
[ -z "$iname" ] || [ "${kname,,}" != "${iname,,}" ] || die "the kernel and the initrd have the same name, $kname"
case $cmdline in *$'\n'*) die "--cmdline is one line (ferry.cfg's guest_cmds)" ;; esac
[ ${#cmdline} -le 4095 ] || die "--cmdline is ${#cmdline} bytes; guest_cmds holds at most 4095"
[[ $fat_mib =~ ^[0-9]+$ ]] && [ "$fat_mib" -ge 8 ] && [ "$fat_mib" -le 2048 ] ||
	die "--fat-mib $fat_mib: give the FAT partition's size in MiB, 8 to 2048"
grub_dir=/usr/lib/grub/i386-pc
[ -f $grub_dir/boot_hybrid.img ] || die "$grub_dir is missing (apt-get install grub-pc-bin)"

dir=$work/iso   # the ISO file system's contents; nothing else goes here
mkdir -p "$dir/boot/grub/i386-pc"

# The stick's ferry.cfg: CONFIG, with kernel, initrd and guest_cmds set
# from the options (their lines in CONFIG dropped, so each key is set once).
stick_cfg=$work/ferry.cfg
drop=()
[ -z "$kname" ] || drop+=(kernel initrd)
[ -z "$have_cmdline" ] || drop+=(guest_cmds)
if [ ${#drop[@]} -gt 0 ]; then
	keys=$(IFS='|'; echo "${drop[*]}")
	grep -Ev "^[[:space:]]*($keys)[[:space:]]*=" "$cfg" >"$stick_cfg" || true
	{
		echo
		echo "# Written by tools/mkusb.sh:"
		[ -z "$kname" ] || echo "kernel = $kname"
		[ -z "$iname" ] || echo "initrd = $iname"
		[ -z "$have_cmdline" ] || echo "guest_cmds = $cmdline"
	} >>"$stick_cfg"
else
	cp "$cfg" "$stick_cfg"
fi

# The FAT file system: 30 MiB by default holds Debian's kernel (8 MB) and
# a small initramfs, and stays under El Torito's limit of 65535 sectors
# for one boot image (above it, xorriso records the size 0, "to the end of
# the medium", which not every UEFI firmware reads the same way when the
# image is a CD; a USB stick boots through its GPT partition either way).
fat=$dir/efi.img
need=0 files=("$loader" "$ferry" "$guest" "$stick_cfg")
[ -z "$kernel" ] || files+=("$kernel")
[ -z "$initrd" ] || files+=("$initrd")
for f in "${files[@]}"; do
	need=$((need + $(stat -c %s "$f")))
done
[ $((need / 1048576 + 1)) -lt "$fat_mib" ] ||
	die "the files need $((need / 1048576 + 1)) MiB and the FAT partition has $fat_mib MiB: give --fat-mib a larger size"
[ "$fat_mib" -lt 32 ] ||
	echo "mkusb: note: a FAT partition of 32 MiB or more boots UEFI machines as a USB stick or disk, not always as a CD" >&2
mkfs.fat -C -n FERRY "$fat" $((fat_mib * 1024)) >/dev/null
mtools_env mmd -i "$fat" ::/EFI ::/EFI/BOOT ::/ferry
mtools_env mcopy -i "$fat" "$loader" ::/EFI/BOOT/BOOTX64.EFI
put_file "$fat" "$ferry" ferry.elf
put_file "$fat" "$guest" guest.elf
put_file "$fat" "$stick_cfg" ferry.cfg
[ -z "$kname" ] || put_file "$fat" "$kernel" "$kname"
[ -z "$iname" ] || put_file "$fat" "$initrd" "$iname"

# GRUB for BIOS: a core image with every module it needs built in (the ISO
# carries no module directory; regexp also expands the wildcard below).
# Plain commands and no menu entry: GRUB boots at once.  GRUB wraps lines
# at 80 columns: messages stay shorter.
grub-mkimage -O i386-pc-eltorito -p /boot/grub -o "$dir/boot/grub/i386-pc/eltorito.img" \
	biosdisk iso9660 part_msdos part_gpt fat loopback multiboot2 normal configfile serial echo \
	all_video test regexp
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
else
	multiboot2 /ferry/ferry.elf
	# As the UEFI loader does: every file of the folder as a module named
	# by its file name, guest.elf first (ferry's guest when ferry.cfg names
	# no kernel), ferry.cfg last.  ferry boots what ferry.cfg names.
	if [ -f /ferry/guest.elf ]; then
		module2 /ferry/guest.elf guest.elf
	else
		echo 'ferry: warning: grub: no /ferry/guest.elf: ferry.cfg must name a kernel'
	fi
	for f in /ferry/*; do
		if [ -f "$f" ]; then
			regexp --set=1:name '/ferry/([^/]+)$' "$f"
			if [ "$name" != ferry.elf -a "$name" != guest.elf -a "$name" != ferry.cfg ]; then
				echo "ferry: grub: loading /ferry/$name"
				module2 "$f" "$name"
			fi
		fi
	done
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
