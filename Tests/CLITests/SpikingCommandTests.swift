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

    @Test func simulationOptionsAreCheckedAndRefusedWhereTheyDoNotApply() throws {
        let keras = try Run.ckptforget("eval", Run.fixture("keras/mnist_mlp.h5"), "--data", Run.fixture("engine/test_data.h5") + ":x_flat,labels", "--steps", "10")
        #expect(keras.status == 2 && keras.stderr.contains("not a spiking (NIR) graph"), "\(keras.stderr)")
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
