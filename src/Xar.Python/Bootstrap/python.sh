#!/bin/sh
# sys.executable of a xar Python archive whose image carries native libraries (docs/python-apps.md
# section 7). The bootstrap gives the application the host's LD_LIBRARY_PATH back, so that host
# programs it starts do not load the image's copies; a child that starts this interpreter again
# (subprocess with sys.executable, multiprocessing's spawn) comes here and gets them in front again.
if [ -z "${XAR_PYTHON_EXECUTABLE:-}" ]; then
  echo "$0: XAR_PYTHON_EXECUTABLE is not set (the archive's bootstrap sets it for the application)" >&2
  exit 127
fi
root=$(CDPATH= cd -- "${0%/*}/../.." && pwd) || exit 127
LD_LIBRARY_PATH="@LIBRARY_PATH@${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
exec "$XAR_PYTHON_EXECUTABLE" "$@"
