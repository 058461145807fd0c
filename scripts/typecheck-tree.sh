#!/usr/bin/env bash
# mypy cannot follow setuptools' editable-install import hook, and the installed
# package maps trifecta.agents -> agents/ (and so on). Mirror that mapping as a
# tree of symlinks under .typecheck/ so `mypy -p trifecta` sees the real layout.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .typecheck
mkdir -p .typecheck/trifecta
for entry in trifecta/*; do
  ln -s "../../$entry" ".typecheck/trifecta/$(basename "$entry")"
done
for sub in agents specialists graphs; do
  ln -s "../../$sub" ".typecheck/trifecta/$sub"
done
