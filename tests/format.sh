#!/usr/bin/env bash
# Every C source is formatted with the project's .clang-format (skipped when clang-format is absent).
cd "$(dirname "$0")/.." || exit 1
command -v clang-format >/dev/null || { echo "clang-format not installed: skipped"; exit 77; }
bad=$(git ls-files '*.c' '*.h' 2>/dev/null | while read -r f; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"
done)
[ -z "$bad" ] || { echo "not clang-formatted (run clang-format -i on them):"; echo "$bad"; exit 1; }
echo "format: all sources formatted"
