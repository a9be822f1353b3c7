import Foundation
import Testing
@testable import Checkpoint

/// Rewriting: untouched data comes through bit for bit, edited data is what the edit made, the
/// output is reproducible, and nothing of the forgotten values or dropped groups survives.
@Suite struct RewriteTests {
    /// Rewrites `source` into `directory/name`, multiplying the elements at `indices` of each edited tensor by 0.5.
    @discardableResult
    private func rewrite(_ source: any CheckpointFile, to path: String, edited: Set<String>, dropped: Set<String> = [],
                         indices: (TensorInfo) -> [Int]) throws -> [String: Bool] {
        let transaction = OutputTransaction()
        var seen: [String: Bool] = [:]
        try source.rewrite(to: path, in: transaction, plan: RewritePlan(edited: edited, dropped: dropped),
                           progress: { info, edited in seen[info.name] = edited }) { tensor in
            tensor.update(indices(tensor.info)) { $0 * 0.5 }
        }
        try transaction.commit()
        return seen
    }

    private func values(_ file: any CheckpointFile, _ name: String) throws -> TensorValues {
        try file.read(try #require(file.tensor(named: name))).values
    }

    private let kernel = "model_weights/output/mnist_mlp/output/kernel"
    private let bias = "model_weights/output/mnist_mlp/output/bias"

    @Test func hdf5KeepsEverythingButTheEdit() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = try openCheckpoint(Fixture.path("keras/mnist_mlp.h5"))
        let output = directory + "/out.h5"
        let seen = try rewrite(source, to: output, edited: [kernel, bias]) { info in
            info.name == kernel ? Array(AxisSlice(shape: info.shape, axis: 1, index: 2)) : [2]
        }
        #expect(seen.filter(\.value).keys.sorted() == [bias, kernel])
        #expect(seen.count == source.tensors.count)

        let result = try openCheckpoint(output)
        #expect(result.tensors == source.tensors)
        #expect(result.metadata.modelConfig == source.metadata.modelConfig)
        #expect(result.metadata.layerNames == source.metadata.layerNames)
        #expect(result.metadata.weightNames == source.metadata.weightNames)
        for info in source.tensors where info.dtype.isEditable && info.name != kernel && info.name != bias {
            #expect(try values(result, info.name) == values(source, info.name), "\(info.name)")
        }
        guard case .float32(let before) = try values(source, kernel), case .float32(let after) = try values(result, kernel) else {
            Issue.record("kernel is not float32")
            return
        }
        for i in before.indices {
            #expect(after[i] == (i % 10 == 2 ? before[i] * 0.5 : before[i]), "kernel element \(i)")
        }
    }

    @Test func hdf5OutputIsByteReproducible() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["a.h5", "b.h5"] {
            try rewrite(try openCheckpoint(Fixture.path("keras/mnist_mlp.h5")), to: "\(directory)/\(name)",
                        edited: [bias], dropped: ["optimizer_weights"]) { _ in [2] }
        }
        let identical = try Fixture.bytes(directory + "/a.h5") == Fixture.bytes(directory + "/b.h5")
        #expect(identical)
    }

    /// The original bytes of the edited column and of every dropped optimizer array must appear
    /// nowhere in the output (HDF5 would keep them in free space after an in-place edit).
    @Test func forgottenBytesDoNotSurvive() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = try openCheckpoint(Fixture.path("keras/mnist_mlp.h5"))
        let output = directory + "/out.h5"
        try rewrite(source, to: output, edited: [kernel, bias], dropped: ["optimizer_weights"]) { info in
            info.name == kernel ? Array(AxisSlice(shape: info.shape, axis: 1, index: 2)) : [2]
        }
        let outputBytes = try Fixture.bytes(output)
        let inputBytes = try Fixture.bytes(Fixture.path("keras/mnist_mlp.h5"))

        guard case .float32(let column) = try values(source, kernel), case .float32(let biases) = try values(source, bias) else { return }
        let forgotten = AxisSlice(shape: [32, 10], axis: 1, index: 2).map { column[$0] } + [biases[2]]
        for value in forgotten {
            let pattern = withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
            let inInput = inputBytes.contains(subsequence: pattern), inOutput = outputBytes.contains(subsequence: pattern)
            #expect(inInput, "the check itself must see the value in the input")
            #expect(!inOutput, "forgotten value \(value) survives in the output")
        }
        for info in source.tensors where info.name.hasPrefix("optimizer_weights/") && info.dtype == .float32 && info.count >= 4 {
            guard case .float32(let moments) = try values(source, info.name) else { continue }
            // 16-byte windows of four non-zero moments (zeros would match anywhere).
            var checked = 0
            for start in stride(from: 0, to: moments.count - 3, by: max(1, moments.count / 64))
            where moments[start..<(start + 4)].allSatisfy({ $0 != 0 }) {
                let window = moments[start..<(start + 4)].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
                let survives = outputBytes.contains(subsequence: window)
                #expect(!survives, "bytes of \(info.name) at element \(start) survive in the output")
                checked += 1
            }
            #expect(checked > 0, "\(info.name): no non-zero window to look for")
        }
        // The dropped group's attribute strings are gone too.
        let name = Array("mnist_mlp_hidden_kernel_momentum".utf8)
        let (nameInInput, nameInOutput) = (inputBytes.contains(subsequence: name), outputBytes.contains(subsequence: name))
        #expect(nameInInput && !nameInOutput)
    }

    @Test func safetensorsCopiesHeaderAndUntouchedTensorsVerbatim() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = Fixture.path("safetensors/mlp_f16.safetensors")
        let source = try openCheckpoint(path)
        let output = directory + "/out.safetensors"
        try rewrite(source, to: output, edited: ["fc2.weight"]) { info in Array(AxisSlice(shape: info.shape, axis: 0, index: 7)) }
        let (before, after) = (try Fixture.bytes(path), try Fixture.bytes(output))
        #expect(before.count == after.count)
        let header = try SafetensorsFile(path: path).tensors  // same order as the buffer
        let start = 8 + Int(before[0]) + Int(before[1]) << 8 + Int(before[2]) << 16
        let sameHeader = before[..<start] == after[..<start]
        #expect(sameHeader, "header bytes differ")
        var offset = start
        for info in header {
            let range = offset..<(offset + info.byteCount)
            if info.name == "fc2.weight" {
                let row = (7 * 32 * 2)..<(8 * 32 * 2)  // row 7 of (10, 32) f16
                let changed = range.filter { before[$0] != after[$0] }.map { $0 - offset }
                #expect(!changed.isEmpty && changed.allSatisfy(row.contains))
            } else {
                let same = before[range] == after[range]
                #expect(same, "\(info.name) changed")
            }
            offset = range.upperBound
        }
    }

    @Test func failedRewriteLeavesNoFile() throws {
        struct Refused: Error {}
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for fixture in ["keras/mnist_mlp.h5", "safetensors/mlp.safetensors"] {
            let source = try openCheckpoint(Fixture.path(fixture))
            let victim = source.tensors.first { $0.dtype.isEditable }!.name
            let transaction = OutputTransaction()
            #expect(throws: Refused.self) {
                try source.rewrite(to: directory + "/out", in: transaction, plan: RewritePlan(edited: [victim]), progress: { _, _ in }) { _ in
                    throw Refused()
                }
            }
            transaction.abort()
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty, "\(fixture) left files behind")
        }
    }
}

/// A commit is all or nothing: when a rename fails, the renames before it are undone and the files
/// they replaced are back.
@Suite struct CommitTests {
    @Test func aFailedRenameUndoesTheOthers() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (first, second) = (directory + "/model.bin", directory + "/model.bin.manifest.json")
        try Data("old model".utf8).write(to: URL(fileURLWithPath: first))
        let transaction = OutputTransaction()
        try transaction.write(Array("new model".utf8), to: first)
        try transaction.write(Array("record".utf8), to: second)
        // A directory appears where the record goes: its rename fails after the model's succeeded.
        try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: false)
        #expect(throws: CheckpointError.self) { try transaction.commit() }
        #expect(try String(contentsOfFile: first, encoding: .utf8) == "old model")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["model.bin", "model.bin.manifest.json"])
        #expect(transaction.abort().isEmpty)

        // Without the directory in the way the same commit goes through and leaves no backup.
        try FileManager.default.removeItem(atPath: second)
        let again = OutputTransaction()
        try again.write(Array("new model".utf8), to: first)
        try again.write(Array("record".utf8), to: second)
        try again.commit()
        #expect(try String(contentsOfFile: first, encoding: .utf8) == "new model")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["model.bin", "model.bin.manifest.json"])
        #expect(again.abort() == [first, second])
    }
}
