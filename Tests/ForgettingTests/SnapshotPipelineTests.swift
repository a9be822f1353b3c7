import Foundation
import Testing
import Checkpoint
@testable import Forgetting

/// The snapshot and statistics passes on a real pair of snapshots (a Keras MLP before and after
/// learning class 2) and statistics computed with JAX, against numpy's expected outputs
/// (Fixtures/make_snapshot_fixtures.py).
@Suite struct SnapshotPipelineTests {
    static let post = PipelineTests.fixture("snapshots/mnist_mlp_post.h5")
    static let pre = PipelineTests.fixture("snapshots/mnist_mlp_pre.h5")
    static let kernels = ["model_weights/hidden/mnist_mlp/hidden/kernel", "model_weights/hidden/mnist_mlp/hidden/bias",
                          "model_weights/output/mnist_mlp/output/kernel", "model_weights/output/mnist_mlp/output/bias"]

    private func run(_ input: String, _ specs: [String], pre: String? = nil, stats: String? = nil) throws -> (RunReport, any CheckpointFile, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckptforget-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let checkpoint = try openCheckpoint(input)
        let inputs = PassInputs(pre: try pre.map(openCheckpoint), statistics: try stats.map { try StatisticsFile(path: PipelineTests.fixture($0)) })
        let plan = try ForgettingPlan(checkpoint: checkpoint, specs: specs.map(PassSpec.init(parsing:)), target: ForgetTarget(), inputs: inputs)
        let output = "\(directory)/out" + (input.hasSuffix(".h5") ? ".h5" : ".safetensors")
        let transaction = OutputTransaction()
        let report = try ForgettingPipeline.run(plan, on: checkpoint, to: output, in: transaction)
        try transaction.commit()
        return (report, try openCheckpoint(output), directory)
    }

    private func expectMatches(_ output: any CheckpointFile, _ expectedFile: String, names: [String]) throws {
        let expected = try openCheckpoint(PipelineTests.fixture("expected/\(expectedFile)"))
        for name in names {
            let got = try output.read(try #require(output.tensor(named: name))).values
            let want = try expected.read(try #require(expected.tensor(named: name))).values
            let differing = got.indices.filter { got[$0] != want[$0] }
            #expect(differing.isEmpty, "\(expectedFile) \(name): \(differing.count) elements differ, first at \(differing.first ?? -1)")
        }
    }

    @Test(arguments: [
        ("prune:theta=0.05", "snap_prune_theta0.05.safetensors"),
        ("prune:top=1%", "snap_prune_top1.safetensors"),
        ("prune:top=1%,scope=global", "snap_prune_top1_global.safetensors"),
        ("negate:0.5", "snap_negate0.5.safetensors"),
    ])
    func deltaPassesMatchNumpy(spec: String, expected: String) throws {
        let (_, output, directory) = try run(Self.post, [spec], pre: Self.pre)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try expectMatches(output, expected, names: Self.kernels)
    }

    /// A snapshot equal to the input (every ΔW 0): `top` prunes nothing in either scope, rather
    /// than every weight as a tie at 0.
    @Test(arguments: ["prune:top=1%", "prune:top=1%,scope=global"])
    func pruneTopWithTheInputAsItsOwnSnapshotChangesNothing(spec: String) throws {
        let (report, _, directory) = try run(Self.post, [spec], pre: Self.post)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(!report.passes[0].edits.isEmpty && report.passes[0].edits.allSatisfy { $0.elementsChanged == 0 })
    }

    @Test func negateOneRestoresThePreSnapshotExactly() throws {
        let (_, output, directory) = try run(Self.post, ["negate:1"], pre: Self.pre)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pre = try openCheckpoint(Self.pre)
        let comparisons = try CheckpointDiff.compare(pre, output)
        #expect(comparisons.count == 4 && comparisons.allSatisfy { $0.status == .identical })
    }

    @Test func revertMatchesNumpy() throws {
        let (report, output, directory) = try run(Self.post, ["revert:alpha=1,dw=0.005,corr=0.2"], pre: Self.pre, stats: "stats/mnist_mlp_post_exact.h5")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try expectMatches(output, "snap_revert.safetensors", names: Self.kernels)
        // 693, 4, 5 and 1 synapses selected (the fixture script's counts).
        #expect(report.passes[0].edits.map(\.elementsChanged).sorted() == [1, 4, 5, 693])
    }

    @Test func ssdMatchesNumpyWithBatchFisher() throws {
        let (_, output, directory) = try run(Self.post, ["ssd"], stats: "stats/mnist_mlp_post_batch64.h5")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try expectMatches(output, "snap_ssd_batch64.safetensors", names: Self.kernels)
    }

    /// With exact Fisher the full set holds the forget set (834 of 8000), so F_full ≥ 0.104·F_forget
    /// and alpha = 10 can select nothing.
    @Test func ssdWithExactFisherAndAlphaTenSelectsNothing() throws {
        let (report, _, directory) = try run(Self.post, ["ssd:alpha=10"], stats: "stats/mnist_mlp_post_exact.h5")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(report.passes[0].edits.count == 4 && report.passes[0].edits.allSatisfy { $0.elementsChanged == 0 })
    }

    @Test func safetensorsNamesAndOrientation() throws {
        let names = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
        let post = PipelineTests.fixture("snapshots/mlp_post.safetensors")
        let (_, negated, first) = try run(post, ["negate:0.5"], pre: PipelineTests.fixture("snapshots/mlp_pre.safetensors"))
        defer { try? FileManager.default.removeItem(atPath: first) }
        try expectMatches(negated, "snap_st_negate0.5.safetensors", names: names)
        let (_, dampened, second) = try run(post, ["ssd:alpha=5"], stats: "stats/mlp_post_exact.h5")
        defer { try? FileManager.default.removeItem(atPath: second) }
        try expectMatches(dampened, "snap_st_ssd_exact_alpha5.safetensors", names: names)
    }

    @Test func mismatchedInputsAreRefusedBeforeWork() throws {
        let post = try openCheckpoint(PipelineTests.fixture("snapshots/mlp_post.safetensors"))
        let badPre = try openCheckpoint(PipelineTests.fixture("snapshots/mlp_pre_mismatch.safetensors"))
        #expect(throws: StatisticsError.mismatch(path: badPre.path, problems: ["no tensor fc1.bias", "fc2.weight has shape [9, 32], expected [10, 32]"], total: 2)) {
            try ForgettingPlan(checkpoint: post, specs: [PassSpec(parsing: "negate:1")], target: ForgetTarget(), inputs: PassInputs(pre: badPre))
        }
        let badStats = try StatisticsFile(path: PipelineTests.fixture("stats/mlp_stats_badshape.h5"))
        #expect(throws: StatisticsError.mismatch(path: badStats.path, problems: ["fisher/forget/fc2.weight has shape [10, 31], expected [10, 32]"], total: 1)) {
            try ForgettingPlan(checkpoint: post, specs: [PassSpec(parsing: "ssd")], target: ForgetTarget(), inputs: PassInputs(statistics: badStats))
        }
        #expect(throws: PassError.needsInput(pass: "prune", option: "--pre PRE")) {
            try ForgettingPlan(checkpoint: post, specs: [PassSpec(parsing: "prune:theta=1")], target: ForgetTarget())
        }
        #expect(throws: PassError.needsInput(pass: "ssd", option: "--stats STATS, or --data to compute them from")) {
            try ForgettingPlan(checkpoint: post, specs: [PassSpec(parsing: "ssd")], target: ForgetTarget())
        }
        // A checkpoint is not a statistics file.
        #expect(throws: StatisticsError.empty(path: Self.post)) { try StatisticsFile(path: Self.post) }
    }
}
