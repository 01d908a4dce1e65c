#!/usr/bin/env bash
# Adds Rollbook to the desktop's application menu for the current person.
#
#   rollbook/install-desktop-entry.sh          (run from inside the copied dist folder)
#   packaging/install-desktop-entry.sh dist/rollbook
#
# Installs the icon in every size and a .desktop file whose Exec points at the
# rollbook executable in that folder. Nothing outside ~/.local/share is touched.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
folder="$(cd "${1:-$here}" && pwd)"
exe="$folder/rollbook"
if [ ! -x "$exe" ]; then
    echo "install-desktop-entry: no rollbook executable in $folder" >&2
    exit 2
fi
icons="$folder/_internal/resources/icons"
[ -d "$icons" ] || icons="$here/../resources/icons"
desktop_file="$folder/_internal/packaging/rollbook.desktop"
[ -f "$desktop_file" ] || desktop_file="$here/rollbook.desktop"
share="${XDG_DATA_HOME:-$HOME/.local/share}"

for size in 16 32 48 64 128 256; do
    install -Dm644 "$icons/rollbook-$size.png" "$share/icons/hicolor/${size}x${size}/apps/rollbook.png"
done
install -Dm644 "$icons/rollbook.svg" "$share/icons/hicolor/scalable/apps/rollbook.svg"
mkdir -p "$share/applications"
# Exec gets the full path, quoted for the desktop entry format.
sed "s|^Exec=.*|Exec=\"$exe\"|" "$desktop_file" > "$share/applications/rollbook.desktop"
chmod 644 "$share/applications/rollbook.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$share/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$share/icons/hicolor" || true
echo "Rollbook added to the applications menu ($share/applications/rollbook.desktop)."
