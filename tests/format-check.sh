#!/usr/bin/env bash
# Every C file the project tracks is formatted as .clang-format says (kernel
# style). One check per file; `make format` fixes what fails.
# Last line: format: N passed, N failed
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
if ! command -v clang-format >/dev/null; then
	echo "clang-format is missing (scripts/install-deps.sh installs it)"
	echo "format: 0 passed, 1 failed"
	exit 1
fi
while read -r f; do
	if clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		passed=$((passed + 1))
	else
		echo "FAIL $f is not formatted (make format)"
		failed=$((failed + 1))
	fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find bpf include lib src tests bench examples -name '*.[ch]')
echo "format: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
