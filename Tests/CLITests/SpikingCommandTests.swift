import Checkpoint
import Foundation
import Testing

/// Spiking networks (NIR graphs) from the command line: the graph shown, simulated on fixed input
/// spikes, and measured into a statistics file, against snnTorch's own spike counts
/// (Fixtures/spiking/snn_spikes.h5, written by make_spiking_fixtures.py).
@Suite struct SpikingCommandTests {
    static let post = Run.fixture("spiking/snn_post.nir")
    static let spikes = Run.fixture("spiking/snn_spikes.h5")
    static let trains = spikes + ":input,labels"

    @Test func inspectShowsTheGraphInRunOrderWithTheOutputLayerMarked() throws {
        let run = try Run.ckptforget("inspect", Run.fixture("spiking/cnn_sinabs.nir"))
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        let start = try #require(lines.firstIndex { $0.hasPrefix("graph: 15 nodes in the order they run, 14 edges") }, "\(run.stdout)")
        let nodes = lines[(start + 2)...].map { $0.dropFirst(2).split(separator: " ", omittingEmptySubsequences: true).first.map(String.init) ?? "" }
        // The file stores the edges out of order (8→9 first); the chain runs input, 0, 1, ..., 12, output.
        #expect(nodes == ["input"] + (0...12).map(String.init) + ["output"])
        #expect(lines.contains { $0.hasPrefix("* 11") && $0.contains("Affine") && $0.contains("(256,)") && $0.contains("(10,)") })
        #expect(lines.contains { $0.contains("SumPool2d") && $0.contains("(16, 16, 16)") && $0.contains("(16, 8, 8)") })
        let json = try Run.ckptforget("inspect", Self.post, "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let graph = try #require(object["graph"] as? [String: Any])
        #expect((graph["edges"] as? [[String]])?.count == 7)
        #expect((graph["nodes"] as? [[String: Any]])?.filter { $0["output_layer"] as? Bool == true }.compactMap { $0["name"] as? String } == ["4"])
    }

    @Test func evalOnSpikeTrainsPredictsAsSnnTorch() throws {
        // snnTorch's predictions on these 32 spike trains are right for 30 (the fixture's `predicted`).
        let run = try Run.ckptforget("eval", Self.post, "--data", Self.trains, "--encoding", "spikes", "--json")
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let all = try #require((report["splits"] as? [String: [String: Any]])?["all"])
        #expect(all["accuracy"] as? Double == 30.0 / 32.0)
        #expect(all["samples"] as? Int == 32)
    }

    @Test func statisticsHoldSnnTorchsCountsAndTheirShareOnTheForgetData() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget("stats", Self.post, "--data", Self.trains, "--encoding", "spikes", "-c", "2", "-o", scratch.file("s.h5"))
        #expect(run.status == 0 && run.stderr.contains("spike counts of 3 spiking nodes (25 steps"), "\(run.stderr)")
        let fixture = try HDF5ArrayFile(path: Self.spikes), stats = try HDF5ArrayFile(path: scratch.file("s.h5"))
        let labels = try fixture.readLabels("labels", 0..<32)
        let forget = labels.indices.filter { labels[$0] == 2 }
        #expect(!forget.isEmpty && forget.count < 32)
        let input = try fixture.readRows("input", 0..<25)  // [25][32][784]
        func sums(_ counts: [Float], width: Int, _ samples: [Int]) -> [Double] {
            (0..<width).map { j in samples.reduce(0.0) { $0 + Double(counts[$1 * width + j]) } }
        }
        func share(_ part: [Double], _ whole: [Double]) -> [Double] { zip(part, whole).map { $1 > 0 ? $0 / $1 : 0 } }
        func close(_ a: [Float], _ b: [Double]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs(Double($0) - $1) <= 1e-6 * max(1, abs($1)) } }
        for (node, width) in [("1", 64), ("3", 64), ("5", 10)] {
            let counts = try fixture.readRows("counts/\(node)", 0..<32)
            let all = sums(counts, width: width, Array(0..<32)), onForget = sums(counts, width: width, forget)
            #expect(close(try stats.readRows("spikes/full/\(node)/count", 0..<width), all.map { $0 / 32 }), "node \(node)")
            #expect(close(try stats.readRows("spikes/forget/\(node)/rate", 0..<width), onForget.map { $0 / Double(forget.count) / 25 }), "node \(node)")
            // Eq. 6 for the neurons the synapses before them drive: their share of spikes on the forget data.
            let synapses = String(Int(node)! - 1)
            #expect(close(try stats.readRows("correlation/forget/\(synapses)/post", 0..<width), share(onForget, all)), "node \(node)")
        }
        // The first synapses' presynaptic units are the input spikes.
        var perSample = [Float](repeating: 0, count: 32 * 784)
        for t in 0..<25 { for s in 0..<32 { for j in 0..<784 { perSample[s * 784 + j] += input[(t * 32 + s) * 784 + j] } } }
        #expect(close(try stats.readRows("correlation/forget/0/pre", 0..<784),
                      share(sums(perSample, width: 784, forget), sums(perSample, width: 784, Array(0..<32)))))
    }

    /// Graphs written by nir.write and broken one way each (Fixtures/make_bad_nir.py): exit 2, the
    /// file and the node named, nothing written.
    @Test(arguments: [("delay.nir", "node '2' is of type Delay, which the simulator does not run"),
                      ("cycle.nir", "on a cycle of edges (a recurrent graph)"),
                      ("ghost_edge.nir", "node '3': an edge to 'ghost', which is not a node of the graph"),
                      ("tau_zero.nir", "node '1': node/nodes/1/tau: time constants must be positive and finite (found 0.0)"),
                      ("threshold_size.nir", "node '3': node/nodes/3/v_threshold: shape [5], expected 2 values"),
                      ("huge_input.nir", "node 'input': node/nodes/input/shape: [1099511627776]")])
    func brokenGraphsAreRefusedNamingTheNode(file: String, message: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = Run.fixture("spiking/bad/" + file)
        let eval = try Run.ckptforget("eval", path, "--data", Self.trains, "--encoding", "spikes")
        #expect(eval.status == 2 && eval.stderr.contains(path) && eval.stderr.contains(message), "\(eval.stderr)")
        let run = try Run.ckptforget(path, "--data", Self.trains, "--encoding", "spikes", "-c", "1", "-p", "threshold", "-o", scratch.file("out.nir"))
        #expect(run.status == 2 && run.stderr.contains(message), "\(run.stderr)")
        #expect(scratch.contents.isEmpty)
    }

    @Test func simulationOptionsAreCheckedAndRefusedWhereTheyDoNotApply() throws {
        let keras = try Run.ckptforget("eval", Run.fixture("keras/mnist_mlp.h5"), "--data", Run.fixture("engine/test_data.h5") + ":x_flat,labels", "--steps", "10")
        #expect(keras.status == 2 && keras.stderr.contains("apply to spiking networks (NIR graphs), and this file is not one"), "\(keras.stderr)")
        for (option, value, message) in [("--steps", "0", "--steps 0"), ("--dt", "-1", "--dt -1"), ("--reset", "zero", "subtract-delayed or nir"),
                                          ("--encoding", "poisson", "rate, rate:SEED, current or spikes")] {
            let run = try Run.ckptforget("eval", Self.post, "--data", Run.fixture("spiking/snn_data.h5"), option, value)
            #expect(run.status == 2 && run.stderr.contains(message), "\(option): \(run.stderr)")
        }
        // Images are not spike trains, and spike trains of 25 steps do not run for 10.
        let images = try Run.ckptforget("eval", Self.post, "--data", Run.fixture("spiking/snn_data.h5"), "--encoding", "spikes")
        #expect(images.status == 2 && images.stderr.contains("shaped [steps, samples, ...]"), "\(images.stderr)")
        let steps = try Run.ckptforget("eval", Self.post, "--data", Self.trains, "--encoding", "spikes", "--steps", "10")
        #expect(steps.status == 2 && steps.stderr.contains("do not fit 10 steps"), "\(steps.stderr)")
        let fisher = try Run.ckptforget("stats", Self.post, "--data", Self.trains, "--encoding", "spikes", "-c", "2", "--fisher", "exact", "-o", "/tmp/never.h5")
        #expect(fisher.status == 2 && fisher.stderr.contains("no Fisher diagonals"), "\(fisher.stderr)")
    }
}

/// Forgetting in spiking networks: adaptive thresholds (eq. 13–15) and the paper's three phases,
/// on the 32 spike trains of snn_spikes.h5 whose spike counts snnTorch computed.
@Suite struct SpikingPassTests {
    static let trains = SpikingCommandTests.trains

    /// The forget samples' mean spikes of output neuron 2 (snnTorch's counts/5).
    static func forgetMeanOfNeuron2() throws -> Double {
        let fixture = try HDF5ArrayFile(path: SpikingCommandTests.spikes)
        let labels = try fixture.readLabels("labels", 0..<32), counts = try fixture.readRows("counts/5", 0..<32)
        let forget = labels.indices.filter { labels[$0] == 2 }
        return forget.reduce(0.0) { $0 + Double(counts[$1 * 10 + 2]) } / Double(forget.count)
    }

    static func thresholds(_ path: String, node: String) throws -> [Float] {
        let file = try openCheckpoint(path)
        guard case .float32(let values) = try file.read(try #require(file.tensor(named: "node/nodes/\(node)/v_threshold"))).values else { return [] }
        return values
    }

    func run(_ scratch: Scratch, _ pass: String, output: String = "out.nir", extra: [String] = []) throws -> Run {
        try Run.run(Run.binary, [SpikingCommandTests.post, "--data", Self.trains, "--encoding", "spikes", "-c", "2", "-p", pass, "-q",
                                 "-o", scratch.file(output)] + extra)
    }

    @Test func oneUpdateRaisesTheClassNeuronsThresholdByGammaTimesItsForgetSpikes() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let spikes = try Self.forgetMeanOfNeuron2()
        #expect(spikes > 1)
        let corrected = try run(scratch, "threshold:gamma=0.5,iters=1,tol=0@node/nodes/5/*", output: "a.nir")
        #expect(corrected.status == 0, "\(corrected.stderr)")
        var expected = [Float](repeating: 1, count: 10)
        expected[2] = Float(1 + 0.5 * spikes)
        #expect(try Self.thresholds(scratch.file("a.nir"), node: "5") == expected)
        #expect(try Self.thresholds(scratch.file("a.nir"), node: "3") == [Float](repeating: 1, count: 64))  // outside @GLOB
        // The paper's printed sign lowers it (never below 0); scope=layer moves the whole layer alike.
        _ = try run(scratch, "threshold:gamma=0.5,iters=1,tol=0,sign=paper@node/nodes/5/*", output: "b.nir")
        expected[2] = Float(max(1 - 0.5 * spikes, 0))
        #expect(try Self.thresholds(scratch.file("b.nir"), node: "5") == expected)
        _ = try run(scratch, "threshold:gamma=0.5,iters=1,tol=0,scope=layer@node/nodes/5/*", output: "c.nir")
        #expect(try Self.thresholds(scratch.file("c.nir"), node: "5") == [Float](repeating: Float(1 + 0.5 * spikes), count: 10))
    }

    /// A run that has converged before any update (a tolerance above every neuron's excess) leaves
    /// the thresholds as they were: the update computed at the convergence check is not applied.
    @Test func convergedBeforeAnyUpdateChangesNothing() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try run(scratch, "threshold:gamma=0.5,tol=1000@node/nodes/5/*")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Self.thresholds(scratch.file("out.nir"), node: "5") == [Float](repeating: 1, count: 10))
        let diff = try Run.ckptforget("diff", SpikingCommandTests.post, scratch.file("out.nir"))
        #expect(diff.stdout.contains("0 of 23 tensors changed"), "\(diff.stdout)")
    }

    @Test func iteratesUntilTheForgetDataIsQuietAndRecordsEveryIteration() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try run(scratch, "threshold:gamma=0.5", extra: ["--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let record = try JSONSerialization.jsonObject(with: Data(Run.ckptforget("show", scratch.file("out.nir.manifest.json"), "--json").stdout.utf8))
        let pass = try #require(((record as? [String: Any])?["predicate"] as? [String: Any])?["passes"] as? [[String: Any]]).first
        let details = try #require(pass?["details"] as? [String: Any])
        let iterations = try #require(details["iterations"] as? [[String: Any]])
        #expect((details["stopped"] as? String)?.hasPrefix("converged after \(iterations.count - 1) updates") == true, "\(details["stopped"] ?? "")")
        func spikes(_ entry: [String: Any], _ split: String) -> Double { ((entry[split] as? [String: Any])?["selected_spikes"] as? Double) ?? -1 }
        // The first entry is the model before any update; the last is within tol = 0.05 spikes per forget sample.
        #expect(spikes(iterations[0], "forget") > 1 && spikes(iterations.last!, "forget") <= 0.05)
        #expect(iterations.allSatisfy { ($0["retain"] as? [String: Any])?["accuracy"] is Double })
        let selected = try #require(details["selected"] as? [String: [Int]])
        // By default the most forget-selective neuron of each hidden layer and the class's output neuron.
        #expect(selected["5"] == [2] && selected["1"]?.count == 1 && selected["3"]?.count == 1, "\(selected)")
        // Only thresholds change, and only upwards, on the selected neurons.
        for node in ["1", "3", "5"] {
            let after = try Self.thresholds(scratch.file("out.nir"), node: node)
            let raised = after.indices.filter { after[$0] != 1 }
            #expect(raised == selected[node]!.filter { after[$0] != 1 } && after.allSatisfy { $0 >= 1 }, "node \(node)")
        }
        let diff = try Run.ckptforget("diff", SpikingCommandTests.post, scratch.file("out.nir"))
        #expect(diff.stdout.contains("3 of 23 tensors changed"), "\(diff.stdout)")
    }

    @Test func theHybridOfThePaperRunsItsThreePhasesInOrder() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget(SpikingCommandTests.post, "--pre", Run.fixture("spiking/snn_pre.nir"), "--data", Self.trains, "--encoding", "spikes",
                                     "-c", "2", "--pass", "revert:alpha=1,select=corr", "--pass", "prune:theta=0.05", "--pass", "threshold:gamma=0.5,iters=10",
                                     "-o", scratch.file("out.nir"), "--json", "-q")
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let passes = try #require(report["passes"] as? [[String: Any]])
        #expect(passes.compactMap { $0["name"] as? String } == ["revert", "prune", "threshold"])
        // The class is forgotten on these samples: no forget sample is predicted as 2 any more.
        let eval = try Run.ckptforget("eval", scratch.file("out.nir"), "--data", Self.trains, "--encoding", "spikes", "-c", "2", "--json")
        let splits = try #require((try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])?["splits"] as? [String: [String: Any]])
        #expect(splits["forget"]?["accuracy"] as? Double == 0)
    }

    @Test func sampleWiseForgettingSelectsTheNeuronsMostTiedToTheSamples() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let ids = try scratch.write(Array("0 5 9\n".utf8), to: "ids.txt")
        let common = [SpikingCommandTests.post, "--data", Self.trains, "--encoding", "spikes", "--forget-ids", ids, "-q"]
        let run = try Run.run(Run.binary, common + ["-p", "threshold:gamma=0.5,iters=1", "-o", scratch.file("out.nir"), "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let details = try #require((report["passes"] as? [[String: Any]])?.first?["details"] as? [String: Any])
        let selected = try #require(details["selected"] as? [String: [Int]])
        // Without a class, every layer's neuron whose mean spikes on samples 0, 5, 9 exceed its mean on
        // the other 29 most, from snnTorch's own counts.
        let fixture = try HDF5ArrayFile(path: SpikingCommandTests.spikes)
        for (node, width) in [("1", 64), ("3", 64), ("5", 10)] {
            let counts = try fixture.readRows("counts/\(node)", 0..<32)
            let forget: Set = [0, 5, 9]
            func mean(_ samples: [Int], _ j: Int) -> Double { samples.reduce(0.0) { $0 + Double(counts[$1 * width + j]) } / Double(samples.count) }
            let excess = (0..<width).map { mean(forget.sorted(), $0) - mean((0..<32).filter { !forget.contains($0) }, $0) }
            let best = (0..<width).max { excess[$0] < excess[$1] || (excess[$0] == excess[$1] && $0 > $1) }!
            #expect(selected[node] == [best], "node \(node)")
        }
        // --require gates a spiking run as any other: not met, nothing written, exit 4.
        let gated = try Run.run(Run.binary, common + ["-p", "threshold:gamma=0.5,iters=1", "-o", scratch.file("gated.nir"), "--require", "forget_acc<=0"])
        #expect(gated.status == 4 && gated.stderr.contains("forget_acc"), "\(gated.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("gated.nir")))
    }

    @Test func thresholdsBelongToSpikingNetworks() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let keras = try Run.ckptforget(Run.fixture("keras/mnist_mlp.h5"), "--data", Run.fixture("engine/test_data.h5") + ":x_flat,labels", "-c", "2",
                                       "-p", "threshold", "-o", scratch.file("k.h5"))
        #expect(keras.status == 2 && keras.stderr.contains("adapts the firing thresholds of a spiking network"), "\(keras.stderr)")
        let ascent = try run(scratch, "ascent:steps=1", output: "a.nir")
        #expect(ascent.status == 2 && ascent.stderr.contains("Keras models only"), "\(ascent.stderr)")
        #expect(scratch.contents.isEmpty)
    }
}
