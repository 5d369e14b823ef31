#!/usr/bin/env bash
# clang-tidy (the repository's .clang-tidy) over the C++ sources changed since a base commit.
#   tools/run_clang_tidy.sh BUILD_DIR [--all] [--strict] [--max N]
# Base: $LWM2M_TIDY_BASE if set; else the merge base with origin/main when that differs from HEAD
# (a feature branch); else HEAD^1 (on main after a merge: everything the merge brought). --all
# checks every source in the compile database instead: on the project's 2-core machines that takes
# far longer than the ~3 minutes CI can spare (about 8 CPU-seconds per file), hence the base.
# --max N checks at most N of the changed files, the most recently committed first (CI uses it
# so that a large merge does not cost it ten minutes). Findings are reported; --strict makes any
# finding fail (exit 1). Skips (exit 0) with a message
# when clang-tidy-14 or git is missing.
set -uo pipefail
build=${1:?usage: run_clang_tidy.sh BUILD_DIR [--all] [--strict] [--max N]}
shift
all=0
strict=0
max=0
while [ $# -gt 0 ]; do
  case $1 in
    --all) all=1 ;;
    --strict) strict=1 ;;
    --max) max=${2:?--max needs a number}; shift ;;
    *) echo "run_clang_tidy: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
cd "$(dirname "$0")/.." || exit 2
tidy=${CLANG_TIDY:-clang-tidy-14}
command -v "$tidy" >/dev/null || { echo "run_clang_tidy: SKIPPED ($tidy not found)"; exit 0; }
[ -f "$build/compile_commands.json" ] || { echo "run_clang_tidy: $build/compile_commands.json missing (configure first)" >&2; exit 2; }
mapfile -t db_files < <(python3 -c '
import json, os, sys
root = os.getcwd() + "/"
for e in json.load(open(sys.argv[1])):
    f = os.path.realpath(os.path.join(e["directory"], e["file"]))
    if f.startswith(root + "src/") or f.startswith(root + "apps/"):
        print(f[len(root):])' "$build/compile_commands.json" | sort -u)
if [ $all -eq 1 ]; then
  files=("${db_files[@]}")
  echo "run_clang_tidy: all ${#files[@]} sources of src/ and apps/"
else
  command -v git >/dev/null && git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
    { echo "run_clang_tidy: SKIPPED (no git work tree: cannot find changed files)"; exit 0; }
  base=${LWM2M_TIDY_BASE:-}
  if [ -z "$base" ] && git rev-parse -q --verify origin/main >/dev/null; then
    base=$(git merge-base HEAD origin/main)
    [ "$base" = "$(git rev-parse HEAD)" ] && base=""
  fi
  [ -z "$base" ] && base=$(git rev-parse -q --verify HEAD^1 || true)
  [ -z "$base" ] && { echo "run_clang_tidy: no base commit; nothing to check"; exit 0; }
  # Most recently committed first (git log order), each file once.
  mapfile -t changed < <(git log --format= --name-only --diff-filter=AM "$base..HEAD" -- 'src/*.cpp' 'apps/*.cpp' |
    awk 'NF && !seen[$0]++')
  files=()
  for f in "${changed[@]}"; do
    printf '%s\n' "${db_files[@]}" | grep -qx "$f" && files+=("$f")
  done
  total=${#files[@]}
  [ "$max" -gt 0 ] && [ "$total" -gt "$max" ] && files=("${files[@]:0:$max}")
  echo "run_clang_tidy: ${#files[@]} of $total changed sources since $(git rev-parse --short "$base")"
fi
[ ${#files[@]} -eq 0 ] && exit 0
jobs=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
out=$(mktemp)
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -n 1 "$tidy" -p "$build" --quiet >"$out" 2>/dev/null
count=$(grep -c ': warning: ' "$out" || true)
grep -A3 ': warning: ' "$out" | head -n 200
rm -f "$out"
echo "run_clang_tidy: $count finding(s) in ${#files[@]} file(s)"
if [ "$strict" -eq 1 ] && [ "$count" -gt 0 ]; then exit 1; fi
exit 0
