#!/bin/sh
# What the ORIGINAL xarexec_fuse runs: /bin/sh -e <mount>/__xar__/run.sh <archive> ARGS...
# The xar launcher starts the interpreter itself and never runs this file.
XAR_MOUNT=$(cd "$(dirname "$0")/.." && pwd)
XAR_INVOKED_NAME=$1
shift
export XAR_MOUNT XAR_INVOKED_NAME
if [ -n "@LIBRARY_PATH@" ]; then
  # The image's libraries in front, as the xar launcher puts them (docs/python-apps.md section 6).
  if [ "${LD_LIBRARY_PATH+set}" = set ]; then
    XAR_HOST_LD_LIBRARY_PATH=$LD_LIBRARY_PATH
    export XAR_HOST_LD_LIBRARY_PATH
  else
    unset XAR_HOST_LD_LIBRARY_PATH
  fi
  LD_LIBRARY_PATH="$XAR_MOUNT/@LIBRARY_PATH@${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
fi
for python in @INTERPRETER@ @VERSIONED_NAME@; do
  if command -v "$python" >/dev/null 2>&1; then
    exec "$python" @FLAGS@ -c "@BOOT@" "$@"
  fi
done
echo "$XAR_INVOKED_NAME: needs @NEEDS@; tried @INTERPRETER@ and @VERSIONED_NAME@ on PATH" >&2
exit 127
