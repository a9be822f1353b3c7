import Checkpoint
import Foundation
import Testing

/// Model passes end to end: the built binary trains the model read from the file and writes the
/// result; values are checked against the independent reference (Fixtures/engine/training_steps.h5).
@Suite struct ModelPassTests {
    static let model = Run.fixture("keras/mnist_mlp.h5")
    static let data = Run.fixture("engine/test_data.h5") + ":x_flat,y"

    /// `--forget-ids 0..199` makes the forget split all 200 samples in order; unshuffled batches of 20
    /// are then the reference's batches, and three ascent steps must give its `ascent_sgd3` values.
    @Test func threeAscentStepsMatchTheReference() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let ids = try scratch.write(Array((0..<200).map(String.init).joined(separator: "\n").utf8), to: "ids.txt")
        let run = try Run.ckptforget(Self.model, "--data", Self.data, "--scale", "1/255", "--forget-ids", ids,
                                     "-p", "ascent:steps=3,lr=0.05,batch=20,shuffle=false", "-q", "-o", scratch.file("out.h5"))
        #expect(run.status == 0, "\(run.stderr)")
        let output = try openCheckpoint(scratch.file("out.h5"))
        let reference = try openCheckpoint(Run.fixture("engine/training_steps.h5"))
        for name in ["hidden/mnist_mlp/hidden/kernel", "hidden/mnist_mlp/hidden/bias", "output/mnist_mlp/output/kernel", "output/mnist_mlp/output/bias"] {
            let got = try output.read(try #require(output.tensor(named: "model_weights/" + name))).values
            let want = try reference.read(try #require(reference.tensor(named: "mlp/ascent_sgd3/model_weights/" + name))).values
            let scale = want.indices.map { abs(want[$0]) }.max() ?? 0
            let worst = want.indices.map { abs(got[$0] - want[$0]) }.max() ?? .infinity
            #expect(worst <= 1e-5 * scale, "\(name): max |Δ| \(worst) of \(scale)")
        }
        // The record measures the model pass's edits like any other, and says what it did.
        let record = try JSONSerialization.jsonObject(with: Data(Run.ckptforget("show", scratch.file("out.h5.manifest.json"), "--json").stdout.utf8))
        let pass = try #require(((record as? [String: Any])?["predicate"] as? [String: Any])?["passes"] as? [[String: Any]]).first
        let details = pass?["details"] as? [String: Any]
        #expect(details?["steps"] as? Int == 3 && (details?["loss"] as? [Any])?.count == 3, "\(String(describing: details))")
        #expect((pass?["tensors"] as? [[String: Any]])?.allSatisfy { ($0["elements_changed"] as? Int ?? 0) > 0 } == true)
        let diff = try Run.ckptforget("diff", Self.model, scratch.file("out.h5"), "--json")
        let compared = (try JSONSerialization.jsonObject(with: Data(diff.stdout.utf8)) as? [String: Any])?["tensors"] as? [[String: Any]] ?? []
        for edit in pass?["tensors"] as? [[String: Any]] ?? [] {
            let same = compared.first { $0["tensor"] as? String == edit["tensor"] as? String }
            #expect(same?["elements_changed"] as? Int == edit["elements_changed"] as? Int, "\(edit)")
        }
    }

    /// Seeded shuffling: the same command gives the same bytes; another seed gives other values.
    @Test func theSameCommandGivesTheSameBytes() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        for (name, seed) in [("a.h5", "1"), ("b.h5", "1"), ("c.h5", "2")] {
            let run = try Run.ckptforget(Self.model, "--data", Self.data, "--scale", "1/255", "-c", "2", "--no-sign", "-q",
                                         "-p", "ascent:steps=4,lr=0.01,batch=8,optimizer=adam,retain=0.5,seed=\(seed)", "-o", scratch.file(name))
            #expect(run.status == 0, "\(run.stderr)")
        }
        let bytes = try ["a.h5", "b.h5", "c.h5"].map { try Data(contentsOf: URL(fileURLWithPath: scratch.file($0))) }
        #expect(bytes[0] == bytes[1])
        #expect(bytes[0] != bytes[2])
    }

    @Test func aModelPassNeedsDataAndAModelTheEngineRuns() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let noData = try Run.ckptforget(Self.model, "-c", "2", "-p", "ascent:steps=2", "-o", scratch.file("out.h5"))
        #expect(noData.status == 2 && noData.stderr.contains("pass 'ascent' runs the model on data"), "\(noData.stderr)")
        let badStop = try Run.ckptforget(Self.model, "-c", "2", "-p", "ascent:stop=test_acc<=0.1", "-o", scratch.file("out.h5"))
        #expect(badStop.status == 2 && badStop.stderr.contains("is not forget_acc<=X"), "\(badStop.stderr)")
        let safetensors = try Run.ckptforget(Run.fixture("safetensors/mlp.safetensors"), "--data", Self.data, "--scale", "1/255", "-c", "2",
                                             "-p", "ascent:steps=2", "-o", scratch.file("out.safetensors"))
        #expect(safetensors.status == 2 && safetensors.stderr.contains("no Keras model_config"), "\(safetensors.stderr)")
        // A dry run says the pass runs the model and runs nothing.
        let dry = try Run.ckptforget(Self.model, "--data", Self.data, "-c", "2", "-p", "ascent:steps=2", "--dry-run")
        #expect(dry.status == 0 && dry.stdout.contains("edits 4 tensors (runs the model)"), "\(dry.stdout)")
        #expect(scratch.contents.isEmpty)
    }
}
