# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit bench soak deb image image-test image-deps system-test pbx-test system-deps screenshot screens oled-references clean

demo: $(VENV)/.demo
	$(BIN)/hotline demo

test: system-deps $(VENV)/.dev lint typecheck unit

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.dev
	$(BIN)/mypy

unit: $(VENV)/.dev
	$(BIN)/pytest --ignore=tests/system --ignore=tests/pbx --ignore=tests/image

# The Debian package on a booted Debian bookworm under systemd-nspawn (root; cached root fs).
system-test: system-deps image-deps $(VENV)/.dev
	$(BIN)/pytest -rs tests/system

# The bridge against a real Asterisk 22 (Debian sid's) in a chroot, real calls through AMI
# (root; the root file system, about 500 MB, is debootstrapped once and cached).
pbx-test: system-deps $(VENV)/.dev
	$(BIN)/pytest -rs tests/pbx

# The package for the Pi (ARCH=amd64 for a PC); wheels for the target fetched now.
deb: $(VENV)/.dev
	$(BIN)/python deb/build.py --arch $(or $(ARCH),arm64)

# The SD-card image, dist/hotline-<version>-raspi-arm64.img.xz (root; stage 1, the root
# with kernel, firmware and kiosk, is cached in /var/cache/hotline-build/image by its inputs).
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
image: image-deps $(VENV)/.dev
	$(BIN)/python deb/build.py --arch arm64
	$(BIN)/python deb/image.py --deb dist/hotline_$(VERSION)_arm64.deb

# The image booted in qemu-system-aarch64 -M virt: first boot, READY, the board, the kiosk.
image-test: image system-deps
	$(BIN)/pytest -rs tests/image

image-deps:
	@sh scripts/image-deps.sh

# Benchmarks print each figure beside a baseline measured in the same run (root for the
# CPU quota; Chromium's JS heap is watched for HEAP_MIN minutes).
bench: system-deps $(VENV)/.dev
	$(BIN)/python -m bench.disk_writes
	$(BIN)/python -m bench.sign_bytes
	$(BIN)/python -m bench.suite --soak-s $(or $(SOAK_S),600)
	$(BIN)/python -m bench.scale
	$(BIN)/python -m bench.browser --heap-min $(or $(HEAP_MIN),30)

# Faults in turn for SOAK_MIN minutes (broker, feed, sign, OLEDs, disk); needs root for the disk.
soak: system-deps $(VENV)/.dev
	$(BIN)/python -m bench.soak --minutes $(or $(SOAK_MIN),6)

system-deps:
	@sh scripts/system-deps.sh

# The wallboard at 1920×1080, as committed under docs/.
screenshot: system-deps $(VENV)/.dev
	$(BIN)/python -m tests.support.screenshot docs/wallboard.png \
		--message "Personalemøde kl. 21.30 i kantinen – husk at sætte pause inden" \
		--sign docs/sign.png --demo-page docs/demo.png

# The wallboard on the screens a centre has (the boards tests/test_screens.py checks).
screens: system-deps $(VENV)/.dev
	$(BIN)/python -m tests.support.screens docs/screens

# Deliberately separate: the test run compares with these and never rewrites them.
oled-references: $(VENV)/.dev
	$(BIN)/python -m tests.support.oled_cases

$(VENV)/bin/python:
	@sh scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.demo: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[demo]'
	touch $@

$(VENV)/.dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info
