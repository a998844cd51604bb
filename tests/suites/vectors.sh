#!/bin/sh
# The vendored third-party vectors (tests/vectors, see its README) are
# unmodified: every file matches SHA256SUMS, and no file sits there
# unlisted.
BIN=$1; ROOT=$(cd "$2" && pwd)
cd "$ROOT/tests/vectors" || { echo "FAIL vectors: tests/vectors is missing"; exit 0; }
if out=$(sha256sum -c --quiet SHA256SUMS 2>&1); then
    echo "PASS vectors/checksums ($(wc -l < SHA256SUMS) files)"
else
    echo "FAIL vectors/checksums: a vendored file changed or is missing"
    printf '%s\n' "$out" | head -5
fi
extra=$(find . -type f ! -name SHA256SUMS ! -path ./README.md | sort | while IFS= read -r f; do
    grep -qF "  $f" SHA256SUMS || echo "$f"; done)
if [ -z "$extra" ]; then echo "PASS vectors/all-listed"
else echo "FAIL vectors/all-listed: files not in SHA256SUMS:"; printf '%s\n' "$extra" | head -5; fi
