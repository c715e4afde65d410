#!/bin/sh
# A raw XAR example: any directory with an executable. Prints where it runs from and its arguments.
here=$(dirname "$0")
echo "hello from $(basename "$0") in an archive"
echo "data: $(cat "$here/data/greeting.txt")"
i=0
for arg in "$@"; do i=$((i + 1)); echo "arg $i: [$arg]"; done
exit "${HELLO_EXIT:-0}"
