#!/usr/bin/env bash
# check-python.sh: every Python file of the repository (the test harnesses,
# the fakes, the benchmarks) passes pyflakes: no undefined name, no unused
# import or variable. The kubernetes tier runs only as root and late in the
# test command, so a NameError there (CI, issue 18's power_off) would
# otherwise show only after twenty minutes.
#
#   scripts/check-python.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=/usr/bin/python3 # Debian's python3-pyflakes is for Debian's python
"$python" -m pyflakes --version >/dev/null 2>&1 ||
	{ echo "check-python.sh: no pyflakes (apt-get install python3-pyflakes)" >&2; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.py' |
		grep -v node_modules | sort -u)
else
	mapfile -t files < <(find . -name node_modules -prune -o -type f -name '*.py' -print | sort)
fi
existing=()
for f in "${files[@]}"; do [ -f "$f" ] && existing+=("$f"); done
"$python" -m pyflakes "${existing[@]}" || {
	echo "check-python.sh: pyflakes found the problems above" >&2
	exit 1
}
echo "check-python.sh: ${#existing[@]} Python files pass pyflakes"
