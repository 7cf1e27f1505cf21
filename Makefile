# nacosd -- the front door (GNU make).
#
#   make run      install missing Debian packages, configure, build, then run
#                 nacosd in the foreground on 127.0.0.1:8848 (Ctrl-C stops it)
#   make test     the same set-up plus the test packages, then unit tests and
#                 the whole prove suite     (make test TESTS=t/10-foo.t)
#   make build    configure on first use, build $(BUILDDIR)/nacosd (default)
#   make unit     build the C unit tests
#   make bench    build, then bench/run      (make bench BENCH=liveness)
#   make fuzz     the libFuzzer targets (t/fuzz/) in their own clang build
#                 ($(FUZZ_BUILDDIR)), each for FUZZ_TIME seconds
#                 (make fuzz FUZZ_TIME=600 FUZZ="hpack_decode h2_client");
#                 make test runs them briefly (FUZZ_TEST_TIME), after prove
#   make install  install into the configured --prefix
#   make clean    remove $(BUILDDIR) (not $(FUZZ_BUILDDIR): its corpus)
#
# ./configure runs only when $(BUILDDIR)/Makefile is missing, with
# CONFIGURE_OPTS (make test CONFIGURE_OPTS="--with-debug --with-asan");
# run ./configure yourself to change the options of an existing build.
# Everything else is done by $(BUILDDIR)/Makefile, which ./configure writes.

BUILDDIR ?= objs
CONFIGURE_OPTS ?=

# the libFuzzer build: clang, ./configure --with-fuzzer
FUZZ_BUILDDIR ?= objs-fuzz
FUZZ_TIME ?= 60
FUZZ_TEST_TIME ?= 10
FUZZ ?=

# "make clean" removes it: never the tree itself or a parent of it
ifeq ($(strip $(BUILDDIR)),)
$(error BUILDDIR is empty)
endif
ifneq ($(filter $(abspath $(BUILDDIR)) $(abspath $(BUILDDIR))/%,$(CURDIR)),)
$(error BUILDDIR=$(BUILDDIR) is the source tree or a parent of it)
endif

# --builddir only when it is not the default, so nacosd -V stays short
ND_CONFIGURE = ./configure \
    $(if $(filter-out objs objs/,$(BUILDDIR)),--builddir=$(BUILDDIR)) \
    $(CONFIGURE_OPTS)

# nd_forward DEPS-SET, TARGET: packages, configure if needed, then the
# target in the generated Makefile
define nd_forward
	auto/deps $(1)
	test -f $(BUILDDIR)/Makefile || $(ND_CONFIGURE)
	$(MAKE) -f $(BUILDDIR)/Makefile $(2)
endef

.DEFAULT_GOAL := build

build:
	$(call nd_forward,build,build)

unit:
	$(call nd_forward,build,unit)

install:
	$(call nd_forward,build,install)

# make test TESTS=...: only those, no fuzzing
test:
	$(call nd_forward,test,test)
	$(if $(TESTS),,$(MAKE) fuzz FUZZ_TIME=$(FUZZ_TEST_TIME))

# without clang and libFuzzer: an error in CI (auto/deps test installs
# them), a notice elsewhere
fuzz:
	auto/deps test
	@if [ ! -f $(FUZZ_BUILDDIR)/Makefile ] \
	    && ! command -v clang >/dev/null 2>&1; then \
	    if [ "$${CI:-}" = true ]; then \
	        echo "make fuzz: no clang (apt-get install clang libclang-rt-dev)" >&2; \
	        exit 1; \
	    fi; \
	    echo "make fuzz: SKIPPED, no clang (apt-get install clang libclang-rt-dev)"; \
	    exit 0; \
	fi; \
	test -f $(FUZZ_BUILDDIR)/Makefile \
	    || ./configure --builddir=$(FUZZ_BUILDDIR) --with-fuzzer \
	    || exit 1; \
	$(MAKE) -f $(FUZZ_BUILDDIR)/Makefile fuzz FUZZ_TIME=$(FUZZ_TIME) FUZZ="$(FUZZ)"

bench:
	$(call nd_forward,bench,bench)

run:
	$(call nd_forward,build,build)
	mkdir -p logs data
	exec $(BUILDDIR)/nacosd -p ./ -c conf/nacosd.conf

clean:
	rm -rf $(BUILDDIR)

.PHONY: build unit install test fuzz bench run clean
