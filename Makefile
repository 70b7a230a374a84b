# pam_google_authenticator (Rust): build, demo, test, install.
#
#   make demo      build, enrol a throwaway secret, authenticate through the real libpam
#   make test      everything CI runs (installs the Debian packages it needs when root)
#   make e2e       only the end-to-end tests (real sshd, pamtester, /etc/pam.d; as root)
#   make bench     times our module against Debian's C module, writes docs/BENCHMARKS.md
#   make campaign-hygiene   long memory and host hygiene runs, with figures
#   make campaigns long runs of every reliability campaign (docs/RELIABILITY.md; as root)
#   make install   install what `make build` built: the module next to pam_unix.so, the
#                  command and the man pages (refuses to overwrite packaged files)
#   make deb       build a Debian package (target/debian/*.deb) and check its contents
#   make rpm       build the RHEL/Fedora package (target/rpm/) and check it

# Every recipe line runs in bash with pipefail, so `cargo test ... | tee log` fails when the
# tests fail: pass/fail comes from the exit codes, never from grepping the logs.
SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c

CARGO      ?= cargo
DESTDIR    ?=
DIVERT     ?=
PREFIX     ?= /usr
# The directory that already holds pam_unix.so (Debian: /lib/<triplet>/security,
# RHEL: /usr/lib64/security); libpam does not search /usr/local.
PAMDIR     ?= $(shell dirname "$$(find /lib /usr/lib /lib64 /usr/lib64 -name pam_unix.so -path '*security*' 2>/dev/null | head -n 1)" 2>/dev/null)

# Debian packages the build and the tests need.
# openssh-server: its service is not started by the tests (they run a private sshd).
# python3-venv and nodejs (with npm): JupyterHub and its proxy for the end-to-end tests.
# strace: fault injection at single system calls (kills and I/O errors in the state tests);
# valgrind: instruction counts (callgrind) and the memory checks of tests/host_hygiene.rs;
# lintian, dpkg-dev: make deb and its check; rpm, rpmlint: make rpm and its check.
APT_PACKAGES := gcc libpam0g-dev libpam-modules pamtester faketime libfaketime oathtool \
                openssh-server openssh-client python3 python3-pexpect python3-venv nodejs \
                strace valgrind lintian dpkg-dev rpm rpmlint

.PHONY: msrv deny all build deps e2e-deps demo test check test-prereqs unit bench bench-smoke root-tier e2e fuzz-smoke fuzz-campaign fuzz-seeds differential-long campaign-hygiene campaigns install rpm uninstall deb clean

all: build

build:
	$(CARGO) build --locked --release --lib --bins

## Installs missing Debian packages when run as root, or prints the apt-get line.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  [ "$$(dpkg-query -W -f='$${Status}' $$p 2>/dev/null)" = "install ok installed" ] || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "Missing packages. Run:  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "cargo (Rust 1.89 or newer) is needed: https://rustup.rs"; exit 1; }

## The real clients of tests/e2e/e2e_jupyterhub.rs: JupyterHub in a private virtualenv and
## configurable-http-proxy in a private npm prefix, both under $(E2E). Idempotent: does
## nothing once the pinned versions are there. The tests run it themselves.
E2E                := target/e2e
PYTHON             ?= python3
JUPYTERHUB_VERSION := 5.5.4
PAMELA_VERSION     := 1.2.0
CHP_VERSION        := 5.3.0
e2e-deps:
	@venv=$(E2E)/jupyterhub-venv; stamp=$$venv/.pinned-$(JUPYTERHUB_VERSION)-$(PAMELA_VERSION); \
	if [ ! -e $$stamp ]; then \
	  echo "Installing jupyterhub==$(JUPYTERHUB_VERSION) pamela==$(PAMELA_VERSION) into $$venv"; \
	  rm -rf $$venv && $(PYTHON) -m venv $$venv && \
	  $$venv/bin/pip install -q --disable-pip-version-check \
	    jupyterhub==$(JUPYTERHUB_VERSION) pamela==$(PAMELA_VERSION) && touch $$stamp; \
	fi
	@chp=$(E2E)/chp; stamp=$$chp/.pinned-$(CHP_VERSION); \
	if [ ! -e $$stamp ]; then \
	  command -v npm >/dev/null || { echo "npm (Node.js 18 or newer) is needed"; exit 1; }; \
	  echo "Installing configurable-http-proxy@$(CHP_VERSION) into $$chp"; \
	  rm -rf $$chp && mkdir -p $$chp && \
	  npm install --silent --no-audit --no-fund --prefix $$chp configurable-http-proxy@$(CHP_VERSION) && \
	  touch $$stamp; \
	fi

demo: deps
	$(CARGO) build --release --lib --bins --examples
	$(CARGO) run --release --quiet --example demo

## Everything CI runs. The root tier runs only as root and says so otherwise. Test output
## is kept in target/test-logs and summed up at the end.
LOGS := target/test-logs
test: deps check msrv deny unit bench-smoke root-tier fuzz-smoke
	@cat $(LOGS)/*.log | awk '/^test result:/ { p += $$4; f += $$6; i += $$8 } \
	  END { printf "\nAll test suites together (unit, integration, root tier):\n"; \
	        printf "%d passed, %d failed\n", p, f; exit (f > 0) }'

## The oldest Rust the package supports (rust-version in Cargo.toml) still builds the module
## and the commands (rustup fetches that toolchain once; minimal profile).
MSRV := $(shell sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml)
msrv:
	@if command -v rustup >/dev/null; then \
	  rustup toolchain install $(MSRV) --profile minimal --no-self-update >/dev/null 2>&1 || \
	    { echo "rustup could not install Rust $(MSRV)"; exit 1; }; \
	  $(CARGO) +$(MSRV) check --locked --lib --bins --target-dir target/msrv && \
	    echo "msrv: builds with Rust $(MSRV)"; \
	else \
	  echo "NOTE: rustup is needed to check the minimum Rust version ($(MSRV)); not checked."; \
	fi

## Licences, banned crates and sources of every dependency (deny.toml), from Cargo.lock,
## offline (no advisory database).
deny:
	@command -v cargo-deny >/dev/null || $(CARGO) install --locked cargo-deny@0.20.2
	$(CARGO) deny --locked check licenses bans sources

check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) clippy --locked --lib --no-default-features -- -D warnings
	@if $(CARGO) tree --locked --no-default-features -e normal --prefix none | grep -E '^(clap|qrcode) '; then \
	  echo "check: the module's own dependency tree (--no-default-features) has the CLI's crates"; exit 1; fi
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --locked --no-deps --lib

## What the test suites need, made once before them (tests/README.md): the module, the
## driver and the test modules, Debian's module and fail2ban unpacked under target/
## (apt-get download and dpkg -x; nothing is installed), and the C helpers. The tests
## never build or fetch anything: they check that these are there and up to date and
## fail with "harness error: ... run `make test-prereqs`" when one is not. For tests run
## with --release: make test-prereqs TEST_PROFILE=release.
TEST_PROFILE ?= debug
TEST_BIN     := target/$(TEST_PROFILE)
DEB_FETCHES  := libpam-google-authenticator:reference fail2ban:fail2ban
test-prereqs: $(TEST_BIN)/syslog_capture.so $(TEST_BIN)/pam_host
	$(CARGO) build --locked --lib --examples --profile $(if $(filter debug,$(TEST_PROFILE)),dev,$(TEST_PROFILE))
	@for p in $(DEB_FETCHES); do \
	  name=$${p%%:*}; dir=target/$${p#*:}; work=$$dir/download.make; \
	  [ -e $$dir/root/VERSION ] && continue; \
	  echo "Fetching Debian's $$name into $$dir/root (apt-get download, dpkg -x)"; \
	  rm -rf $$work && mkdir -p $$work && \
	  ( cd $$work && apt-get download -q $$name ) && deb=$$(ls $$work/*.deb) && \
	  dpkg -x $$deb $$work/root && dpkg-deb -f $$deb Version > $$work/root/VERSION && \
	  rm -rf $$dir/root && mv $$work/root $$dir/root && rm -rf $$work || { \
	    echo "harness error: cannot fetch Debian's $$name (run apt-get update; needs Debian's archive)"; \
	    exit 1; }; \
	done

$(TEST_BIN)/syslog_capture.so: tests/support/syslog_capture.c
	@mkdir -p $(TEST_BIN)
	$${CC:-cc} -shared -fPIC -O2 -Wall -o $@ $< -ldl

$(TEST_BIN)/pam_host: tests/support/pam_host.c
	@mkdir -p $(TEST_BIN)
	$${CC:-cc} -O2 -g -Wall -Wextra -Werror -pthread -o $@ $< -lpam

unit: test-prereqs
	@mkdir -p $(LOGS) && rm -f $(LOGS)/*.log
	$(CARGO) test --locked --all-targets --no-fail-fast 2>&1 | tee $(LOGS)/unit.log

root-tier: test-prereqs
	@if [ "$$(id -u)" = 0 ]; then \
	  $(MAKE) --no-print-directory e2e-deps && \
	  $(CARGO) test --locked --all-targets --no-fail-fast -- --ignored 2>&1 | tee $(LOGS)/root-tier.log; \
	else \
	  echo "NOTE: the root tier (privilege switching, /etc/pam.d services) needs root; run 'sudo make root-tier'."; \
	fi

## The side-by-side benchmark of our module and Debian's C module through the real libpam
## (bench/run.sh; method in docs/BENCHMARKS.md): timing, callgrind, then docs/BENCHMARKS.md
## is rewritten. A few minutes on two cores. bench-smoke runs every case a few times on the
## debug build of `make unit` (fails when a case fails or the modules take different paths)
## and writes no report; `make test` runs it.
BENCH_ITERATIONS ?= 200
BENCH_WAVES      ?= 20
BENCH_SMOKE_ITERATIONS ?= 3
bench: deps
	$(CARGO) build --locked --release --lib
	BENCH_ITERATIONS=$(BENCH_ITERATIONS) BENCH_WAVES=$(BENCH_WAVES) BENCH_PROFILE=release \
	  bash bench/run.sh full

bench-smoke:
	$(CARGO) build --locked --lib
	BENCH_ITERATIONS=$(BENCH_SMOKE_ITERATIONS) BENCH_WAVES=2 BENCH_PROFILE=debug bash bench/run.sh smoke

## The end-to-end tests alone: the pam.d/ recipes behind a private sshd on 127.0.0.1 and
## through pamtester, with throwaway users (see tests/e2e/). root-tier already runs
## them with the other ignored tests, so `make test` does not run them twice.
E2E_TESTS := e2e_sshd:: e2e_pamtester:: e2e_rollout::
e2e: deps test-prereqs
	@if [ "$$(id -u)" = 0 ]; then \
	  $(CARGO) test --test e2e -- --ignored $(E2E_TESTS); \
	else \
	  echo "NOTE: the end-to-end tests (users, /etc/pam.d, sshd) need root; run 'sudo make e2e'."; \
	fi

## Runs every fuzz target briefly (cargo-fuzz on the stable toolchain, with AddressSanitizer),
## starting from the committed seeds in fuzz/seeds/<target>.
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := secret_file module_args code_input policy cli_options
fuzz-smoke:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz build
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t; \
	  if RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) >target/$$t.log 2>&1; then \
	    echo "fuzz $$t: $$(grep -E '^Done' target/$$t.log)"; \
	  else \
	    tail -n 40 target/$$t.log; echo "fuzz $$t: FAILED"; exit 1; \
	  fi; \
	done

## The fuzzing campaign: every target in turn (one core), FUZZ_RUNS executions each (-1: no
## limit) and at most FUZZ_SECONDS each when given on the command line, from the committed
## seeds, without AddressSanitizer unless FUZZ_SANITIZER=address (see the script). Prints
## the executions, exec/s, corpus size and crashes per target, and a table.
FUZZ_RUNS      ?= 10000000
FUZZ_SANITIZER ?= none
fuzz-campaign:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SANITIZER=$(FUZZ_SANITIZER) \
	  FUZZ_SECONDS=$(if $(filter command line,$(origin FUZZ_SECONDS)),$(FUZZ_SECONDS)) \
	  FUZZ_TARGETS="$(FUZZ_TARGETS)" sh scripts/fuzz-campaign.sh

## Rewrites the seed corpora in fuzz/seeds/ (secret files, module arguments, answers,
## command lines; with the setup command's own files when it is built).
fuzz-seeds:
	$(CARGO) build --release --bin google-authenticator
	python3 fuzz/seeds/make-seeds.py $(COMMAND)

## The randomised differential test against Debian's module with many cases (release build).
RANDOM_CASES ?= 100000
differential-long:
	$(MAKE) test-prereqs TEST_PROFILE=release
	GA_RANDOM_CASES=$(RANDOM_CASES) $(CARGO) test --release --test differential reference_random:: -- --nocapture

## The long host hygiene and memory runs (1,000 memcheck cycles, 10,000 logins on threads),
## with Debian's module measured alongside; `make test` runs the short versions.
campaign-hygiene: deps
	$(MAKE) test-prereqs TEST_PROFILE=release
	sh scripts/campaign-hygiene.sh

## The long runs of the reliability campaigns behind docs/RELIABILITY.md (as root, about an
## hour on two cores): crash kills, durability, equal cost of a wrong code, storage faults,
## hostile files, memory and host hygiene. `make test` runs the short versions;
## `make fuzz-campaign` runs the fuzzing campaign on its own.
CRASH_KILLS       ?= 500
DURABILITY_ROUNDS ?= 100
campaigns: deps
	@[ "$$(id -u)" = 0 ] || { echo "The campaigns need root (loop mounts, users, fs ids): sudo make campaigns"; exit 1; }
	$(CARGO) build --release --lib --bins --examples
	$(MAKE) test-prereqs TEST_PROFILE=release
	GA_CRASH_KILLS=$(CRASH_KILLS) $(CARGO) test --release --test module -- --ignored crash_campaign --nocapture
	GA_DURABILITY_ROUNDS=$(DURABILITY_ROUNDS) $(CARGO) test --release --test module -- --ignored a_used_scratch_code --nocapture
	$(CARGO) test --release --test module -- --ignored a_wrong_code_costs timing_campaign --nocapture
	$(CARGO) test --release --test module --test cli -- storage_faults
	$(CARGO) test --release --test module bad_input::
	$(MAKE) campaign-hygiene

## Copies what `make build` built (it does not build: `sudo make install` needs no cargo).
## It refuses to overwrite a file that dpkg or rpm owns; on Debian, DIVERT=1 keeps the
## package's files as <file>.distrib with dpkg-divert, and `make uninstall` puts them back.
## `make uninstall` never deletes a file that a package owns.
install:
	@DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" PAMDIR="$(PAMDIR)" DIVERT="$(DIVERT)" sh scripts/install.sh install

uninstall:
	@DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" PAMDIR="$(PAMDIR)" sh scripts/install.sh uninstall

## Builds the Debian package (target/debian/*.deb) from the release build with
## scripts/build-deb.sh (dpkg-shlibdeps, dpkg-gencontrol, dpkg-deb), then checks it with
## scripts/check-deb.sh (file list, control fields, documentation links, lintian).
## DEB_VERSION=... builds the same files with a higher version (upgrade tests).
## Installing it takes over the files of Debian's libpam-google-authenticator in place.
deb: build
	@deb=$$(sh scripts/build-deb.sh) && sh scripts/check-deb.sh "$$deb"

## Builds the RHEL/Fedora/Rocky package from what `make build` built (rpmbuild, no build
## inside) and checks it: file list, Requires (from the ELF files), Provides/Obsoletes/
## Conflicts of EPEL's google-authenticator, no scriptlets, rpmlint.
rpm: build
	sh scripts/build-rpm.sh
	sh scripts/check-rpm.sh "$$(ls -t target/rpm/RPMS/x86_64/*.rpm | head -n 1)"

clean:
	$(CARGO) clean
