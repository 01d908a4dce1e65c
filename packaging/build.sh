#!/usr/bin/env bash
# Builds the desktop package: a folder dist/rollbook/ with the executable
# dist/rollbook/rollbook, to copy to another machine as it is.
#
#   packaging/build.sh            build (a few minutes)
#   dist/rollbook/rollbook --self-test
#
# Every build starts from nothing: PyInstaller's work folder and its cache of processed
# libraries live in a temporary folder that is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

scratch="$(mktemp -d -t rollbook-build.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
export PYINSTALLER_CONFIG_DIR="$scratch/config"

rm -rf dist/rollbook
uv run --group package pyinstaller packaging/rollbook.spec \
    --noconfirm --clean --log-level WARN \
    --distpath dist --workpath "$scratch/work"

# Next to the executable, so whoever copies the folder can add it to the menu.
cp packaging/install-desktop-entry.sh dist/rollbook/

size="$(du -sm dist/rollbook | cut -f1)"
echo "Built dist/rollbook ($size MB). Try it: dist/rollbook/rollbook --self-test"
