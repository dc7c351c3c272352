#!/bin/sh
# The command that produced table.md and fidelity.jsonl, and the figure drawn from it (run from
# the repository root; needs CPython 3.11, 3.12 and 3.13 under ~/.pyenv/versions or as
# python3.1x on PATH).
cargo build --release
./target/release/gclab fidelity --out results/fidelity/table.md --jsonl results/fidelity/fidelity.jsonl
./target/release/gclab plot results/fidelity
