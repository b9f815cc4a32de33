#!/usr/bin/env bash
# Control the machine-global binfmt_misc state used to run arm64 binaries on
# this amd64 machine through Debian's qemu-user-static.
#
#   binfmt.sh status            print global state and every registered entry
#   binfmt.sh aarch64           print "enabled", "disabled" or "absent" (qemu-aarch64)
#   binfmt.sh enable-aarch64    register/enable qemu-aarch64 (F flag, Debian's magic/mask)
#   binfmt.sh disable-aarch64   disable every entry that handles aarch64 ELF binaries
#   binfmt.sh save FILE         write the complete current state to FILE
#   binfmt.sh restore FILE      put back exactly the state saved in FILE
#                               (which entries exist, their definitions, enabled flags,
#                               and the global enabled flag)
#
# This changes state for the WHOLE machine (all containers, all users).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BM="${DOCKDOCTOR_BINFMT_MISC:-/proc/sys/fs/binfmt_misc}"
AARCH64_NAME="qemu-aarch64"
# magic hex (as shown in /proc) prefix of 64-bit little-endian ELF, and e_machine=aarch64 at byte 18
AARCH64_MAGIC_RE='^7f454c4602010100000000000000000002.?.?b700'

ensure_mounted() {
    if [ ! -e "$BM/register" ]; then
        [ -d "$BM" ] || die "$BM does not exist (kernel without binfmt_misc?)"
        mount -t binfmt_misc binfmt_misc "$BM" 2>/dev/null \
            || die "cannot mount binfmt_misc on $BM (need root and CONFIG_BINFMT_MISC)"
        [ -e "$BM/register" ] || die "binfmt_misc mounted but $BM/register is missing"
    fi
}

entries() {
    local f
    for f in "$BM"/*; do
        [ -f "$f" ] || continue
        case "$(basename "$f")" in register | status) continue ;; esac
        basename "$f"
    done
}

# Field of an entry: enabled|interpreter|flags|offset|magic|mask|extension
entry_field() {
    local name="$1" field="$2"
    case "$field" in
        enabled) head -n1 "$BM/$name" ;;
        flags) sed -n 's/^flags:[[:space:]]*//p' "$BM/$name" ;;
        *) sed -n "s/^$field //p" "$BM/$name" ;;
    esac
}

hex_to_escaped() { # 7f45 -> \x7f\x45
    local hex="$1" out="" i
    for ((i = 0; i < ${#hex}; i += 2)); do out+="\\x${hex:i:2}"; done
    printf '%s' "$out"
}

# The string that, written to $BM/register, recreates the entry.
register_string() {
    local name="$1" interp flags ext magic mask offset
    interp="$(entry_field "$name" interpreter)"
    flags="$(entry_field "$name" flags)"
    ext="$(entry_field "$name" extension)"
    if [ -n "$ext" ]; then
        printf ':%s:E::%s::%s:%s' "$name" "${ext#.}" "$interp" "$flags"
    else
        magic="$(entry_field "$name" magic)"
        mask="$(entry_field "$name" mask)"
        offset="$(entry_field "$name" offset)"
        printf ':%s:M:%s:%s:%s:%s:%s' "$name" "$offset" "$(hex_to_escaped "$magic")" \
            "$(hex_to_escaped "$mask")" "$interp" "$flags"
    fi
}

global_state() { head -n1 "$BM/status"; }

set_global() { # enabled|disabled
    if [ "$1" = enabled ]; then echo 1 >"$BM/status"; else echo 0 >"$BM/status"; fi
}

set_entry() { # name enabled|disabled
    if [ "$2" = enabled ]; then echo 1 >"$BM/$1"; else echo 0 >"$BM/$1"; fi
}

remove_entry() { echo -1 >"$BM/$1"; }

register() { # register-string
    local s="$1" interp
    interp="$(printf '%s' "$s" | awk -F: '{print $7}')"
    [ -e "$interp" ] || die "interpreter $interp does not exist (install qemu-user-static: scripts/testenv/provision.sh)"
    printf '%s\n' "$s" >"$BM/register" 2>/dev/null || die "kernel rejected binfmt registration: $s"
}

# Debian's registration line for qemu-aarch64, with the F flag forced on.
debian_aarch64_line() {
    local conf=/usr/lib/binfmt.d/qemu-aarch64.conf f=/usr/share/binfmts/qemu-aarch64 line flags
    if [ -r "$conf" ]; then
        line="$(grep -v '^[[:space:]]*\(#\|;\|$\)' "$conf" | head -n1)"
    elif [ -r "$f" ]; then
        # update-binfmts format
        local interp magic mask offset
        interp="$(sed -n 's/^interpreter //p' "$f")"
        magic="$(sed -n 's/^magic //p' "$f")"
        mask="$(sed -n 's/^mask //p' "$f")"
        offset="$(sed -n 's/^offset //p' "$f")"
        flags=""
        grep -q '^preserve yes' "$f" && flags+=P
        grep -q '^credentials yes' "$f" && flags+=OC
        line=":$AARCH64_NAME:M:${offset:-0}:$magic:$mask:$interp:$flags"
    else
        die "qemu-user-static is not installed (no $conf nor $f); run scripts/testenv/provision.sh"
    fi
    [ -n "$line" ] || die "could not read a registration line from $conf"
    flags="${line##*:}"
    case "$flags" in *F*) ;; *) line="${line}F" ;; esac
    printf '%s' "$line"
}

aarch64_entries() { # names of entries that match aarch64 ELF binaries
    local n magic
    for n in $(entries); do
        if [ "$n" = "$AARCH64_NAME" ]; then echo "$n"; continue; fi
        magic="$(entry_field "$n" magic)"
        if [[ "$magic" =~ $AARCH64_MAGIC_RE ]]; then echo "$n"; fi
    done
}

cmd_status() {
    local n
    echo "binfmt_misc $(global_state)"
    for n in $(entries); do
        printf 'entry %s %s flags=%s interpreter=%s\n' "$n" "$(entry_field "$n" enabled)" \
            "$(entry_field "$n" flags)" "$(entry_field "$n" interpreter)"
    done
    echo "aarch64 $(cmd_aarch64)"
}

cmd_aarch64() {
    if [ "$(global_state)" != enabled ]; then
        echo disabled
    elif [ -e "$BM/$AARCH64_NAME" ]; then
        entry_field "$AARCH64_NAME" enabled
    else
        echo absent
    fi
}

cmd_enable_aarch64() {
    local want have flags
    want="$(debian_aarch64_line)"
    if [ -e "$BM/$AARCH64_NAME" ]; then
        have="$(register_string "$AARCH64_NAME")"
        flags="$(entry_field "$AARCH64_NAME" flags)"
        if [ "$(entry_field "$AARCH64_NAME" interpreter)" != "$(printf '%s' "$want" | awk -F: '{print $7}')" ] \
            || [[ "$flags" != *F* ]]; then
            log "replacing existing $AARCH64_NAME entry ($have) with Debian's (F flag)"
            remove_entry "$AARCH64_NAME"
        fi
    fi
    [ -e "$BM/$AARCH64_NAME" ] || register "$want"
    set_entry "$AARCH64_NAME" enabled
    set_global enabled
    [ "$(cmd_aarch64)" = enabled ] || die "qemu-aarch64 is still not enabled"
    echo "aarch64 enabled ($(entry_field "$AARCH64_NAME" interpreter), flags $(entry_field "$AARCH64_NAME" flags))"
}

cmd_disable_aarch64() {
    local n any=0
    for n in $(aarch64_entries); do
        set_entry "$n" disabled
        any=1
    done
    if [ "$any" = 1 ]; then echo "aarch64 disabled"; else echo "aarch64 absent (nothing to disable)"; fi
}

cmd_save() {
    local file="$1" tmp n
    [ -n "$file" ] || die "usage: binfmt.sh save FILE"
    tmp="$(mktemp "${file}.XXXXXX")"
    {
        echo "# dockdoctor binfmt state v1"
        printf 'status\t%s\n' "$(global_state)"
        for n in $(entries); do
            printf 'entry\t%s\t%s\t%s\n' "$n" "$(entry_field "$n" enabled)" "$(register_string "$n")"
        done
    } >"$tmp"
    mv -f "$tmp" "$file"
}

cmd_restore() {
    local file="$1" kind name state reg n global=""
    [ -r "$file" ] || die "cannot read saved binfmt state '$file'"
    head -n1 "$file" | grep -q '^# dockdoctor binfmt state v1$' || die "'$file' is not a binfmt.sh save file"
    declare -A want_reg=() want_state=()
    while IFS=$'\t' read -r kind name state reg; do
        case "$kind" in
            status) global="$name" ;;
            entry)
                want_reg["$name"]="$reg"
                want_state["$name"]="$state"
                ;;
        esac
    done < <(tail -n +2 "$file")
    [ -n "$global" ] || die "'$file' has no status line"
    # Drop entries that did not exist (or differ).
    for n in $(entries); do
        if [ -z "${want_reg[$n]+x}" ] || [ "$(register_string "$n")" != "${want_reg[$n]}" ]; then
            remove_entry "$n"
        fi
    done
    for n in "${!want_reg[@]}"; do
        [ -e "$BM/$n" ] || register "${want_reg[$n]}"
        set_entry "$n" "${want_state[$n]}"
    done
    set_global "$global"
}

main() {
    require_root
    local cmd="${1:-}"
    [ -n "$cmd" ] || die "usage: binfmt.sh status|aarch64|enable-aarch64|disable-aarch64|save FILE|restore FILE"
    ensure_mounted
    case "$cmd" in
        status) cmd_status ;;
        aarch64) cmd_aarch64 ;;
        enable-aarch64) cmd_enable_aarch64 ;;
        disable-aarch64) cmd_disable_aarch64 ;;
        save) cmd_save "${2:-}" ;;
        restore) cmd_restore "${2:-}" ;;
        mount) : ;;
        *) die "unknown command '$cmd' (status|aarch64|enable-aarch64|disable-aarch64|save FILE|restore FILE)" ;;
    esac
}

main "$@"
