# Everyday loops; .ci/run and the README use the same commands.
PYTHON ?= python3
CARGO_MANIFEST := --manifest-path rust/Cargo.toml

.PHONY: dev install wheel lint rust-lint rust-test py-lint test bench bench-quick ci

# Editable install with the quick dev-release profile (a plain `pip install -e .` builds release).
dev:
	$(PYTHON) -m pip install -e '.[dev]' --config-settings=build-args="--profile dev-release"

install:
	$(PYTHON) -m pip install -e '.[dev]'

# The abi3 wheel for manylinux 2_17 x86_64 (glibc >= 2.17), as CI builds it, into dist/.
wheel:
	$(PYTHON) -m pip install -q ziglang==0.15.2
	PATH="$$($(PYTHON) -c 'import os, ziglang; print(os.path.dirname(ziglang.__file__))'):$$PATH" \
		maturin build --release --zig --compatibility manylinux2014 -o dist

rust-lint:
	cargo fmt $(CARGO_MANIFEST) --all -- --check
	cargo clippy $(CARGO_MANIFEST) --all-targets -- -D warnings
	cargo clippy $(CARGO_MANIFEST) --all-targets --no-default-features -- -D warnings

rust-test:
	cargo test $(CARGO_MANIFEST) --no-default-features

py-lint:
	ruff check .
	ruff format --check .
	mypy --strict python tests
	$(PYTHON) -m mypy.stubtest kubeproxy_config._core --allowlist .ci/stubtest-allowlist.txt

lint: rust-lint py-lint

test:
	$(PYTHON) -m pytest

bench:
	$(PYTHON) benches/run.py

bench-quick:
	$(PYTHON) benches/run.py --quick

ci:
	bash .ci/run
