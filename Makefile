# Warren: the two commands a newcomer needs are `make run` and `make test`.
# Both install what is missing (Debian 12, as root), build, and go.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
NODE_BIN := $(BUILD)/services/broker/warren-node
CTL_BIN := $(BUILD)/services/ctl/warrenctl
EXPORTER_BIN := $(BUILD)/services/exporter/warren-exporter
BALANCER_BIN := $(BUILD)/services/balancer/warren-balancer
MGMT_BIN := $(BUILD)/services/mgmt/warren-mgmt
PERF_BIN := $(BUILD)/services/perf/warren-perf

APT_PACKAGES := g++ cmake ninja-build ccache pkg-config libssl-dev zlib1g-dev \
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler prometheus-cpp-dev \
  libtomlplusplus-dev libgtest-dev libgmock-dev libasio-dev nlohmann-json3-dev libcli11-dev \
  libspdlog-dev libboost-dev libre2-dev libpcre2-dev clang libclang-rt-14-dev \
  python3 python3-pika python3-grpcio amqp-tools librabbitmq-client-java libslf4j-java \
  prometheus chromium
# Only for tests: rabbitmq-server brings rabbitmqadmin, which tests/mgmt/test_compat.py drives
# warren-mgmt with (python3-grpcio plays a node in tests/mgmt/test_hardening.py); docker.io,
# docker-compose and debootstrap run the images and docker/compose.yaml (tests/e2e, docker/README.md).
TEST_PACKAGES := rabbitmq-server docker.io docker-compose debootstrap

# Installs the missing ones of $(1) without starting any service they bring (a packaged
# RabbitMQ or Prometheus must not take the ports `make run` and the tests use).
define apt_install_missing
	@missing=""; \
	for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	$(2) \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  guard=""; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
	    chmod +x /usr/sbin/policy-rc.d; guard=1; }; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; status=$$?; \
	  [ -z "$$guard" ] || rm -f /usr/sbin/policy-rc.d; \
	  exit $$status; \
	fi
endef

.PHONY: all deps test-deps build run test asan soak bench fuzz interop-deps clean images e2e compat

all: build

# Installs only what is missing, so a ready machine pays nothing.
deps:
	$(call apt_install_missing,$(APT_PACKAGES),command -v javac >/dev/null || missing="$$missing default-jdk-headless"; command -v npm >/dev/null || missing="$$missing nodejs npm";)

test-deps:
	$(call apt_install_missing,$(TEST_PACKAGES),)

build: deps
	@cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

# Starts one node with the built-in defaults: AMQP on 0.0.0.0:5672,
# guest/guest from loopback.
run: build
	$(NODE_BIN)

# npm packages of the JavaScript tests, each folder from its own package-lock.json,
# reinstalled only when the lock file is newer than node_modules.
NPM_TEST_DIRS := tests/interop/js tests/mgmt/browser tests/e2e/chart

interop-deps:
	@for d in $(NPM_TEST_DIRS); do \
	  if [ -f $$d/package-lock.json ] && { [ ! -d $$d/node_modules ] || \
	      [ $$d/package-lock.json -nt $$d/node_modules ]; }; then \
	    npm ci --prefix $$d --no-audit --no-fund || exit 1; \
	  fi; \
	done

test: build test-deps interop-deps asan
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)
	$(ASAN_ENV) ctest --test-dir $(ASAN_BUILD) -L hardening --output-on-failure -j$(JOBS)

# Warren's images (and warren-prometheus for docker/compose.yaml), compiled inside `docker build`
# (docker/README.md); needs a running Docker engine (`dockerd &`). The image, Compose and Helm
# chart tests alone, from this build's executables (they start an engine themselves, and are
# part of `make test`): `make e2e`.
images: test-deps
	docker/images.sh

e2e: build test-deps interop-deps
	ctest --test-dir $(BUILD) -L e2e --output-on-failure

# The cases that once crashed a process (ctest label "hardening") are built a
# second time with ASan+UBSan and run again there (docs/testing.md). clang, -O1 and line tables
# only keep that second build quick (clang compiles it in two thirds of g++'s time) while
# reports still name file and line; a build directory configured with another compiler is
# made again.
ASAN_BUILD ?= build-asan
ASAN_ENV := ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
asan: deps
	@if [ -f $(ASAN_BUILD)/CMakeCache.txt ] && \
	    ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' $(ASAN_BUILD)/CMakeCache.txt; then \
	  rm -rf $(ASAN_BUILD); fi
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Asan -DCMAKE_CXX_FLAGS_ASAN="-O1 -g1" \
	  -DCMAKE_CXX_COMPILER=clang++ -DWARREN_SANITIZE=ON -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target warren_hardening

# The crash test at length: hundreds of kill -9s under load; and the mirrored
# queue's home killed hundreds of times behind warren-balancer (docs/mirroring.md).
soak: build
	WARREN_CRASH_CYCLES=$${WARREN_CRASH_CYCLES:-300} WARREN_NODE_BIN=$(abspath $(NODE_BIN)) \
	  /usr/bin/python3 tests/durability/test_crash.py
	WARREN_FAILOVER_CYCLES=$${WARREN_FAILOVER_CYCLES:-200} WARREN_NODE_BIN=$(abspath $(NODE_BIN)) \
	  WARREN_CTL_BIN=$(abspath $(CTL_BIN)) WARREN_BALANCER_BIN=$(abspath $(BALANCER_BIN)) \
	  WARREN_INTEROP_TARGET=warren /usr/bin/python3 tests/cluster/test_mirrors.py \
	  FailoverTest.test_the_home_killed_three_times_loses_nothing_confirmed

# Side-by-side runs against Warren and Debian's RabbitMQ (installed if missing): capacity,
# durability (confirmed persistent throughput, recovery time), listing 10,000 queues (warrenctl, the
# management API's first page) and scraping them;
# and warren-balancer against Debian's haproxy (installed if missing too).
BENCH_PACKAGES := rabbitmq-server haproxy curl bc

bench: build
	$(call apt_install_missing,$(BENCH_PACKAGES),)
	WARREN_NODE_BIN=$(abspath $(NODE_BIN)) bench/run_capacity.sh
	WARREN_NODE_BIN=$(abspath $(NODE_BIN)) bench/durability.sh
	WARREN_NODE_BIN=$(abspath $(NODE_BIN)) WARREN_CTL_BIN=$(abspath $(CTL_BIN)) bench/list_queues.sh
	WARREN_NODE_BIN=$(abspath $(NODE_BIN)) WARREN_CTL_BIN=$(abspath $(CTL_BIN)) \
	  WARREN_EXPORTER_BIN=$(abspath $(EXPORTER_BIN)) bench/exporter.sh
	WARREN_NODE_BIN=$(abspath $(NODE_BIN)) WARREN_BALANCER_BIN=$(abspath $(BALANCER_BIN)) bench/balancer.sh
	WARREN_NODE_BIN=$(abspath $(NODE_BIN)) WARREN_CTL_BIN=$(abspath $(CTL_BIN)) \
	  WARREN_MGMT_BIN=$(abspath $(MGMT_BIN)) bench/mgmt_queues.sh
	WARREN_NODE_BIN=$(abspath $(NODE_BIN)) WARREN_PERF_BIN=$(abspath $(PERF_BIN)) bench/perf.sh
	WARREN_NODE_BIN=$(abspath $(NODE_BIN)) WARREN_PERF_BIN=$(abspath $(PERF_BIN)) \
	  WARREN_CTL_BIN=$(abspath $(CTL_BIN)) bench/cluster.sh

# The management API's JSON key paths per endpoint as Debian's RabbitMQ (with its management
# plugin, installed if missing) answers them after tests/mgmt/compat/workload.py, recorded again
# into tests/mgmt/compat/rabbitmq-MAJOR.MINOR-keys.json; tests/mgmt/test_keys.py, in `make test`,
# fails when warren-mgmt lacks one (docs/testing.md, "The management API's keys").
compat:
	$(call apt_install_missing,rabbitmq-server python3-pika,)
	/usr/bin/python3 tests/mgmt/compat/record.py

# Every libFuzzer target (tests/fuzz/) under ASan+UBSan, FUZZ_SECONDS (default 60) each, one after
# the other (see README.md). warren_fuzz_NAME starts from a copy of tests/fuzz/corpus-NAME/ (the
# codec's, frame: tests/fuzz/corpus/) in build-fuzz/corpus/NAME/, which keeps what it found.
fuzz: deps
	cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DWARREN_FUZZ=ON \
	  -DWARREN_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
	cmake --build build-fuzz --target warren_fuzzers -j$(JOBS)
	@for fuzzer in $$(cat build-fuzz/tests/fuzz/fuzzers.txt); do \
	  name=$${fuzzer#warren_fuzz_}; seeds=tests/fuzz/corpus-$$name; \
	  if [ $$name = frame ]; then seeds=tests/fuzz/corpus; fi; \
	  mkdir -p build-fuzz/corpus/$$name; \
	  if [ -d $$seeds ]; then cp -n $$seeds/* build-fuzz/corpus/$$name/ 2>/dev/null || true; fi; \
	  echo "== $$fuzzer, $${FUZZ_SECONDS:-60} s"; \
	  build-fuzz/tests/fuzz/$$fuzzer -max_total_time=$${FUZZ_SECONDS:-60} build-fuzz/corpus/$$name || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
