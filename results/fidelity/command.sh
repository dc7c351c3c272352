#!/bin/sh
# The command that produced table.md (run from the repository root; needs CPython 3.11, 3.12
# and 3.13 under ~/.pyenv/versions or as python3.1x on PATH).
cargo build --release
./target/release/gclab fidelity --out results/fidelity/table.md
