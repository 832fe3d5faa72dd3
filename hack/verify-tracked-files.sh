#!/usr/bin/env bash
# Fails when git tracks a file over 1 MiB or an executable binary (ELF,
# Mach-O, PE): build outputs belong in bin/, which git ignores.
set -euo pipefail
cd "$(dirname "$0")/.."

limit=$((1 << 20))
bad=0
while IFS= read -r -d '' f; do
	[ -f "$f" ] || continue
	size=$(stat -c %s "$f")
	if [ "$size" -gt "$limit" ]; then
		echo "tracked file over 1 MiB: $f ($size bytes)"
		bad=1
	fi
	magic=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
	case "$magic" in
	7f454c46 | cffaedfe | cefaedfe | feedfacf | feedface | cafebabe | 4d5a*)
		echo "tracked executable binary: $f"
		bad=1
		;;
	esac
done < <(git ls-files -z)
if [ "$bad" -ne 0 ]; then
	echo "remove these from git (git rm --cached) and keep build outputs under bin/"
	exit 1
fi
