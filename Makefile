# nacosd -- the front door (GNU make).
#
#   make run      install missing Debian packages, configure, build, then run
#                 nacosd in the foreground on 127.0.0.1:8848 (Ctrl-C stops it)
#   make test     the same set-up plus the test packages, then unit tests and
#                 the whole prove suite     (make test TESTS=t/10-foo.t)
#   make build    configure on first use, build $(BUILDDIR)/nacosd (default)
#   make unit     build the C unit tests
#   make bench    build, then bench/run      (make bench BENCH=liveness)
#   make install  install into the configured --prefix
#   make clean    remove $(BUILDDIR)
#
# ./configure runs only when $(BUILDDIR)/Makefile is missing, with
# CONFIGURE_OPTS (make test CONFIGURE_OPTS="--with-debug --with-asan");
# run ./configure yourself to change the options of an existing build.
# Everything else is done by $(BUILDDIR)/Makefile, which ./configure writes.

BUILDDIR ?= objs
CONFIGURE_OPTS ?=

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

test:
	$(call nd_forward,test,test)

bench:
	$(call nd_forward,bench,bench)

run:
	$(call nd_forward,build,build)
	mkdir -p logs data
	exec $(BUILDDIR)/nacosd -p ./ -c conf/nacosd.conf

clean:
	rm -rf $(BUILDDIR)

.PHONY: build unit install test bench run clean
