#!/usr/bin/env bash
# check-format.sh: every C file of src/, include/, tests/, bench/ and fuzz/
# is as clang-format (the repository's .clang-format) writes it. Fails
# naming the files that are not; `clang-format -i FILE` fixes one.
#
#   scripts/check-format.sh            every such file (git's, tracked or new)
#   CLANG_FORMAT=clang-format-14 scripts/check-format.sh
set -euo pipefail
cd "$(dirname "$0")/.."
format=${CLANG_FORMAT:-clang-format}
command -v "$format" >/dev/null || { echo "check-format.sh: no $format" >&2; exit 1; }

# Tracked files and new ones not ignored, so a module not yet added is checked
# too; outside a git checkout (a source tarball), every file of those folders.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
		'src/*.[ch]' 'include/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' 'fuzz/*.[ch]' | sort -u)
else
	mapfile -t files < <(find src include tests bench fuzz -name node_modules -prune -o \
		-type f -name '*.[ch]' -print | sort)
fi
bad=()
for f in "${files[@]}"; do
	[ -f "$f" ] || continue # deleted, not yet committed
	"$format" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ "${#bad[@]}" -gt 0 ]; then
	echo "check-format.sh: not as $format writes them (clang-format -i fixes):" >&2
	printf '  %s\n' "${bad[@]}" >&2
	exit 1
fi
echo "check-format.sh: ${#files[@]} C files formatted"
