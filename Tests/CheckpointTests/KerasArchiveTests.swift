import Foundation
import Testing
@testable import Checkpoint

/// `.keras` archives: the rules of their layout (one test each, built from bytes), reading the
/// weights in place, and what a rewrite writes.
@Suite struct KerasArchiveTests {
    private func problem(_ archive: ZipBytes) throws -> KerasProblem? {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.keras"
        try Data(archive.bytes).write(to: URL(fileURLWithPath: path))
        do {
            _ = try openCheckpoint(path)
            return nil
        } catch CheckpointError.keras(_, let problem) {
            return problem
        }
    }

    private static let weights = try! Fixture.bytes(Fixture.path("keras/mnist_mlp.weights.h5"))
    private static let config = Array(#"{"class_name": "Sequential", "config": {"layers": []}}"#.utf8)

    @Test func refusesAnArchiveWithoutWeights() throws {
        #expect(try problem(ZipBytes([ZipBytes.Member("config.json", Self.config)])) == .missingMember("model.weights.h5", found: ["config.json"]))
    }

    @Test func refusesMembersInAFolder() throws {
        let archive = ZipBytes([ZipBytes.Member("model.weights.h5", Self.weights), ZipBytes.Member("saved/config.json", Self.config)])
        #expect(try problem(archive) == .nested("saved/config.json"))
    }

    @Test func refusesCompressedWeights() throws {
        var member = ZipBytes.Member.deflated("model.weights.h5")
        member.name = "model.weights.h5"
        #expect(try problem(ZipBytes([ZipBytes.Member("config.json", Self.config), member])) == .weightsCompressed)
    }

    @Test func refusesAConfigThatIsNotJSON() throws {
        let archive = ZipBytes([ZipBytes.Member("config.json", Array("{not json".utf8)), ZipBytes.Member("model.weights.h5", Self.weights)])
        guard case .badConfig(let reason) = try problem(archive) else { Issue.record("expected badConfig"); return }
        #expect(!reason.isEmpty)
        let list = ZipBytes([ZipBytes.Member("config.json", Array("[1, 2]".utf8)), ZipBytes.Member("model.weights.h5", Self.weights)])
        #expect(try problem(list) == .badConfig(reason: "not a JSON object"))
    }

    /// config.json was read up to 64 MiB, and parsed three times by Foundation: it is now capped at
    /// 4 MiB, refused naming the member and the limit before any of it is read.
    @Test func refusesAConfigLargerThanAModelConfigTakes() throws {
        let big = Array("{\"a\": \"".utf8) + [UInt8](repeating: 0x61, count: 4 << 20) + Array("\"}".utf8)
        let archive = ZipBytes([ZipBytes.Member("config.json", big), ZipBytes.Member("model.weights.h5", Self.weights)])
        #expect(try problem(archive) == .configTooLarge(size: big.count, limit: 4 << 20))
        #expect(KerasProblem.configTooLarge(size: big.count, limit: 4 << 20).description.hasPrefix("config.json is \(big.count) bytes, more than the 4194304 (4 MiB)"))
    }

    /// The config is parsed once, strictly, into the tree the layouts and the engine read: a key
    /// written twice keeps its last value, as Keras' Python json reads it.
    @Test func parsesTheConfigOnceIntoATree() throws {
        let archive = try openCheckpoint(Fixture.path("keras/mnist_mlp.keras"))
        let config = try #require(archive.metadata.modelConfig)
        #expect(config["class_name"]?.string != nil && config["config"]?["layers"]?.array?.isEmpty == false)
        let repeated = try JSONValue(strict: Array(#"{"a": 1, "b": 2, "a": 3}"#.utf8))
        #expect(repeated.keys == ["a", "b"] && repeated["a"]?.int == 3)
    }

    /// The weights are read in place from the archive, the config from config.json; the model's own
    /// layer names map to Keras' group names.
    @Test func readsWeightsInPlaceAndTheConfig() throws {
        let archive = try openCheckpoint(Fixture.path("keras/mnist_mlp.keras"))
        let weights = try openCheckpoint(Fixture.path("keras/mnist_mlp.weights.h5"))
        #expect(archive.format == KerasArchiveFile.format)
        for info in archive.tensors where info.dtype.isEditable && !info.name.hasPrefix("optimizer/") {
            #expect(try archive.read(info).values == weights.read(try #require(weights.tensor(named: info.name))).values, "\(info.name)")
        }
        #expect(archive.metadata.keras3LayerNames == ["layers/dense": "hidden", "layers/dense_1": "output"])
        let layout = Layout(of: archive)
        #expect(layout.kind == .keras3Weights)
        #expect(layout.layers.map(\.className) == ["Dense", "Dense"])
        #expect(try layout.outputLayer().name == "dense_1")
        #expect(try layout.outputLayer(named: "output").name == "dense_1")
        // Deflated JSON members read the same.
        let deflated = try openCheckpoint(Fixture.path("keras/mnist_mlp_deflated.keras"))
        #expect(deflated.metadata.modelConfig == archive.metadata.modelConfig)
    }

    /// A weights member whose bytes changed after it was written is refused before libhdf5 reads it.
    @Test func checksTheWeightsCRCBeforeOpeningThem() throws {
        var archive = ZipBytes([ZipBytes.Member("config.json", Self.config), ZipBytes.Member("model.weights.h5", Self.weights)])
        archive.members[1].stored[4000] ^= 1
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/flipped.keras"
        try Data(archive.bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: CheckpointError.self) { try openCheckpoint(path) }
        do { _ = try openCheckpoint(path) } catch let CheckpointError.zip(_, problem) {
            guard case .crcMismatch(member: "model.weights.h5", _, _) = problem else { Issue.record("\(problem)"); return }
        }
    }

    /// The rewrite: every other member byte for byte, all stored and dated 1980-01-01, in the
    /// original order; the weights member is exactly what the HDF5 backend writes for the same
    /// edit of the same weights on their own (the driver writes as sec2 does).
    @Test func rewritesAnArchiveAsTheHDF5BackendRewritesItsWeights() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = try openCheckpoint(Fixture.path("keras/mnist_mlp_deflated.keras")) as! KerasArchiveFile
        let plan = RewritePlan(edited: ["layers/dense_1/vars/1"], dropped: ["optimizer"])
        let edit: (inout Tensor) throws -> Void = { tensor in tensor.update([2]) { _ in 0 } }
        let transaction = OutputTransaction()
        try input.rewrite(to: directory + "/out.keras", in: transaction, plan: plan, progress: { _, _ in }, edit: edit)
        try input.weights.rewrite(to: directory + "/alone.weights.h5", in: transaction, plan: plan, progress: { _, _ in }, edit: edit)
        try transaction.commit()

        let output = try ZipArchive(path: directory + "/out.keras")
        #expect(output.entries.map(\.name) == input.archive.entries.map(\.name))
        let bytes = try Fixture.bytes(directory + "/out.keras")
        for (a, b) in zip(input.archive.entries, output.entries) {
            #expect(b.isStored && bytes.le16(at: b.localHeaderOffset + 10) == 0 && bytes.le16(at: b.localHeaderOffset + 12) == 0x21, "\(b.name)")
            if a.name != "model.weights.h5" { #expect(try input.archive.contents(of: a, limit: 1 << 20) == output.contents(of: b, limit: 1 << 20)) }
        }
        let rewritten = try output.contents(of: output.entry(named: "model.weights.h5")!, limit: 1 << 24)
        #expect(rewritten == (try Fixture.bytes(directory + "/alone.weights.h5")))
        let reopened = try openCheckpoint(directory + "/out.keras")
        #expect(try reopened.read(reopened.tensor(named: "layers/dense_1/vars/1")!).values[2] == 0)
        #expect(!reopened.tensors.contains { $0.name.hasPrefix("optimizer/") })
    }
}
