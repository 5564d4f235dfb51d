# One build description for libplumb, the plumb CLI and the tests.
#   make            build build/libplumb.a, build/plumb and build/libplumb-native.so
#   make demo       install what is missing, build, and benchmark examples/
#   make test       install what is missing, build, run every test
#   make bench      plumb against hyperfine (bench/overhead.py), plumb mem
#                   against tracemalloc, memory_profiler, Scalene (mem_overhead.py),
#                   plumb sql's tracer against untraced queries (sql_overhead.py)
#   make bench-native  what the native shim adds to malloc+free
#   make fuzz       fuzz the command, ELF and memory-profile parsers with libFuzzer
#   make python-ext the Python extension, in-tree (python/plumb/), for $(PYTHON)
# PYTHON is the interpreter the examples run with and python-ext builds for;
# TEST_PYTHON runs pytest.

CC      ?= cc
PYTHON  ?= python3
TEST_PYTHON ?= /usr/bin/python3
BUILD   ?= build
SAN     ?=

PKGS    := sqlite3 jansson
# libpq's header (Debian: libpq-dev) lets plumb sql reach PostgreSQL; the
# library itself is loaded at run time (src/sql_pq.c), so plumb starts
# without it. Without the header src/sql_db_nopg.c refuses PostgreSQL
# targets instead of src/sql_db_pg.c (and the tests know from
# PLUMB_HAVE_LIBPQ); the tests of the PostgreSQL engine link libpq.
HAVE_LIBPQ := $(shell pkg-config --exists libpq 2>/dev/null && echo 1)
ifeq ($(HAVE_LIBPQ),1)
SQL_PG_SRC := src/sql_db_pg.c src/sql_pq.c
PQ_DEFS := -DPLUMB_HAVE_LIBPQ $(shell pkg-config --cflags libpq)
PQ_LIBS := $(shell pkg-config --libs libpq)
else
SQL_PG_SRC := src/sql_db_nopg.c
PQ_DEFS :=
PQ_LIBS :=
endif
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) -fvisibility=hidden -Iinclude -Isrc \
              $(PQ_DEFS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lsqlite3 -ljansson) -lm -pthread -ldl
# PIC=1: the position-independent build under build/pic that the Python
# extension links; the tool's main() is left out, the extension calls
# cli_main() for `python -m plumb`.
ifeq ($(PIC),1)
ALL_CFLAGS += -fPIC -DPLUMB_NO_MAIN
endif
ifeq ($(SAN),1)
ALL_CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDSAN   := -fsanitize=address,undefined
endif

# Operating-system specifics are chosen here, once.
OS      := $(shell uname -s | tr A-Z a-z)
LIB_SRC := $(filter-out src/sql_db_pg.c src/sql_db_nopg.c src/sql_pq.c,\
               $(wildcard src/*.c src/report/*.c src/sampler/*.c src/$(OS)/*.c)) \
           $(SQL_PG_SRC)
CLI_SRC := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/c/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

.PHONY: all deps demo test unit unit-asan unit-valgrind cli-test bench fuzz clean sql-pg-test \
        python-ext pic-libs python-test python-smoke native-test native-test-ubsan \
        bench-native
all: $(BUILD)/libplumb.a $(BUILD)/plumb $(BUILD)/libplumb-native.so

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libplumb.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/plumb: $(CLI_OBJ) $(BUILD)/libplumb.a
	$(CC) $(LDSAN) -o $@ $^ $(LIBS)

$(BUILD)/libplumb-cli.a: $(CLI_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/test-runner: $(TEST_OBJ) $(BUILD)/libplumb.a
	$(CC) $(LDSAN) -o $@ $^ $(LIBS) $(PQ_LIBS) -lcmocka

deps:
	@scripts/deps.sh

unit: $(BUILD)/test-runner
	$(BUILD)/test-runner

unit-asan:
	$(MAKE) BUILD=build/asan SAN=1 unit

unit-valgrind: $(BUILD)/test-runner
	valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	    $(BUILD)/test-runner

# The PostgreSQL tests (group sql_pg, which `unit` leaves out) against a
# throwaway server on loopback that tests/pgserver.py starts and removes;
# plain, then under ASan and UBSan.
sql-pg-test: $(BUILD)/test-runner
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN=1 $(BUILD)/asan/test-runner
	$(TEST_PYTHON) tests/pgserver.py run -- sh -c \
	    '$(BUILD)/test-runner sql_pg && $(BUILD)/asan/test-runner sql_pg'

# The native allocation shim that `plumb mem --native` preloads into the
# program it records (include/plumb_native.h): one file, position-independent,
# linking only libdl and pthreads, never with SAN's sanitizers (ASan brings
# its own malloc). -fno-builtin: it defines malloc and its kin, and the
# calls in it and in its tests must stay calls.
NATIVE_CFLAGS := -std=c11 $(WARN) $(CFLAGS) -fno-builtin -Iinclude
NATIVE_LIBS := -ldl -pthread

$(BUILD)/libplumb-native.so: src/native/shim.c include/plumb_native.h
	@mkdir -p $(dir $@)
	$(CC) $(NATIVE_CFLAGS) -fPIC -fvisibility=hidden -shared -o $@ $< $(NATIVE_LIBS)

# Its tests run with it preloaded, and plain only: ASan and valgrind replace
# malloc themselves and cannot run beside a malloc interposer (ASan refuses
# to start when it is not first in the library list; valgrind takes over
# some of the calls, and aborts on pvalloc). native-test-ubsan runs the same
# tests on a shim built with UBSan.
# The shim exports its interface and the functions it wraps, nothing else;
# smoke.py runs it in each CPython 3.10-3.13 present, with NumPy where found.
NATIVE_EXPORTS := aligned_alloc calloc free malloc memalign mmap mmap64 mremap munmap \
                  plumb_native_set_hooks posix_memalign pvalloc realloc reallocarray valloc
NATIVE_PYTHONS ?= $(TEST_PYTHON) $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.1[0-3].*/bin/python3)

$(BUILD)/test-native: tests/native/test_native.c include/plumb_native.h
	@mkdir -p $(dir $@)
	$(CC) $(NATIVE_CFLAGS) -o $@ $< -lcmocka $(NATIVE_LIBS)

# test-native-early includes the shim's source, and is the interposer itself.
$(BUILD)/test-native-early: tests/native/test_early.c src/native/shim.c include/plumb_native.h
	@mkdir -p $(dir $@)
	$(CC) $(NATIVE_CFLAGS) -o $@ $< -lcmocka $(NATIVE_LIBS)

$(BUILD)/test-native-counter.so: tests/native/counter.c include/plumb_native.h
	@mkdir -p $(dir $@)
	$(CC) $(NATIVE_CFLAGS) -fPIC -shared -o $@ $< $(NATIVE_LIBS)

NATIVE_SHIM ?= $(BUILD)/libplumb-native.so

native-test: $(NATIVE_SHIM) $(BUILD)/test-native $(BUILD)/test-native-early \
             $(BUILD)/test-native-counter.so
	@exports=$$(nm -D --defined-only $(NATIVE_SHIM) | awk '{print $$3}' | LC_ALL=C sort | xargs); \
	expected=$$(printf '%s\n' $(NATIVE_EXPORTS) | LC_ALL=C sort | xargs); \
	test "$$exports" = "$$expected" || { \
	    echo "$(NATIVE_SHIM) exports: $$exports"; echo "expected: $$expected"; exit 1; } >&2
	LD_PRELOAD=$(CURDIR)/$(NATIVE_SHIM) $(BUILD)/test-native
	$(BUILD)/test-native-early
	@for py in $(NATIVE_PYTHONS); do \
	    LD_PRELOAD=$(CURDIR)/$(NATIVE_SHIM) $$py tests/native/smoke.py \
	        $(BUILD)/test-native-counter.so || exit 1; \
	done

$(BUILD)/ubsan/libplumb-native.so: src/native/shim.c include/plumb_native.h
	@mkdir -p $(dir $@)
	$(CC) $(NATIVE_CFLAGS) -fsanitize=undefined -fno-sanitize-recover=all -fPIC \
	    -fvisibility=hidden -shared -o $@ $< $(NATIVE_LIBS)

native-test-ubsan: $(BUILD)/ubsan/libplumb-native.so
	$(MAKE) --no-print-directory NATIVE_SHIM=$(BUILD)/ubsan/libplumb-native.so native-test

# libFuzzer needs clang; the parsers under test are portable C. Each
# target gets FUZZ_SECONDS from its seed corpus in tests/fuzz/corpus/.
FUZZ_SECONDS ?= 15
FUZZ_TARGETS := command elf mem_json sql sql_trace
FUZZ_SRC_command := src/command.c
FUZZ_SRC_elf := src/sampler/elf.c
FUZZ_SRC_mem_json := src/mem.c src/stack.c src/utf8.c src/report/mem_json.c \
    src/report/mem.c src/report/json_value.c src/report/format.c \
    src/report/profile.c src/metric.c
FUZZ_LIBS_mem_json := $(LIBS)
FUZZ_SRC_sql := src/sql.c src/sql_token.c src/sql_access.c src/sql_index.c
FUZZ_SRC_sql_trace := src/sql_trace.c
FUZZ_LIBS_sql_trace := $(LIBS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c include/plumb.h $(wildcard src/*.c src/sampler/*.c src/report/*.c)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -Iinclude -Isrc \
	    $(shell pkg-config --cflags jansson 2>/dev/null) \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o $@ $< $(FUZZ_SRC_$*) $(FUZZ_LIBS_$*)

fuzz: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	    rm -rf $(BUILD)/fuzz/corpus-$$t && mkdir -p $(BUILD)/fuzz/corpus-$$t && \
	    echo "fuzz_$$t: $(FUZZ_SECONDS) s" && \
	    $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=5 \
	        -artifact_prefix=$(BUILD)/fuzz/ -print_final_stats=0 \
	        $(BUILD)/fuzz/corpus-$$t tests/fuzz/corpus/$$t 2>$(BUILD)/fuzz/$$t.log || \
	        { tail -40 $(BUILD)/fuzz/$$t.log; exit 1; }; \
	    grep -E '^Done [0-9]+ runs' $(BUILD)/fuzz/$$t.log; \
	done

# The Python extension for $(PYTHON), found through its sysconfig: libplumb
# and the tool as PIC archives, linked into python/plumb/_core<EXT_SUFFIX>
# with their symbols hidden (only PyInit__core is exported). One build per
# interpreter; they sit side by side. setup.py runs this target too.
PY_INCLUDE = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
PY_EXT_SUFFIX = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
PIC_LIBS := $(BUILD)/pic/libplumb-cli.a $(BUILD)/pic/libplumb.a

pic-libs: $(BUILD)/libplumb-cli.a $(BUILD)/libplumb.a

python-ext:
	@test -n "$(PY_EXT_SUFFIX)" || { echo "plumb: $(PYTHON) does not run" >&2; exit 1; }
	@test -f "$(PY_INCLUDE)/Python.h" || { echo "plumb: no Python.h for $(PYTHON) in $(PY_INCLUDE); on Debian: apt-get install python3-dev" >&2; exit 1; }
	$(MAKE) --no-print-directory BUILD=$(BUILD)/pic PIC=1 pic-libs
	$(MAKE) --no-print-directory python/plumb/_core$(PY_EXT_SUFFIX)
	@# bytecode now, so that a Python that writes none (PYTHONDONTWRITEBYTECODE,
	@# a read-only checkout) does not compile plumb mem's and plumb sql's
	@# boot at every start (3 ms)
	$(PYTHON) -m compileall -q python/plumb

# A pattern rule, so that no other target runs $(PYTHON) to learn the name.
# The extension is every C file of python/plumb/, one per noun; _core.c
# holds the module and calls each part's plumb_py_add_* (_core.h).
PY_EXT_SRC := $(wildcard python/plumb/*.c)
python/plumb/_core.%.so: $(PY_EXT_SRC) python/plumb/_core.h $(PIC_LIBS) include/plumb.h
	$(CC) $(ALL_CFLAGS) -fPIC -isystem $(PY_INCLUDE) -shared -o $@ $(PY_EXT_SRC) \
	    -Wl,--exclude-libs,ALL $(PIC_LIBS) $(LIBS)

# pytest of the package with TEST_PYTHON, then a build, an import and a
# call on each pyenv 3.12 and 3.13 present (they have no pytest).
SMOKE_PYTHONS ?= $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.12.*/bin/python3 \
                            $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.13.*/bin/python3)

python-test:
	$(MAKE) --no-print-directory PYTHON=$(TEST_PYTHON) python-ext $(BUILD)/libplumb-native.so
	PYTHONPATH=$(CURDIR)/python PLUMB_NATIVE_LIB=$(CURDIR)/$(BUILD)/libplumb-native.so \
	    $(TEST_PYTHON) -m pytest -q tests/python
	$(MAKE) --no-print-directory python-smoke

python-smoke:
	@for py in $(SMOKE_PYTHONS); do \
	    $(MAKE) --no-print-directory PYTHON=$$py python-ext && \
	    PYTHONPATH=$(CURDIR)/python $$py tests/python/smoke.py || exit 1; \
	done

# plumb mem's tests run their programs with TEST_PYTHON, whose recorder is
# the extension built for it
cli-test: all
	$(MAKE) --no-print-directory PYTHON=$(TEST_PYTHON) python-ext
	PLUMB=$(CURDIR)/$(BUILD)/plumb PYTHON=$(PYTHON) $(TEST_PYTHON) -m pytest -q tests/cli

test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) unit-asan
	$(MAKE) unit-valgrind
	$(MAKE) sql-pg-test
	$(MAKE) native-test
	$(MAKE) native-test-ubsan
	$(MAKE) fuzz
	$(MAKE) cli-test
	$(MAKE) python-test

demo: deps
	$(MAKE) all
	PYTHON=$(PYTHON) scripts/demo.sh

bench: deps
	$(MAKE) all
	$(MAKE) --no-print-directory PYTHON=$(TEST_PYTHON) python-ext
	$(TEST_PYTHON) bench/overhead.py --plumb $(BUILD)/plumb
	$(TEST_PYTHON) bench/profile_overhead.py --plumb $(BUILD)/plumb --python $(TEST_PYTHON)
	$(TEST_PYTHON) bench/mem_overhead.py --plumb $(BUILD)/plumb --python $(TEST_PYTHON)
	$(TEST_PYTHON) bench/sql_overhead.py --start-pg

$(BUILD)/bench-native-loop: bench/native_loop.c include/plumb_native.h
	@mkdir -p $(dir $@)
	$(CC) $(NATIVE_CFLAGS) -o $@ $< $(NATIVE_LIBS)

bench-native: $(BUILD)/libplumb-native.so $(BUILD)/bench-native-loop
	$(TEST_PYTHON) bench/native_overhead.py --shim $(BUILD)/libplumb-native.so \
	    --loop $(BUILD)/bench-native-loop

clean:
	rm -rf build python/plumb/_core.*.so python/plumb/_core.so

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
