#!/usr/bin/env bash
# ctest `format_check`: every tracked C++ file must already be formatted with the repository's
# .clang-format (clang-format 14). Prints the offending files and exits 1; exits 77 (ctest:
# skipped) with a message when git or clang-format-14 is absent or the source is not a git
# work tree (a tarball), since the list of tracked files comes from git.
#   tools/check_format.sh [SOURCE_DIR]        fix with: clang-format-14 -i <files>
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
fmt=${CLANG_FORMAT:-clang-format-14}
if ! command -v git >/dev/null 2>&1; then
  echo "format_check: SKIPPED (git not found: the tracked files come from git ls-files)"
  exit 77
fi
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "format_check: SKIPPED ($PWD is not a git work tree)"
  exit 77
fi
if ! command -v "$fmt" >/dev/null 2>&1; then
  echo "format_check: SKIPPED ($fmt not found: Debian package clang-format-14)"
  exit 77
fi
mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp' '*.h' '*.cc' | while read -r f; do
  [ -f "$f" ] && printf '%s\n' "$f"; done)
# One clang-format process for all files (one per file costs a minute on a loaded 2-core box).
out=$("$fmt" --dry-run --Werror --style=file "${files[@]}" 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
  mapfile -t bad < <(printf '%s\n' "$out" | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u)
  echo "format_check: ${#bad[@]} of ${#files[@]} files are not clang-format-14 clean:"
  printf '  %s\n' "${bad[@]}"
  printf '%s\n' "$out" | head -n 40
  echo "fix with: $fmt -i ${bad[*]}"
  exit 1
fi
echo "format_check: OK (${#files[@]} files)"
