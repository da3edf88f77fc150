# Sourced by run.sh and test.sh: create .venv and (re)install the project when pyproject changes.
# $1 is the extras to install, e.g. "[test]".
extras="$1"
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Wangge needs Python 3.11 or newer as '$python' (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv || {
    echo "could not create a virtual environment: on Debian, apt-get install python3-venv" >&2
    exit 1
  }
fi
stamp=".venv/.installed$(echo "$extras" | tr -d '[]')-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".$extras"
  touch "$stamp"
fi
