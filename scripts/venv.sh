#!/usr/bin/env bash
# Creates .venv (Python >= 3.11) if missing and installs the given requirements file
# whenever the requirement files changed. Installs Debian's venv module when it is
# missing and we are root.
set -euo pipefail
requirements=${1:-requirements.txt}

find_python() {
  for candidate in ${PYTHON:-} python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Fieldhook needs Python 3.11 or newer (apt-get install python3.11)." >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  python=$(find_python)
  echo "Creating .venv with $python"
  if ! "$python" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      apt-get update -q && apt-get install -y -q "python${version}-venv"
      "$python" -m venv .venv
    else
      echo "The venv module is missing: sudo apt-get install python3-venv" >&2
      exit 1
    fi
  fi
fi

stamp=".venv/.installed-$(basename "$requirements")"
checksum=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$checksum" ]; then
  echo "Installing $requirements into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$checksum" > "$stamp"
fi
