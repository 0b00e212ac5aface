#!/usr/bin/env bash
# Installs the Debian packages of the commands that are missing, with apt-get (through sudo when not root), for the
# check scripts. Each argument is COMMAND=PACKAGE, or COMMAND when the package has its name; apt-get options such
# as --no-install-recommends go first.
#   Scripts/install-missing.sh --no-install-recommends haproxy ip=iproute2
set -euo pipefail
options=()
while [ $# -gt 0 ] && [ "${1#--}" != "$1" ]; do options+=("$1"); shift; done
missing=()
for wanted in "$@"; do
    command -v "${wanted%%=*}" >/dev/null || missing+=("${wanted#*=}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "Installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${options[@]}" "${missing[@]}"
