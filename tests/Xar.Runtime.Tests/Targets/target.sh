#!/bin/sh
# The shell target of the launcher tests; Targets/target.c behaves the same.
printf 'mode=%s new=%s\n' "$XAR_RUN_MODE" "${XARFUSE_NEW_MOUNT:-0}"
for a in "$@"; do
  case "$a" in
    exit:*) exit "${a#exit:}" ;;
    kill:*) kill -"${a#kill:}" $$ ;;
    stdin) cat ;;
    sleep:*) sleep "${a#sleep:}" ;;
    read:*) cat "$XAR_MOUNT/${a#read:}" ;;
    env:*) eval "printf '%s=%s\n' \"${a#env:}\" \"\${${a#env:}}\"" ;;
    *) printf 'arg=[%s]\n' "$a" ;;
  esac
done
