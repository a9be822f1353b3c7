import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The main command end to end: the built binary on real fixtures, checked with the HDF5 tools.
@Suite struct ForgetCommandTests {
    @Test func headlineCommandEditsOnlyTheClassAndDropsOptimizerState() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = Run.fixture("keras/mnist_mlp.h5")
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let run = try Run.ckptforget(input, "--pass", "dampen:0.01", "--class", "2", "-o", scratch.file("out.h5"))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("dropped optimizer state optimizer_weights/ (10 tensors"))
        #expect(run.stderr.contains("model_weights/output/mnist_mlp/output/kernel: 32 changed"))
        #expect(!run.stderr.contains("\r"), "progress must only be drawn on a terminal")
        // Without a key the attestation is written unsigned, and the summary says so.
        #expect(scratch.contents == ["out.h5", "out.h5.manifest.json"])
        #expect(run.stderr.contains("out.h5.manifest.json (unsigned: no --sign-key)"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before, "the input was modified")

        // h5diff: the two edited datasets differ, nothing else; the optimizer group is gone.
        let diff = try Run.run("h5diff", [input, scratch.file("out.h5")])
        #expect(diff.status == 1)
        let datasets = diff.stdout.split(separator: "\n").filter { $0.hasPrefix("dataset:") }
        #expect(datasets == ["dataset: </model_weights/output/mnist_mlp/output/bias> and </model_weights/output/mnist_mlp/output/bias>",
                             "dataset: </model_weights/output/mnist_mlp/output/kernel> and </model_weights/output/mnist_mlp/output/kernel>"])
        #expect(diff.stdout.contains("\n32 differences found") && diff.stdout.contains("\n1 differences found"))
        let listing = try Run.run("h5ls", ["-r", scratch.file("out.h5")])
        #expect(listing.status == 0 && !listing.stdout.contains("optimizer_weights") && listing.stdout.contains("/model_weights/hidden"))
    }

    @Test func keepingOptimizerStateLeavesOnlyTheEditForH5diff() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = Run.fixture("keras/mnist_mlp.h5")
        let run = try Run.ckptforget(input, "--pass", "suppress", "--class", "2", "--keep-optimizer-state", "-q", "-o", scratch.file("out.h5"))
        #expect(run.status == 0 && run.stderr.isEmpty, "\(run.stderr)")
        // -v lists every object; each must be in both files, and only the two edited datasets differ.
        let diff = try Run.run("h5diff", ["-v", input, scratch.file("out.h5")])
        // The object table marks presence with an x per file: "    x      x    /path".
        let objects = diff.stdout.split(separator: "\n").filter { $0.hasPrefix(" ") && $0.contains("    /") }
        let onlyInOne = objects.filter { $0.prefix { $0 != "/" }.filter { $0 == "x" }.count != 2 }
        #expect(objects.count >= 20 && onlyInOne.isEmpty, "\(onlyInOne)")
        let differing = diff.stdout.split(separator: "\n").filter { $0.hasSuffix("differences found") && !$0.hasPrefix("0 ") }
        #expect(differing.count == 2, "\(differing)")
    }

    @Test func sameCommandTwiceGivesTheSameBytes() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        for (input, name) in [("keras/mnist_mlp.weights.h5", "a.weights.h5"), ("keras/mnist_mlp.weights.h5", "b.weights.h5"),
                              ("safetensors/mlp_bf16.safetensors", "a.safetensors"), ("safetensors/mlp_bf16.safetensors", "b.safetensors")] {
            let run = try Run.ckptforget(Run.fixture(input), "--pass", "randomize:seed=9", "--class", "4", "-q", "-o", scratch.file(name))
            #expect(run.status == 0, "\(run.stderr)")
        }
        for pair in [("a.weights.h5", "b.weights.h5"), ("a.safetensors", "b.safetensors")] {
            let same = try Data(contentsOf: URL(fileURLWithPath: scratch.file(pair.0))) == Data(contentsOf: URL(fileURLWithPath: scratch.file(pair.1)))
            #expect(same, "\(pair.0) and \(pair.1) differ")
        }
    }

    /// An edited dataset keeps its chunking, filters and fill settings (h5dump -p), and its attributes.
    @Test func editedChunkedDatasetKeepsItsCreationProperties() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = Run.fixture("hdf5/generic.h5")
        let run = try Run.ckptforget(input, "--output-layer", "encoder", "--pass", "zero", "--class", "3", "-q", "-o", scratch.file("out.h5"))
        #expect(run.status == 0, "\(run.stderr)")
        func properties(_ file: String) throws -> [Substring] {
            try Run.run("h5dump", ["-p", "-H", "-A", "-d", "/encoder/weight", file]).stdout.split(separator: "\n")
                .dropFirst().filter { !$0.contains("SIZE") }  // line 1 names the file; SIZE is the compressed size
        }
        let (a, b) = (try properties(input), try properties(scratch.file("out.h5")))
        #expect(a == b)
        #expect(a.contains { $0.contains("CHUNKED ( 4, 8 )") } && a.contains { $0.contains("DEFLATE { LEVEL 4 }") })
        let diff = try Run.run("h5diff", [input, scratch.file("out.h5")])
        #expect(diff.stdout.contains("</encoder/weight>") && diff.stdout.contains("8 differences found"))
        #expect(diff.stdout.contains("</encoder/bias>") && diff.stdout.contains("\n1 differences found"))
        #expect(!diff.stdout.contains("</head/"))
        let attributes = try Run.run("h5dump", ["-A", "-d", "/head/weight", scratch.file("out.h5")])
        #expect(attributes.stdout.contains("\"logits\""))
    }

    @Test func shardedCheckpointIsWrittenAsIndexAndShards() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget(Run.fixture("safetensors/sharded"), "--pass", "zero", "--class", "2", "-q", "--no-sign", "-o", scratch.path + "/")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(scratch.contents == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"])
        let sameIndex = try Data(contentsOf: URL(fileURLWithPath: scratch.file("model.safetensors.index.json")))
            == Data(contentsOf: URL(fileURLWithPath: Run.fixture("safetensors/sharded/model.safetensors.index.json")))
        let sameShard = try Data(contentsOf: URL(fileURLWithPath: scratch.file("model-00001-of-00002.safetensors")))
            == Data(contentsOf: URL(fileURLWithPath: Run.fixture("safetensors/sharded/model-00001-of-00002.safetensors")))
        #expect(sameIndex && sameShard)
    }

    @Test func jsonReportDescribesTheRun() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget(Run.fixture("safetensors/mlp.safetensors"), "--pass", "dampen:0.5", "--pass", "zero", "-c", "1,3",
                                     "--json", "-q", "-o", scratch.file("o.safetensors"))
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(report["classes"] as? [Int] == [1, 3])
        #expect(report["output_layer"] as? String == "fc2")
        let passes = try #require(report["passes"] as? [[String: Any]])
        #expect(passes.map { $0["name"] as? String } == ["dampen", "zero"])
        let tensors = try #require(passes[0]["tensors"] as? [[String: Any]])
        #expect(tensors.compactMap { $0["elements_changed"] as? Int }.reduce(0, +) == 2 * 33)
    }

    @Test func dryRunWritesNothing() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget(Run.fixture("keras/mnist_mlp.h5"), "--pass", "dampen:0.1", "--class", "2", "--dry-run", "-o", scratch.file("out.h5"))
        #expect(run.status == 0)
        #expect(run.stdout.contains("pass dampen:0.1 edits 2 tensors") && run.stdout.contains("drops optimizer state: optimizer_weights/"))
        #expect(scratch.contents.isEmpty)
        let json = try Run.ckptforget(Run.fixture("keras/mnist_mlp.weights.h5"), "--pass", "zero", "-c", "3", "-n", "--json")
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(plan["dry_run"] as? Bool == true && plan["output_layer"] as? String == "dense_1")
        #expect((plan["passes"] as? [[String: Any]])?.first?["tensors"] as? [String] == ["layers/dense_1/vars/0", "layers/dense_1/vars/1"])
        #expect(plan["dropped_groups"] as? [String] == ["optimizer"])
    }

    @Test func outputDirectoryReceivesTheInputName() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget(Run.fixture("safetensors/mlp.safetensors"), "--pass", "zero", "--class", "0", "-q", "-o", scratch.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(scratch.contents == ["mlp.safetensors", "mlp.safetensors.manifest.json"])
    }

    /// SIGINT, SIGTERM or SIGHUP while writing a large output: the signal is sent once the temporary
    /// output exists (the 320 MB copy takes far longer than the polling interval), so it always lands
    /// mid-write; the run stops with 128+N and leaves nothing behind, not even its temporary file.
    @Test(arguments: [SIGINT, SIGTERM, SIGHUP]) func interruptLeavesNoOutput(signalNumber: Int32) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let count = 10 * 8_000_000  // 320 MB of F32: long enough to be interrupted while copying
        let header = #"{"head.weight":{"dtype":"F32","shape":[10,8000000],"data_offsets":[0,\#(count * 4)]}}"#
        let input = scratch.file("big.safetensors")
        #expect(FileManager.default.createFile(atPath: input, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: input))
        var length = UInt64(header.utf8.count).littleEndian
        try handle.write(contentsOf: Data(bytes: &length, count: 8) + Data(header.utf8))
        try handle.truncate(atOffset: UInt64(8 + header.utf8.count + count * 4))
        try handle.close()

        let output = try Scratch()
        defer { output.remove() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Run.binary)
        process.arguments = [input, "--pass", "dampen:0.5", "--class", "1", "-q", "--no-sign", "-o", output.file("out.safetensors")]
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The output being written has no name in the directory until it is committed.
        #expect(output.waitForUnnamedOutput(of: process), "\(output.contents)")
        kill(process.processIdentifier, signalNumber)
        process.waitUntilExit()
        #expect(process.terminationStatus == 128 + signalNumber)
        #expect(output.contents.isEmpty, "left behind: \(output.contents)")
    }
}
