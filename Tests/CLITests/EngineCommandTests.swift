import Foundation
import Testing

/// `stats`, `eval`, and SSD from data in the main command, end to end.
@Suite struct EngineCommandTests {
    static let model = Run.fixture("keras/mnist_mlp.h5")
    static let data = Run.fixture("engine/test_data.h5") + ":x_flat,labels"

    @Test func ssdFromDataEqualsSsdFromAStatisticsFile() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let stats = try Run.ckptforget("stats", Self.model, "--data", Self.data, "--scale", "1/255", "-c", "2", "-o", scratch.file("stats.h5"))
        #expect(stats.status == 0 && stats.stderr.contains("Fisher exact for 4 tensors on forget (22 samples), retain (178), full (200)"), "\(stats.stderr)")
        let attributes = try Run.run("h5dump", ["-A", "-g", "/fisher/forget", scratch.file("stats.h5")]).stdout
        #expect(attributes.contains("\"exact\"") && attributes.contains("(0): 22"), "\(attributes)")

        let fromFile = try Run.ckptforget(Self.model, "--stats", scratch.file("stats.h5"), "-p", "ssd:alpha=5", "-q", "--no-sign", "-o", scratch.file("a.h5"))
        let fromData = try Run.ckptforget(Self.model, "--data", Self.data, "--scale", "1/255", "-c", "2", "-p", "ssd:alpha=5", "-q", "-o", scratch.file("b.h5"))
        #expect(fromFile.status == 0 && fromData.status == 0, "\(fromFile.stderr) \(fromData.stderr)")
        let diff = try Run.ckptforget("diff", scratch.file("a.h5"), scratch.file("b.h5"))
        #expect(diff.stdout.contains("0 of 4 tensors changed"), "\(diff.stdout)")
        // The data is an input of the record, by its digest.
        let shown = try Run.ckptforget("show", scratch.file("b.h5.manifest.json"), "--json").stdout
        #expect(shown.contains("\"role\": \"data\""))

        // Forgotten: no sample of class 2 is recognised; the others mostly still are.
        let eval = try Run.ckptforget("eval", scratch.file("b.h5"), "--data", Self.data, "--scale", "1/255", "-c", "2", "--json")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        let splits = try #require(report["splits"] as? [String: [String: Any]])
        #expect(splits["forget"]?["accuracy"] as? Double == 0)
        #expect((splits["retain"]?["accuracy"] as? Double ?? 0) > 0.7)
        #expect((report["definitions"] as? String)?.contains("Mann-Whitney") == true)
    }

    /// A functional graph (branches, depthwise and separable convolutions, a squeeze-and-excitation
    /// block, global poolings) runs end to end: statistics, SSD from data, a model pass, eval.
    @Test func functionalGraphsRunEndToEnd() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let model = Run.fixture("graph/residual_cnn.keras"), data = Run.fixture("graph/residual_cnn_data.h5")
        let stats = try Run.ckptforget("stats", model, "--data", data, "-c", "1", "-o", scratch.file("s.h5"))
        #expect(stats.status == 0 && stats.stderr.contains("Fisher exact for 22 tensors"), "\(stats.stderr)")
        let run = try Run.ckptforget(model, "--data", data, "-c", "1", "-p", "ssd:alpha=1", "-p", "ascent:steps=2,batch=8", "-q", "--no-sign",
                                     "-o", scratch.file("o.keras"))
        #expect(run.status == 0, "\(run.stderr)")
        let eval = try Run.ckptforget("eval", scratch.file("o.keras"), "--data", data, "-c", "1")
        #expect(eval.status == 0 && eval.stdout.contains("forget"), "\(eval.stderr)")
    }

    @Test func requireGatesTheRunAndMetricsGoIntoTheRecord() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let common = [Self.model, "--data", Self.data, "--test-data", Self.data, "--scale", "1/255", "-c", "2", "-p", "ssd:alpha=5"]
        // SSD at alpha=5 on 200 samples forgets class 2 but costs retain accuracy (0.961 → 0.758).
        let strict = try Run.run(Run.binary, common + ["-o", scratch.file("strict.h5"), "--require", "forget_acc<=0.01,retain_drop<=0.005"])
        #expect(strict.status == 4, "\(strict.stderr)")
        #expect(strict.stderr.contains("retain_drop = 0.2022") && strict.stderr.contains("nothing written"))
        #expect(strict.stderr.contains("forget_acc    0.772727   0 "), "\(strict.stderr)")
        // Each metric says what it measured, on which samples.
        for meaning in ["accuracy on class 2 (22 samples)\n", "accuracy on the other classes (178 samples)\n",
                        "accuracy on the test data less class 2 (178 samples)\n", "share of all 378 samples predicted as class 2\n"] {
            #expect(strict.stderr.contains(meaning), "\(meaning): \(strict.stderr)")
        }
        // The forget class's share of predictions and its probability, before and after.
        #expect(strict.stderr.contains("forget_share  0.0") && strict.stderr.contains("forget_prob "), "\(strict.stderr)")
        #expect(scratch.contents.isEmpty)

        let lenient = try Run.run(Run.binary, common + ["-q", "-o", scratch.file("ok.h5"), "--require", "forget_acc<=0.01,retain_drop<0.25"])
        #expect(lenient.status == 0, "\(lenient.stderr)")
        let statement = try Run.ckptforget("show", scratch.file("ok.h5.manifest.json"), "--json").stdout
        let predicate = try #require((try JSONSerialization.jsonObject(with: Data(statement.utf8)) as? [String: Any])?["predicate"] as? [String: Any])
        let evaluation = try #require(predicate["evaluation"] as? [String: Any])
        #expect((evaluation["after"] as? [String: Any])?["forget_acc"] as? Double == 0)
        #expect(abs(((evaluation["before"] as? [String: Any])?["retain_acc"] as? Double ?? 0) - 171.0 / 178) < 1e-12)
        // "before" comes from the Fisher passes' outputs: it agrees with eval's own passes.
        let eval = try Run.ckptforget("eval", Self.model, "--data", Self.data, "--test-data", Self.data, "--scale", "1/255", "-c", "2", "--json")
        let splits = try #require((try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])?["splits"] as? [String: [String: Any]])
        for (metric, split) in [("forget_acc", "forget"), ("retain_acc", "retain"), ("test_acc", "test")] {
            #expect((evaluation["before"] as? [String: Any])?[metric] as? Double == splits[split]?["accuracy"] as? Double, "\(metric)")
        }
        #expect((evaluation["splits"] as? [String: Any])?["forget"] as? Int == 22)
        #expect((evaluation["require"] as? [String]) == ["forget_acc<=0.01", "retain_drop<0.25"])

        let bad = try Run.ckptforget(Self.model, "-p", "zero", "-c", "2", "-o", scratch.file("x.h5"), "--require", "accuracy>0.9")
        #expect(bad.status == 2 && bad.stderr.contains("--require"))
    }

    @Test func evalReportsEachSplit() throws {
        let run = try Run.ckptforget("eval", Self.model, "--data", Self.data, "--scale", "1/255", "-c", "2")
        #expect(run.status == 0)
        let rows = run.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.first?.first == "SPLIT")
        #expect(rows.dropFirst().prefix(3).map { String($0[0]) + " " + String($0[1]) } == ["all 200", "forget 22", "retain 178"])
        // 188 of the 200 are right (Keras' own predictions on the same samples give 0.94).
        #expect(rows[1][2] == "0.94")
        // Membership inference with held-out data (the MNIST IDX head as non-members).
        let idx = Run.fixture("engine/mnist_head.idx3-ubyte.gz") + ":" + Run.fixture("engine/mnist_head.idx1-ubyte.gz")
        let mia = try Run.ckptforget("eval", Self.model, "--data", Self.data, "--test-data", idx, "--scale", "1/255", "-c", "2", "--json")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(mia.stdout.utf8)) as? [String: Any])
        let attack = try #require(report["mia"] as? [String: Any])
        #expect(attack["members"] as? Int == 178 && attack["targets"] as? Int == 22 && attack["feature"] as? String == "entropy")
        let share = try #require(attack["member_share"] as? Double)
        #expect(share >= 0 && share <= 1 && abs((share * 22).rounded() - share * 22) < 1e-9)  // a count of 22
    }

    /// Both files of an IDX (or .npy) pair are inputs of the record; data that cannot be split as
    /// asked stops the run before any work.
    @Test func dataFilesAreRecordedAndBadSelectionsExitTwo() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let pairs = [(Run.fixture("engine/mnist_head.idx3-ubyte.gz"), Run.fixture("engine/mnist_head.idx1-ubyte.gz"), "1/255"),
                     (Run.fixture("engine/x_small.npy"), Run.fixture("engine/y_small.npy"), "1")]
        for (samples, labels, scale) in pairs {
            let out = scratch.file((samples as NSString).lastPathComponent + ".h5")
            let run = try Run.ckptforget(Self.model, "--data", samples + ":" + labels, "--scale", scale, "-c", "2", "-p", "zero", "-q", "-o", out)
            #expect(run.status == 0, "\(run.stderr)")
            let shown = try Run.ckptforget("show", out + ".manifest.json", "--json")
            let statement = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
            let inputs = try #require((statement["predicate"] as? [String: Any])?["inputs"] as? [[String: Any]])
            // Paths are recorded relative to the record.
            let data = inputs.filter { $0["role"] as? String == "data" }.compactMap { ($0["path"] as? String).map { ($0 as NSString).lastPathComponent } }
            #expect(data == [samples, labels].map { ($0 as NSString).lastPathComponent }, "\(inputs)")
        }

        try "3\n500\n".write(toFile: scratch.file("ids.txt"), atomically: true, encoding: .utf8)
        let beyond = try Run.ckptforget("stats", Self.model, "--data", Self.data, "--forget-ids", scratch.file("ids.txt"), "-o", scratch.file("s.h5"))
        #expect(beyond.status == 2 && beyond.stderr.contains("--forget-ids: sample 500 is beyond the 200 samples"), "\(beyond.stderr)")
        let alone = try Run.ckptforget("stats", Self.model, "--forget-data", Self.data, "-o", scratch.file("s.h5"))
        #expect(alone.status == 2 && alone.stderr.contains("--forget-data needs --retain-data"), "\(alone.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("s.h5")))
    }

    /// A dry run whose passes need no statistics does not rebuild the model, so data beside a file
    /// the engine cannot run (no model_config) is no obstacle; a real run then names the problem.
    @Test func dryRunsNeedNoEngine() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let weights = Run.fixture("keras/mnist_mlp.weights.h5")
        let dry = try Run.ckptforget(weights, "--data", Self.data, "-c", "2", "-p", "zero", "--dry-run")
        #expect(dry.status == 0, "\(dry.stderr)")
        let real = try Run.ckptforget(weights, "--data", Self.data, "-c", "2", "-p", "zero", "--no-sign", "-o", scratch.file("out.weights.h5"))
        #expect(real.status == 2 && real.stderr.contains("no Keras model_config"), "\(real.stderr)")
        #expect(scratch.contents.isEmpty)
    }

    @Test func modelsTheEngineCannotRunAreNamed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let weights = try Run.ckptforget("stats", Run.fixture("keras/mnist_mlp.weights.h5"), "--data", Self.data, "-c", "2", "-o", scratch.file("s.h5"))
        #expect(weights.status == 2 && weights.stderr.contains("no Keras model_config") && weights.stderr.contains("--stats"))
        let layer = try Run.ckptforget("stats", Run.fixture("keras/groupnorm_mlp.h5"), "--data", Self.data, "-c", "2", "-o", scratch.file("s.h5"))
        #expect(layer.status == 2 && layer.stderr.contains("layer 'norm' is a GroupNormalization, which the engine does not run")
                && layer.stderr.contains("--stats"), "\(layer.stderr)")
        let outOfRange = try Run.ckptforget("stats", Self.model, "--data", Self.data, "-c", "12", "-o", scratch.file("s.h5"))
        #expect(outOfRange.status == 2 && outOfRange.stderr.contains("--class 12 is out of range"))
        let badScale = try Run.ckptforget("eval", Self.model, "--data", Self.data, "--scale", "1/0")
        #expect(badScale.status == 2 && badScale.stderr.contains("--scale 1/0"))
        // Weights that do not fit the model's config (a 6-value bias on 4 units, set by h5py).
        let malformed = try Run.ckptforget("eval", Run.fixture("keras/bad_bias_mlp.h5"), "--data", Self.data)
        #expect(malformed.status == 2 && malformed.stderr.contains("layer 'fc': model_weights/fc/bad_bias_mlp/fc/bias has shape [6], expected 4 values"),
                "\(malformed.stderr)")
        let badMode = try Run.ckptforget("stats", Self.model, "--data", Self.data, "-c", "2", "--fisher", "batch:0", "-o", scratch.file("s.h5"))
        #expect(badMode.status == 2 && badMode.stderr.contains("--fisher batch:0"))
        #expect(scratch.contents.isEmpty)
    }
}
