# pam_google_authenticator (Rust): build, demo, test, install.
#
#   make demo      build, enrol a throwaway secret, authenticate through the real libpam
#   make test      everything CI runs (installs the Debian packages it needs when root)
#   make e2e       only the end-to-end tests (real sshd, pamtester, /etc/pam.d; as root)
#   make campaign-hygiene   long memory and host hygiene runs, with figures
#   make campaigns long runs of every reliability campaign (docs/RELIABILITY.md; as root)
#   make install   install the module next to pam_unix.so, the command and the man pages
#   make deb       build a Debian package (target/debian/*.deb) and check its contents
#   make rpm       build the RHEL/Fedora package (target/rpm/) and check it

CARGO      ?= cargo
DESTDIR    ?=
PREFIX     ?= /usr
# The directory that already holds pam_unix.so (Debian: /lib/<triplet>/security,
# RHEL: /usr/lib64/security); libpam does not search /usr/local.
PAMDIR     ?= $(shell dirname "$$(find /lib /usr/lib /lib64 /usr/lib64 -name pam_unix.so -path '*security*' 2>/dev/null | head -n 1)" 2>/dev/null)
MODULE     := target/release/libpam_google_authenticator.so
COMMAND    := target/release/google-authenticator

# Debian packages the build and the tests need.
# openssh-server: its service is not started by the tests (they run a private sshd).
# python3-venv and nodejs (with npm): JupyterHub and its proxy for the end-to-end tests.
# strace: fault injection at single system calls (kills and I/O errors in the state tests);
# valgrind: instruction counts (callgrind) and the memory checks of tests/host_hygiene.rs;
# rpm, rpmlint: make rpm (the RHEL/Fedora package) and its checks.
APT_PACKAGES := gcc libpam0g-dev libpam-modules pamtester faketime libfaketime oathtool \
                openssh-server openssh-client python3 python3-pexpect python3-venv nodejs \
                strace valgrind rpm rpmlint

.PHONY: all build deps e2e-deps demo test check unit root-tier e2e fuzz-smoke differential-long campaign-hygiene campaigns install rpm uninstall deb clean

all: build

build:
	$(CARGO) build --release --lib --bins

## Installs missing Debian packages when run as root, or prints the apt-get line.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
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

## The real clients of tests/e2e_jupyterhub.rs: JupyterHub in a private virtualenv and
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
test: deps check unit root-tier fuzz-smoke
	@cat $(LOGS)/*.log | awk '/^test result:/ { p += $$4; f += $$6; i += $$8 } \
	  END { printf "\nAll test suites together (unit, integration, root tier):\n"; \
	        printf "%d passed, %d failed\n", p, f; exit (f > 0) }'

check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --lib

unit:
	@mkdir -p $(LOGS) && rm -f $(LOGS)/*.log
	$(CARGO) build --lib --examples
	$(CARGO) test --all-targets 2>&1 | tee $(LOGS)/unit.log; exit $$(grep -q '^error\|FAILED\|test result: FAILED' $(LOGS)/unit.log && echo 1 || echo 0)

root-tier:
	@if [ "$$(id -u)" = 0 ]; then \
	  $(CARGO) test --all-targets -- --ignored 2>&1 | tee $(LOGS)/root-tier.log; \
	  ! grep -q '^error\|FAILED\|test result: FAILED' $(LOGS)/root-tier.log || exit 1; \
	else \
	  echo "NOTE: the root tier (privilege switching, /etc/pam.d services) needs root; run 'sudo make root-tier'."; \
	fi

## The end-to-end tests alone: the pam.d/ recipes behind a private sshd on 127.0.0.1 and
## through pamtester, with throwaway users (see tests/e2e_*.rs). root-tier already runs
## them with the other ignored tests, so `make test` does not run them twice.
E2E_TESTS := --test e2e_sshd --test e2e_pamtester --test e2e_rollout
e2e: deps
	@if [ "$$(id -u)" = 0 ]; then \
	  $(CARGO) test $(E2E_TESTS) -- --ignored; \
	else \
	  echo "NOTE: the end-to-end tests (users, /etc/pam.d, sshd) need root; run 'sudo make e2e'."; \
	fi

## Runs every fuzz target briefly (cargo-fuzz on the stable toolchain, with AddressSanitizer).
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := secret_file module_args code_input policy
fuzz-smoke:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz build
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  if RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) >target/$$t.log 2>&1; then \
	    echo "fuzz $$t: $$(grep -E '^Done' target/$$t.log)"; \
	  else \
	    tail -n 40 target/$$t.log; echo "fuzz $$t: FAILED"; exit 1; \
	  fi; \
	done

## The randomised differential test against Debian's module with many cases (release build).
RANDOM_CASES ?= 100000
differential-long:
	GA_RANDOM_CASES=$(RANDOM_CASES) $(CARGO) test --release --test reference_random -- --nocapture

## The long host hygiene and memory runs (1,000 memcheck cycles, 10,000 logins on threads),
## with Debian's module measured alongside; `make test` runs the short versions.
campaign-hygiene: deps
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
	GA_CRASH_KILLS=$(CRASH_KILLS) $(CARGO) test --release --test state_files -- --ignored crash_campaign --nocapture
	GA_DURABILITY_ROUNDS=$(DURABILITY_ROUNDS) $(CARGO) test --release --test root_tier -- --ignored a_used_scratch_code --nocapture
	$(CARGO) test --release --test root_tier -- --ignored a_wrong_code_costs timing_campaign --nocapture
	$(CARGO) test --release --test state_files --test cli_file -- storage_faults
	$(CARGO) test --release --test bad_input
	$(MAKE) campaign-hygiene

install: build
	@[ -n "$(PAMDIR)" ] || { echo "Cannot find the directory of pam_unix.so; pass PAMDIR=..."; exit 1; }
	install -D -m 0644 $(MODULE) $(DESTDIR)$(PAMDIR)/pam_google_authenticator.so
	install -D -m 0755 $(COMMAND) $(DESTDIR)$(PREFIX)/bin/google-authenticator
	install -D -m 0644 man/google-authenticator.1 $(DESTDIR)$(PREFIX)/share/man/man1/google-authenticator.1
	install -D -m 0755 target/release/google-authenticator-audit $(DESTDIR)$(PREFIX)/bin/google-authenticator-audit
	install -D -m 0644 man/google-authenticator-audit.1 $(DESTDIR)$(PREFIX)/share/man/man1/google-authenticator-audit.1
	install -D -m 0644 man/pam_google_authenticator.8 $(DESTDIR)$(PREFIX)/share/man/man8/pam_google_authenticator.8

uninstall:
	rm -f $(DESTDIR)$(PAMDIR)/pam_google_authenticator.so
	rm -f $(DESTDIR)$(PREFIX)/bin/google-authenticator
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/google-authenticator.1
	rm -f $(DESTDIR)$(PREFIX)/bin/google-authenticator-audit
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/google-authenticator-audit.1
	rm -f $(DESTDIR)$(PREFIX)/share/man/man8/pam_google_authenticator.8

## Builds the Debian package with cargo-deb (installed if missing) and checks its file list
## and control fields. Installing it replaces Debian's libpam-google-authenticator.
deb:
	@command -v cargo-deb >/dev/null || $(CARGO) install --locked cargo-deb
	$(CARGO) deb
	sh scripts/check-deb.sh "$$(ls -t target/debian/*.deb | head -n 1)"

## Builds the RHEL/Fedora/Rocky package from what `make build` built (rpmbuild, no build
## inside) and checks it: file list, Requires (from the ELF files), Provides/Obsoletes/
## Conflicts of EPEL's google-authenticator, no scriptlets, rpmlint.
rpm: build
	sh scripts/build-rpm.sh
	sh scripts/check-rpm.sh "$$(ls -t target/rpm/RPMS/x86_64/*.rpm | head -n 1)"

clean:
	$(CARGO) clean
