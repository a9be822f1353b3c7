# ckptforget: `make demo` and `make test` do all the set-up on a fresh Debian machine.
PREFIX ?= /usr/local
SWIFT ?= swift
BINDIR := $(DESTDIR)$(PREFIX)/bin
MANDIR := $(DESTDIR)$(PREFIX)/share/man/man1
DEMO_OUT := demo-out

# System packages: libhdf5, libcrypto (libssl-dev), OpenBLAS and zlib to build and link,
# hdf5-tools (h5diff, h5dump) and openssl (its CLI checks signatures) for the tests, chromium
# (headless, for the tests that draw the report page in a browser), pkg-config for SwiftPM.
APT_PACKAGES := libhdf5-dev libssl-dev libopenblas-dev zlib1g-dev hdf5-tools openssl chromium pkg-config

.PHONY: all deps build release test demo install uninstall bench fuzz experiments clean

all: build

# Installs what is missing with apt-get when root or passwordless sudo allows, else prints the command.
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "missing system packages:$$missing (install the equivalents with your package manager)"; exit 1; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; \
	else echo "missing system packages:$$missing"; echo "run: sudo apt-get install -y$$missing"; exit 1; fi; \
	echo "installing:$$missing"; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build
	$(SWIFT) test

# The headline job on a bundled Keras MLP and 200 MNIST test images it was not trained on
# (Fixtures/README.md): forget class 2, gated by a policy and signed, with the accuracy on class 2
# and on the other classes before and after; then the records verified and the review page written.
DEMO_MODEL := Fixtures/keras/mnist_mlp.h5
DEMO_DATA := Fixtures/engine/test_data.h5
DEMO := .build/release/ckptforget

demo: release
	@rm -rf $(DEMO_OUT) && mkdir -p $(DEMO_OUT)
	@echo; echo "== Forget class 2 in $(DEMO_MODEL) (a Keras MLP), measured on 200 held-out MNIST test images"
	@$(DEMO) keygen -o $(DEMO_OUT)/signer.pem
	$(DEMO) $(DEMO_MODEL) --pass suppress --class 2 --data $(DEMO_DATA) --scale 1/255 \
	    --require 'forget_acc<=0.01,retain_drop<=0.01' --sign-key $(DEMO_OUT)/signer.pem -o $(DEMO_OUT)/mnist_mlp_forgot2.h5
	@echo; echo "== The signed output, verified"
	$(DEMO) verify $(DEMO_OUT)/mnist_mlp_forgot2.h5.manifest.json --key $(DEMO_OUT)/signer.pub.pem
	@echo; echo "== The review page: metrics before and after, confusion matrices, what was done"
	$(DEMO) report $(DEMO_OUT)/mnist_mlp_forgot2.h5 --before $(DEMO_MODEL) --data $(DEMO_DATA) --scale 1/255 --class 2 \
	    --key $(DEMO_OUT)/signer.pub.pem -o $(DEMO_OUT)/report.html
	@echo "open $(CURDIR)/$(DEMO_OUT)/report.html"

install: release
	install -d $(BINDIR) $(MANDIR)
	install -m 0755 .build/release/ckptforget $(BINDIR)/ckptforget
	install -m 0644 man/ckptforget.1 $(MANDIR)/ckptforget.1

uninstall:
	rm -f $(BINDIR)/ckptforget $(MANDIR)/ckptforget.1

# Every pass family on ~1 GiB checkpoints, signed, against the floor cp + openssl sha256 and the
# script a user would write; BENCH_SCALE=1 adds 8 GiB sharded safetensors and a gzip HDF5 file
# (needs python3 with h5py, numpy, safetensors; torch and Keras 3 + JAX for .pt and .keras);
# then the spiking benchmarks, bench/spiking/README.md (SPIKING=0 skips them).
bench: release
	bash bench/run.sh
	@[ "$(SPIKING)" = 0 ] || bash bench/spiking/run.sh

# Coverage-guided fuzzing of every parser of untrusted bytes; not part of `make test`. Each folder
# Fuzz/Targets/NAME is a libFuzzer target built with AddressSanitizer into .build-fuzz (the package
# has fuzz targets only when CKPTFORGET_FUZZ is set) and run for FUZZ_SECONDS from the seeds in
# Fuzz/corpus/NAME (with Fuzz/dictionaries/NAME.dict and the libFuzzer flags in
# Fuzz/options/NAME.options when there are any); what it learns goes to
# .build-fuzz/corpus/NAME. A crash, a sanitizer report or an input slower than FUZZ_TIMEOUT seconds
# fails the run and leaves the input in .build-fuzz/crashes/NAME/ (replay it with
# `.build-fuzz/debug/fuzz-NAME FILE`); so does a binary without coverage instrumentation.
# One target: `make fuzz FUZZ_TARGETS=npy-header FUZZ_SECONDS=600`. A million inputs each, however
# long that takes: `make fuzz FUZZ_RUNS=1000000 FUZZ_SECONDS=0`.
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= -1
FUZZ_TIMEOUT ?= 5
FUZZ_TARGETS ?= $(notdir $(wildcard Fuzz/Targets/*))
FUZZ_BUILD := .build-fuzz
# --sanitize=fuzzer tells SwiftPM that libFuzzer supplies main; the one -sanitize=fuzzer,address
# after it is what swiftc uses, since it keeps only the last of several -sanitize= flags (SwiftPM's
# --sanitize=fuzzer --sanitize=address would lose coverage or ASan, depending on their order).
# The debug configuration keeps @testable import working; -O after its -Onone optimises the code
# as a release build is (preconditions and overflow checks stay): unoptimised generic code ran the
# zip and torch targets at 14 to 300 inputs a second, optimised at thousands.
FUZZ_SWIFT := CKPTFORGET_FUZZ=1 $(SWIFT) build -c debug --scratch-path $(FUZZ_BUILD) \
	--sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -O

fuzz: deps
	@mkdir -p $(FUZZ_BUILD); for t in $(FUZZ_TARGETS); do \
		echo "building fuzz-$$t"; \
		$(FUZZ_SWIFT) --product fuzz-$$t > $(FUZZ_BUILD)/build.log 2>&1 \
			|| { grep -v "Cannot export local symbol" $(FUZZ_BUILD)/build.log; exit 1; }; \
	done
	@bin=$$($(FUZZ_SWIFT) --show-bin-path); failed=""; \
	for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/crashes/$$t; \
		seeds=""; [ -d Fuzz/corpus/$$t ] && seeds=Fuzz/corpus/$$t; \
		dict=""; [ -f Fuzz/dictionaries/$$t.dict ] && dict=-dict=Fuzz/dictionaries/$$t.dict; \
		opts=""; [ -f Fuzz/options/$$t.options ] && opts=$$(grep -v '^#' Fuzz/options/$$t.options); \
		log=$(FUZZ_BUILD)/fuzz-$$t.log; \
		SWIFT_BACKTRACE=enable=no LSAN_OPTIONS=suppressions=Fuzz/lsan.supp:print_suppressions=0 \
			$$bin/fuzz-$$t $(FUZZ_BUILD)/corpus/$$t $$seeds $$dict $$opts \
			-max_total_time=$(FUZZ_SECONDS) -runs=$(FUZZ_RUNS) -timeout=$(FUZZ_TIMEOUT) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/crashes/$$t/ > $$log 2>&1; status=$$?; \
		grep -q "Is the code instrumented for coverage" $$log && status=1; \
		if [ $$status = 0 ]; then \
			echo "fuzz-$$t: $$(sed -n 's/^Done \(.*\)/\1/p' $$log), no crash"; \
		else \
			failed="$$failed $$t"; \
			echo "fuzz-$$t: FAILED, see $$log and $(FUZZ_BUILD)/crashes/$$t/"; \
			grep -E "Fatal error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|Swift runtime failure| in .*/Sources/|instrumented for coverage" \
				$$log | head -4; \
		fi; \
	done; \
	[ -z "$$failed" ] || { echo "fuzz targets that failed:$$failed"; exit 1; }

# Each paper's experiment reproduced by one script (experiments/README.md): trains the paper's model, forgets
# with ckptforget commands only, prints its table beside the paper's figures and writes its report pages
# to experiments-out/. Needs python3 with Keras 3 + JAX, snnTorch and nir; not part of `make test`.
EXPERIMENTS := slides_dampening fabbri_relabel milner_full_param zero_randomize spiking_hybrid

experiments: release
	cd experiments && for s in $(EXPERIMENTS); do KERAS_BACKEND=jax python3 $$s.py || exit 1; done

clean:
	rm -rf .build $(FUZZ_BUILD) $(DEMO_OUT) bench-out experiments-out
