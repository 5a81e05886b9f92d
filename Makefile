# SPDX-License-Identifier: GPL-2.0
# huatuo-tools: the only build entry.
#   make              build every tool into $(OUTPUT)/ (default: build/)
#   make STATIC=1     fully static binaries (libcjson.a is built from Debian's cjson source)
#   make test         unit, cli and e2e suites; ends with "N passed, N failed, N skipped"
#   make install      PREFIX=/usr/local DESTDIR=
#   make deps         apt-get the build and test packages
#   make vmlinux      regenerate vmlinux/$(ARCH)/vmlinux.h from the running kernel's BTF
#   make bench        performance vs peers, one table (root; BENCH_QUICK=1 ~1 min)
#   make V=1          show full commands

ifeq ($(SANITIZE),1)
OUTPUT ?= build-asan
endif
OUTPUT ?= build
OBJ := $(OUTPUT)/obj
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/')
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
CC ?= gcc
AR ?= ar
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

VMLINUX_DIR := vmlinux/$(ARCH)
ifeq ($(wildcard $(VMLINUX_DIR)/vmlinux.h),)
$(error no $(VMLINUX_DIR)/vmlinux.h for ARCH=$(ARCH): run 'make vmlinux' on a kernel with BTF)
endif

# tools/<tool>.c is a tool; tools/<tool>_<part>.c is a part of it, linked into huatuo-<tool>
# and into the unit tests of that part.
TOOL_SRCS := $(patsubst tools/%.c,%,$(wildcard tools/*.c))
TOOLS := $(sort $(foreach t,$(TOOL_SRCS),$(if $(findstring _,$(t)),,$(t))))
TOOL_PART_OBJS := $(addprefix $(OBJ)/,$(addsuffix .o,$(filter-out $(TOOLS),$(TOOL_SRCS))))
tool_parts = $(filter $(OBJ)/$(1)_%,$(TOOL_PART_OBJS))
TOOL_HDRS := $(wildcard tools/*.h)
BINS := $(addprefix $(OUTPUT)/huatuo-,$(TOOLS))
LIBCOMMON_SRCS := $(wildcard libcommon/*.c)
LIBCOMMON_OBJS := $(patsubst libcommon/%.c,$(OBJ)/libcommon/%.o,$(LIBCOMMON_SRCS))
LIBCOMMON := $(OBJ)/libcommon.a
LIBCOMMON_HDRS := $(wildcard libcommon/*.h)
# Tools with no bpf/<tool>.bpf.c are user-space only (netlink tools).
NOBPF_TOOLS := $(filter-out $(patsubst bpf/%.bpf.c,%,$(wildcard bpf/*.bpf.c)),$(TOOLS))
NOBPF_OBJS := $(addprefix $(OBJ)/,$(addsuffix .o,$(NOBPF_TOOLS)))
TEST_BINS := $(OUTPUT)/ht-unit $(OUTPUT)/ht-testrun $(OUTPUT)/ras-unit $(OUTPUT)/bonding-unit \
	     $(OUTPUT)/bondlacp-unit $(OUTPUT)/refuse-prog.so

WARNINGS := -Wall -Wextra -Werror -Wmissing-field-initializers -Wshadow -Wformat=2 \
	    -Wno-format-nonliteral -Wundef
CFLAGS ?= -g -O2
override CFLAGS += $(WARNINGS) -std=gnu11 -D_GNU_SOURCE -Ilibcommon -Ibpf -Itools -I$(OBJ) \
		   $(NL_CFLAGS) -DHT_GIT_VERSION='"$(HT_GIT_VERSION)"' $(EXTRA_CFLAGS)
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -I$(VMLINUX_DIR) -Ibpf \
	      $(EXTRA_BPF_CFLAGS)
HT_GIT_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

ifeq ($(SANITIZE),1)
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=address,undefined
endif

# Netlink tools use libnl-route-3 (Debian ships its static archives too).
NL_PKG := libnl-route-3.0
NL_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(NL_PKG) 2>/dev/null)

# Debian ships libcjson and libmnl only as shared objects: STATIC=1 builds their static
# archives from Debian's source packages (scripts/build-static-lib.sh) under $(OUTPUT)/static.
STATIC_DIR := $(OUTPUT)/static
ifeq ($(STATIC),1)
LDLIBS := -L$(STATIC_DIR) $(shell $(PKG_CONFIG) --static --libs libbpf) -lcjson -lzstd
NL_LIBS := $(shell $(PKG_CONFIG) --static --libs $(NL_PKG) 2>/dev/null)
override LDFLAGS += -static
STATIC_DEPS := $(STATIC_DIR)/libcjson.a
override CFLAGS += -I$(STATIC_DIR)/include
else
# libbpf and what it needs (libelf, zlib) linked in, as libbpf-tools do: a start skips the
# dynamic loader's work for them (~0.4 ms), and the binaries need only libc and libcjson
LDLIBS := -Wl,-Bstatic $(shell $(PKG_CONFIG) --static --libs libbpf) -Wl,-Bdynamic -lcjson
NL_LIBS := $(shell $(PKG_CONFIG) --libs $(NL_PKG) 2>/dev/null)
STATIC_DEPS :=
endif
# Per-tool extra libraries: LDLIBS_<tool>.
LDLIBS_netdev := $(NL_LIBS)
LDLIBS_bondlacp := $(NL_LIBS)
LDLIBS_pfc := $(NL_LIBS)
LDLIBS_capture := -lz

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all clean test test-unit test-cli test-e2e install uninstall deps vmlinux check-static \
	format lint test-vm fuzz bench

all: $(BINS) $(TEST_BINS)

$(OBJ) $(OBJ)/libcommon:
	$(Q)mkdir -p $@

# Kernel side: one BPF object and skeleton per tool.
$(OBJ)/%.bpf.o: bpf/%.bpf.c bpf/common.bpf.h bpf/common.h $(wildcard bpf/%.h) $(VMLINUX_DIR)/vmlinux.h | $(OBJ)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OBJ)/%.skel.h: $(OBJ)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# hungtask's task iterator is a second object, loaded at the first hang.
$(OBJ)/hungtask_iter.bpf.o: bpf/hungtask.h
$(OBJ)/hungtask.o: $(OBJ)/hungtask_iter.skel.h
# libbpf's feature probes, answered on another CPU at a start (libcommon/bgload.c).
$(OBJ)/libcommon/bgload.o: $(OBJ)/prewarm.skel.h

# User side.
$(OBJ)/libcommon/%.o: libcommon/%.c $(LIBCOMMON_HDRS) $(STATIC_DEPS) | $(OBJ)/libcommon
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBCOMMON): $(LIBCOMMON_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OBJ)/%.o: tools/%.c $(OBJ)/%.skel.h $(LIBCOMMON_HDRS) $(TOOL_HDRS) $(wildcard bpf/%.h) \
	    $(STATIC_DEPS) | $(OBJ)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Tools without a BPF object (netlink, procfs), and the parts of tools: no skeleton to wait for.
$(NOBPF_OBJS) $(TOOL_PART_OBJS): $(OBJ)/%.o: tools/%.c $(LIBCOMMON_HDRS) $(TOOL_HDRS) \
				  $(wildcard bpf/*.h) $(STATIC_DEPS) | $(OBJ)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(foreach t,$(TOOLS),$(eval $(OUTPUT)/huatuo-$(t): $(call tool_parts,$(t))))
$(OUTPUT)/huatuo-%: $(OBJ)/%.o $(LIBCOMMON)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $(filter %.o,$^) $(LIBCOMMON) -L$(STATIC_DIR) $(LDLIBS_$*) $(LDLIBS) \
		-o $@

# Test helpers: libcommon unit driver and a BPF_PROG_TEST_RUN driver for raw_tp programs.
$(OUTPUT)/ht-unit: tests/unit/ht-unit.c $(LIBCOMMON) | $(STATIC_DEPS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# /proc/net/bonding and bond-slave rtnetlink parsers (libcommon/bonding.c)
$(OUTPUT)/bonding-unit: tests/unit/bonding-unit.c $(LIBCOMMON) | $(STATIC_DEPS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# huatuo-bondlacp's change tracking fed with synthetic rtnetlink messages
$(OUTPUT)/bondlacp-unit: tests/unit/bondlacp-unit.c $(call tool_parts,bondlacp) $(LIBCOMMON) | \
			 $(STATIC_DEPS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(NL_LIBS) $(LDLIBS) -o $@

$(OUTPUT)/ht-testrun: tests/helpers/ht-testrun.c tests/helpers/findprog.h | $(STATIC_DEPS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(LDLIBS) -o $@

# LD_PRELOAD: the kernel "refuses" one BPF program (tests/e2e/lifecycle.bats); never sanitized,
# as it goes into sanitized tools too
$(OUTPUT)/refuse-prog.so: tests/helpers/refuse-prog.c
	$(call msg,LIB,$@)
	$(Q)$(CC) -O2 $(WARNINGS) -D_GNU_SOURCE -shared -fPIC $< -ldl -o $@

# huatuo-ras user space (decoders, --thr-backoff, --metrics) driven by synthetic records
$(OUTPUT)/ras-unit: tests/unit/ras-unit.c $(call tool_parts,ras) $(LIBCOMMON) | $(STATIC_DEPS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(STATIC_DIR)/lib%.a:
	$(call msg,STATIC,$@)
	$(Q)scripts/build-static-lib.sh $* $(STATIC_DIR)

check-static: $(BINS)
	@for b in $(BINS); do file $$b | grep -q 'statically linked' || \
		{ echo "$$b is not statically linked"; exit 1; }; done; echo "all tools statically linked"

vmlinux:
	$(call msg,GEN,$(VMLINUX_DIR)/vmlinux.h)
	$(Q)mkdir -p $(VMLINUX_DIR)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_DIR)/vmlinux.h.tmp
	$(Q)mv $(VMLINUX_DIR)/vmlinux.h.tmp $(VMLINUX_DIR)/vmlinux.h
	$(Q)echo "$$(uname -r) $$(date -u +%F)" > $(VMLINUX_DIR)/SOURCE

test: all
	$(Q)HT_BUILD=$(abspath $(OUTPUT)) tests/run $(TEST_SUITES)

test-unit test-cli test-e2e: all
	$(Q)HT_BUILD=$(abspath $(OUTPUT)) tests/run $(patsubst test-%,%,$@)

# libFuzzer harnesses for every libcommon parser, FUZZ_TIME seconds each (libcommon includes
# the skeleton of bpf/prewarm.bpf.c).
FUZZ_TIME ?= 30
fuzz: $(OBJ)/prewarm.skel.h
	$(Q)HT_OBJ=$(OBJ) tests/fuzz/run $(FUZZ_TIME)

# Static analysis of our C code (not vmlinux.h or generated skeletons): zero findings.
lint: all
	$(Q)scripts/lint.sh $(OBJ)

# Not part of 'make test': peers side by side, one table (bench/README.md); root.
BENCH_BINS := $(OUTPUT)/evdriver $(OUTPUT)/ready-exit $(OUTPUT)/ready-all $(OUTPUT)/udpflood
$(OUTPUT)/evdriver: bench/evdriver.c bench/bench.h tests/helpers/findprog.h | $(STATIC_DEPS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(LDLIBS) -o $@

$(OUTPUT)/udpflood: bench/udpflood.c bench/bench.h
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@

$(OUTPUT)/ready-exit: bench/ready-exit.c bench/bench.h
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@

$(OUTPUT)/ready-all: bench/ready-all.c bench/bench.h
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@

bench: $(BINS) $(BENCH_BINS)
	$(Q)$(MAKE) --no-print-directory STATIC=1 OUTPUT=build-static
	$(Q)HT_BUILD=$(abspath $(OUTPUT)) HT_BUILD_STATIC=$(abspath build-static) bench/run

# Not part of 'make test': boots Debian's 6.1 kernel under qemu (TCG) with the static tools.
test-vm:
	$(Q)tests/vm/run

deps:
	scripts/install-deps.sh

install: $(BINS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(wildcard man/man8/*.8) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(wildcard man/man7/*.7) $(DESTDIR)$(MANDIR)/man7/
	install -m 0644 completions/huatuo-tools $(DESTDIR)$(BASHCOMPDIR)/huatuo-tools
	for t in $(TOOLS); do ln -sf huatuo-tools $(DESTDIR)$(BASHCOMPDIR)/huatuo-$$t; done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/huatuo-,$(TOOLS))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/huatuo-,$(addsuffix .8,$(TOOLS)))
	rm -f $(DESTDIR)$(MANDIR)/man7/huatuo-tools.7 $(DESTDIR)$(BASHCOMPDIR)/huatuo-tools
	rm -f $(addprefix $(DESTDIR)$(BASHCOMPDIR)/huatuo-,$(TOOLS))

format:
	clang-format -i libcommon/*.[ch] tools/*.[ch] bpf/*.[ch] tests/unit/*.c tests/helpers/*.c \
		tests/fuzz/*.c bench/*.[ch]

clean:
	rm -rf $(OUTPUT)
