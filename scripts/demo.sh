#!/bin/sh
# demo.sh: what `make demo` shows, the loop of a performance fix: plumb
# profile finding where examples/slow.py (insertion sort) spends its time,
# plumb bench proving that examples/fast.py (merge sort) beats it, then a
# parameter scan that fits O(n^2) against O(n log n).
set -eu
cd "$(dirname "$0")/.."
plumb=${PLUMB:-build/plumb}
# Measure the interpreter itself, not a launcher script in front of it
# (pyenv's shims add ~100 ms of bash to every start), and with -S: skipping
# the site imports cuts start-up from ~70 to ~15 ms on a small VM, so the
# sort's own time stands out from the interpreter's.
py="$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)') -S"

echo "== 1. Where slow.py spends its time: the lines of its inner loop =="
"$plumb" profile --top 5 -- $py examples/slow.py 4000

echo
echo "== 2. A/B: the same 2000 numbers sorted two ways =="
"$plumb" bench -n slow.py -n fast.py \
    "$py examples/slow.py 2000" "$py examples/fast.py 2000"

echo
echo "== 3. Parameter scan: how each grows with n =="
"$plumb" bench --runs 8 --param n=500,1000,2000,4000,8000 \
    -n slow.py -n fast.py \
    "$py examples/slow.py {n}" "$py examples/fast.py {n}"

echo
echo "== 4. The history plumb keeps (.plumb/plumb.db) =="
"$plumb" runs --limit 12
