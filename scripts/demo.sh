#!/bin/sh
# demo.sh: what `make demo` shows: plumb bench proving that examples/fast.py
# (merge sort) beats examples/slow.py (insertion sort), then a parameter scan
# that fits O(n^2) against O(n log n).
set -eu
cd "$(dirname "$0")/.."
plumb=${PLUMB:-build/plumb}
# Measure the interpreter itself, not a launcher script in front of it
# (pyenv's shims add ~100 ms of bash to every start), and with -S: skipping
# the site imports cuts start-up from ~70 to ~15 ms on a small VM, so the
# sort's own time stands out from the interpreter's.
py="$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)') -S"

echo "== 1. A/B: the same 2000 numbers sorted two ways =="
"$plumb" bench -n slow.py -n fast.py \
    "$py examples/slow.py 2000" "$py examples/fast.py 2000"

echo
echo "== 2. Parameter scan: how each grows with n =="
"$plumb" bench --runs 8 --param n=500,1000,2000,4000,8000 \
    -n slow.py -n fast.py \
    "$py examples/slow.py {n}" "$py examples/fast.py {n}"

echo
echo "== 3. The history plumb keeps (.plumb/plumb.db) =="
"$plumb" runs --limit 12
