import Foundation
import Testing

/// `ckptforget diff`, and its agreement with a run's own per-tensor records.
@Suite struct DiffCommandTests {
    @Test func diffAgreesWithTheRunsRecords() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (post, pre) = (Run.fixture("snapshots/mnist_mlp_post.h5"), Run.fixture("snapshots/mnist_mlp_pre.h5"))
        let run = try Run.ckptforget(post, "--pre", pre, "--pass", "prune:top=1%,scope=global", "--json", "-q", "-o", scratch.file("out.h5"))
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let records = try #require((report["passes"] as? [[String: Any]])?.first?["tensors"] as? [[String: Any]])

        let diff = try Run.ckptforget("diff", post, scratch.file("out.h5"), "--json")
        #expect(diff.status == 0)
        let compared = try #require(try JSONSerialization.jsonObject(with: Data(diff.stdout.utf8)) as? [String: Any])
        let tensors = try #require(compared["tensors"] as? [[String: Any]])
        for record in records {
            let name = try #require(record["tensor"] as? String)
            let match = try #require(tensors.first { $0["tensor"] as? String == name })
            for key in ["elements_changed", "l2", "max_abs"] {
                #expect("\(record[key]!)" == "\(match[key]!)", "\(name) \(key)")
            }
        }
        // 1% of 25,450 parameters: 254 pruned (the fixture script's count), all to zero.
        #expect((compared["summary"] as? [String: Any])?["elements_changed"] as? Int == 254)
        let zeros = tensors.compactMap { $0["zeros_after"] as? Double }
        #expect(zeros.contains { $0 > 0 })
    }

    @Test func tableListsChangedAndMissingTensors() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = Run.fixture("keras/mnist_mlp.h5")
        #expect(try Run.ckptforget(input, "-p", "zero", "-c", "4", "-q", "-o", scratch.file("out.h5")).status == 0)
        let diff = try Run.ckptforget("diff", input, scratch.file("out.h5"))
        #expect(diff.status == 0)
        let lines = diff.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("TENSOR") == true)
        #expect(lines.contains { $0.hasPrefix("model_weights/output/mnist_mlp/output/kernel") && $0.contains("changed") && $0.contains(" 32 ") })
        // The optimizer group left out of the output is one line, not one per tensor.
        let missing = lines.filter { $0.contains("only in first") }
        #expect(missing.count == 1 && missing[0].hasPrefix("optimizer_weights/ (10 tensors) ") && missing[0].hasSuffix("only in first"), "\(missing)")
        #expect(lines.last == "2 of 14 tensors changed (33 elements); 2 identical; 10 only in \(input); 0 only in \(scratch.file("out.h5"))")
        let same = try Run.ckptforget("diff", input, input)
        let sameLines = same.stdout.split(separator: "\n")
        #expect(sameLines.last == "0 of 14 tensors changed (0 elements); 13 identical; 0 only in \(input); 0 only in \(input)")
        // The one integer tensor (Adam's iteration counter) is listed as not compared.
        #expect(sameLines.dropFirst().dropLast().map { $0.split(separator: " ").first } == ["optimizer_weights/adam/iteration"])
    }

    @Test func snapshotErrorsExitTwo() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let post = Run.fixture("snapshots/mlp_post.safetensors")
        let mismatch = try Run.ckptforget(post, "--pre", Run.fixture("snapshots/mlp_pre_mismatch.safetensors"), "-p", "negate:1", "-o", scratch.file("o.safetensors"))
        #expect(mismatch.status == 2)
        #expect(mismatch.stderr.contains("mlp_pre_mismatch.safetensors does not match the checkpoint: no tensor fc1.bias; fc2.weight has shape [9, 32], expected [10, 32]"))
        let missing = try Run.ckptforget(post, "-p", "ssd", "-o", scratch.file("o.safetensors"))
        #expect(missing.status == 2 && missing.stderr.contains("pass 'ssd' needs --stats STATS"))
        let badStats = try Run.ckptforget(post, "--stats", Run.fixture("stats/mlp_stats_badshape.h5"), "-p", "ssd", "-o", scratch.file("o.safetensors"))
        #expect(badStats.status == 2 && badStats.stderr.contains("fisher/forget/fc2.weight has shape [10, 31], expected [10, 32]"))
        let notStats = try Run.ckptforget(post, "--stats", post, "-p", "ssd", "-o", scratch.file("o.safetensors"))
        #expect(notStats.status == 2 && notStats.stderr.contains("a statistics file is HDF5"))
        // The snapshot and the statistics file are inputs too: never overwritten.
        let overwrite = try Run.ckptforget(post, "--pre", Run.fixture("snapshots/mlp_pre.safetensors"), "-p", "negate:1",
                                           "-o", Run.fixture("snapshots/mlp_pre.safetensors"))
        #expect(overwrite.status == 2 && overwrite.stderr.contains("refusing to write: it is the input"))
        #expect(scratch.contents.isEmpty)
    }
}
