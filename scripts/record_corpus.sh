#!/usr/bin/env bash
# Records the corpus of real Python programs (corpus/programs/) with every installed CPython
# 3.11, 3.12 and 3.13, into corpus/recordings/<version>/<program>.gctrace (with the real run's
# collector log and meta file beside each), and checks each recording with
# `gclab fidelity --recording`.
#
#   scripts/record_corpus.sh                 all programs, all installed versions
#   scripts/record_corpus.sh --only NAME     one program
#   scripts/record_corpus.sh --versions "3.13.0"
#
# Each version gets a virtual environment under target/corpus-venv/<version> with the programs'
# dependencies installed by pip at the pinned versions below (the only step that needs the
# network, to PyPI). PYTHONHASHSEED is fixed so that a recording repeats.
set -euo pipefail
cd "$(dirname "$0")/.."

PINS=(sphinx==8.1.3 mypy==1.13.0 docutils==0.21.2 jinja2==3.1.4 sqlalchemy==2.0.36
      pyperformance==1.11.0 pyperf==2.8.1)
PROGRAMS=(gc_collect gc_traversal create_gc_cycles json_roundtrip jinja2_render sqlalchemy_orm
          docutils_render sphinx_build mypy_check)
VERSIONS=()
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --only) ONLY="$2"; shift 2 ;;
    --versions) read -r -a VERSIONS <<< "$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "record_corpus.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ ${#VERSIONS[@]} -eq 0 ]; then
  for v in 3.11 3.12 3.13; do
    p=$(ls -d "$HOME"/.pyenv/versions/"$v".* 2>/dev/null | sort -V | tail -1 || true)
    if [ -n "$p" ]; then VERSIONS+=("$(basename "$p")"); else echo "skipping CPython $v: not installed"; fi
  done
fi

cargo build --release --quiet -p gclab
GCLAB=$PWD/target/release/gclab
status=0
# The fidelity table of every recording made by this run (docs/recording.md quotes it).
table=corpus/recordings/fidelity.md
mkdir -p corpus/recordings
{
  echo "# Replay fidelity of the corpus recordings"
  echo
  echo "Written by \`scripts/record_corpus.sh\` on $(date -u +%Y-%m-%d): each recording replayed under"
  echo "its interpreter's preset by \`gclab fidelity --recording\`."
  echo
  echo "| recording | CPython | preset | collections equal | per generation (real) | per generation (model) | collected (real) | collected (model) | refcount frees (real) | refcount frees (model) |"
  echo "|---|---|---|---:|---|---|---:|---:|---:|---:|"
} > "$table"
for v in "${VERSIONS[@]}"; do
  py="$HOME/.pyenv/versions/$v/bin/python3"
  venv="target/corpus-venv/$v"
  if [ ! -x "$venv/bin/python" ]; then
    echo "== creating $venv"
    "$py" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
  fi
  out="corpus/recordings/$v"
  mkdir -p "$out"
  for prog in "${PROGRAMS[@]}"; do
    if [ -n "$ONLY" ] && [ "$ONLY" != "$prog" ]; then continue; fi
    echo "== $prog under CPython $v"
    args=()
    if [ "$prog" = mypy_check ]; then
      # mypy's stub cache is filled outside the recording (see the program's docstring).
      # (relative to corpus/programs, so that the recording names no path of this machine)
      cache="../../target/corpus-mypy-cache/$v"
      rm -rf "target/corpus-mypy-cache/$v"
      (cd corpus/programs && PYTHONHASHSEED=0 "../../$venv/bin/python" mypy_check.py "$cache" --warm)
      args=("$cache")
    fi
    (cd corpus/programs && PYTHONHASHSEED=0 "$GCLAB" record --python "$PWD/../../$venv/bin/python" \
        -o "../../$out/$prog.gctrace" -- "$prog.py" "${args[@]}" >/dev/null 2>&1)
    if ! "$GCLAB" fidelity --recording "$out/$prog.gctrace" --out "$out/$prog.fidelity.md" | tail -1; then
      status=1
    fi
    sed -n 3p "$out/$prog.fidelity.md" >> "$table"
    rm -f "$out/$prog.fidelity.md"
  done
done
exit $status
