import Testing
@testable import Forgetting

@Suite struct PassSpecTests {
    @Test func parsesNameArgumentOptionsAndGlob() throws {
        let spec = try PassSpec(parsing: "prune:top=1%,scope=global@dense*")
        #expect(spec.name == "prune")
        #expect(spec.positional == nil)
        #expect(spec.options.map(\.key) == ["top", "scope"])
        #expect(spec.options.map(\.value) == ["1%", "global"])
        #expect(spec.glob == "dense*")

        let dampen = try PassSpec(parsing: "dampen:0.01")
        #expect(dampen.name == "dampen" && dampen.positional == "0.01" && dampen.options.isEmpty && dampen.glob == nil)
        #expect(try PassSpec(parsing: "zero").positional == nil)
    }

    @Test func rejectsMalformedSpecs() {
        for text in [":0.1", "dampen:0.1,0.2", "dampen:alpha=", "dampen:=1", "randomize:seed=1,seed=2", "zero@"] {
            #expect(throws: PassError.self, "\(text)") { try PassSpec(parsing: text) }
        }
    }

    /// Found while fuzzing: duplicate keys were looked for in a list, so a 169 KB spec of 20,000
    /// options took minutes. A spec fits in one argument (128 KiB on Linux); it is parsed in
    /// linear time, and a repeated key is still found at the end. The bound is loose for busy machines.
    @Test func aLongSpecParsesInLinearTime() throws {
        let options = (0..<20_000).map { "k\($0)=1" }
        let start = ContinuousClock.now
        #expect(try PassSpec(parsing: "zero:" + options.joined(separator: ",")).options.count == 20_000)
        #expect(throws: PassError.malformed(spec: "zero:" + (options + ["k0=2"]).joined(separator: ","), reason: "'k0' given twice")) {
            try PassSpec(parsing: "zero:" + (options + ["k0=2"]).joined(separator: ","))
        }
        #expect(ContinuousClock.now - start < .seconds(30))  // linear: under 1 s in debug; quadratic: minutes
    }

    /// Found by `make fuzz` (pass-spec): `ascent:09223372036854775808` trapped converting the step
    /// count, a UInt64 past Int.max, to Int before its range was checked; so did batch.
    @Test func countsPastIntMaxAreRefusedNotTrapped() {
        #expect(throws: PassError.badValue(spec: "ascent:09223372036854775808", key: "steps", value: "9223372036854775808",
                                           expected: "a number of steps from 1 to 1000000")) {
            try PassRegistry.make(PassSpec(parsing: "ascent:09223372036854775808"))
        }
        #expect(throws: PassError.badValue(spec: "ascent:batch=18446744073709551615", key: "batch", value: "18446744073709551615",
                                           expected: "a batch size from 1 to 65536")) {
            try PassRegistry.make(PassSpec(parsing: "ascent:batch=18446744073709551615"))
        }
    }

    /// Found by `make fuzz` (pass-spec) after the ascent fix: finetune converted its epochs and
    /// batch the same way (the fuzzer's 43 bytes, decoded as the target decodes them), and
    /// threshold its iters (found by looking for the pattern).
    @Test func finetuneAndThresholdCountsPastIntMaxAreRefusedNotTrapped() throws {
        let bytes: [UInt8] = Array("finetune:00000000012861934301395841472,".utf8) + [0xCF] + Array("r=".utf8) + [0]
        let crash = String(decoding: bytes, as: UTF8.self)
        #expect(throws: PassError.badValue(spec: crash, key: "epochs", value: "12861934301395841472",
                                           expected: "a number of epochs from 1 to 10000")) {
            try PassRegistry.make(PassSpec(parsing: crash))
        }
        #expect(throws: PassError.badValue(spec: "finetune:batch=9223372036854775808", key: "batch", value: "9223372036854775808",
                                           expected: "a batch size from 1 to 65536")) {
            try PassRegistry.make(PassSpec(parsing: "finetune:batch=9223372036854775808"))
        }
        #expect(throws: PassError.badValue(spec: "threshold:iters=18446744073709551615", key: "iters", value: "18446744073709551615",
                                           expected: "a number from 1 to 100000")) {
            try PassRegistry.make(PassSpec(parsing: "threshold:iters=18446744073709551615"))
        }
    }

    @Test func registryBuildsPassesAndChecksTheirArguments() throws {
        let dampen = try PassRegistry.make(PassSpec(parsing: "dampen:0.25"))
        #expect(dampen.name == "dampen")
        #expect(dampen.parameters.map(\.value) == ["0.25"])
        #expect(try PassRegistry.make(PassSpec(parsing: "dampen:alpha=0.5")).parameters.map(\.value) == ["0.5"])
        #expect(try PassRegistry.make(PassSpec(parsing: "randomize")).parameters.map(\.value) == ["0"])
        #expect(try PassRegistry.make(PassSpec(parsing: "randomize:seed=7")).parameters.map(\.value) == ["7"])

        #expect(throws: PassError.unknownPass(name: "forget", known: ["suppress", "dampen", "zero", "randomize", "prune", "negate", "revert", "ssd", "fisher-noise", "ascent", "finetune", "threshold"])) {
            try PassRegistry.make(PassSpec(parsing: "forget:1"))
        }
        #expect(throws: PassError.missing(spec: "dampen", key: "alpha")) { try PassRegistry.make(PassSpec(parsing: "dampen")) }
        #expect(throws: PassError.badValue(spec: "dampen:2", key: "alpha", value: "2", expected: "a number in 0.0...1.0")) {
            try PassRegistry.make(PassSpec(parsing: "dampen:2"))
        }
        #expect(throws: PassError.badValue(spec: "dampen:x", key: "alpha", value: "x", expected: "a number")) {
            try PassRegistry.make(PassSpec(parsing: "dampen:x"))
        }
        #expect(throws: PassError.unknownKey(spec: "dampen:0.1,beta=2", key: "beta", accepted: ["alpha", "bias", "margin"])) {
            try PassRegistry.make(PassSpec(parsing: "dampen:0.1,beta=2"))
        }
        #expect(throws: PassError.malformed(spec: "zero:1", reason: "unexpected argument '1'")) {
            try PassRegistry.make(PassSpec(parsing: "zero:1"))
        }
        #expect(throws: PassError.badValue(spec: "randomize:seed=-1", key: "seed", value: "-1", expected: "a non-negative integer")) {
            try PassRegistry.make(PassSpec(parsing: "randomize:seed=-1"))
        }
    }

    /// Every registered pass is a tensor pass or a model pass (one that is neither would do nothing).
    @Test func everyPassHasAKind() {
        for type in PassRegistry.all {
            #expect((type is any TensorPass.Type) != (type is any ModelPass.Type), "\(type.name)")
        }
    }
}
