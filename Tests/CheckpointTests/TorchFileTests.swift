import Foundation
import Testing
@testable import Checkpoint

/// The torch.save layout's rules, one test each on archives built from bytes, and reading the
/// fixtures torch wrote.
@Suite struct TorchFileTests {
    /// A torch.save-like zip: `archive/data.pkl`, `archive/byteorder`, `archive/data/<key>`..., `archive/version`.
    static func archive(_ pickle: [UInt8], storages: [(String, [UInt8])], prefix: String = "archive", byteorder: String? = "little",
                        version: String? = "3\n", extra: [ZipBytes.Member] = []) -> ZipBytes {
        var members = [ZipBytes.Member("\(prefix)/data.pkl", pickle)]
        if let byteorder { members.append(ZipBytes.Member("\(prefix)/byteorder", Array(byteorder.utf8))) }
        members += storages.map { ZipBytes.Member("\(prefix)/data/\($0.0)", $0.1) }
        if let version { members.append(ZipBytes.Member("\(prefix)/version", Array(version.utf8))) }
        return ZipBytes(members + extra)
    }

    /// Six float32 values 0, 1, ..., 5.
    static let six: [UInt8] = (0..<6).flatMap { withUnsafeBytes(of: Float($0).bitPattern.littleEndian, Array.init) }
    static let good = PickleBytes.stateDict([("fc.weight", [3, 2])])

    private func open(_ bytes: [UInt8]) throws -> Result<TorchFile, CheckpointError> {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.pt"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            guard let file = try openCheckpoint(path) as? TorchFile else { Issue.record("not opened as a TorchFile"); throw CheckpointError.notFound(path: path) }
            return .success(file)
        } catch let error as CheckpointError {
            return .failure(error)
        }
    }

    private func torchProblem(_ bytes: [UInt8]) throws -> TorchProblem? {
        if case .failure(.torch(_, let problem)) = try open(bytes) { return problem }
        return nil
    }

    @Test func readsAWellFormedArchive() throws {
        guard case .success(let file) = try open(Self.archive(Self.good, storages: [("0", Self.six)]).bytes) else { Issue.record("refused"); return }
        #expect(file.tensors == [TensorInfo(name: "fc.weight", dtype: .float32, shape: [3, 2])])
        #expect(try file.read(file.tensors[0]).values == .float32([0, 1, 2, 3, 4, 5]))
        #expect(file.format == TorchFile.format && file.streamsBytes)
    }

    /// The fixture torch wrote: names, dtypes and values (rows the expected edit leaves alone).
    @Test func readsTheFixturesTorchWrote() throws {
        let cnn = try openCheckpoint(Fixture.path("torch/mnist_cnn.pt"))
        #expect(cnn.tensors.map(\.name) == ["conv.weight", "conv.bias", "fc.weight", "fc.bias"])
        #expect(cnn.tensors.map(\.shape) == [[4, 1, 3, 3], [4], [10, 676], [10]])
        let expected = try openCheckpoint(Fixture.path("expected/torch_cnn_dampen0.01_class2.safetensors"))
        let weight = try cnn.read(cnn.tensor(named: "fc.weight")!).values, edited = try expected.read(expected.tensor(named: "fc.weight")!).values
        #expect((0..<weight.count).filter { $0 / 676 != 2 }.allSatisfy { weight[$0] == edited[$0] })
        // A transposed Parameter (stride (1, 4)) is read in row-major order.
        let views = try openCheckpoint(Fixture.path("torch/views.pt"))
        let head = try views.read(views.tensor(named: "head.weight")!).values
        let headEdited = try openCheckpoint(Fixture.path("expected/torch_views_dampen0.5_class1.safetensors"))
        let want = try headEdited.read(headEdited.tensor(named: "head.weight")!).values
        #expect((0..<24).filter { $0 / 6 != 1 }.allSatisfy { head[$0] == want[$0] })
        #expect((views as? TorchFile)?.sharers(of: "shared.a") == ["shared.b"])
        for name in ["mnist_cnn_f16.pt", "mnist_cnn_bf16.pt"] {
            #expect(try openCheckpoint(Fixture.path("torch/\(name)")).tensors.map(\.dtype) == Array(repeating: name.contains("bf16") ? .bfloat16 : .float16, count: 4))
        }
    }

    @Test func refusesMembersUnderSeveralPrefixes() throws {
        let bytes = Self.archive(Self.good, storages: [("0", Self.six)], extra: [ZipBytes.Member("other/data.pkl", [0x2E])]).bytes
        #expect(try torchProblem(bytes) == .prefixes(["archive", "other"]))
    }

    @Test func refusesAnArchiveWithoutItsVersion() throws {
        #expect(try torchProblem(Self.archive(Self.good, storages: [("0", Self.six)], version: nil).bytes) == .missingMember("archive/version"))
    }

    @Test func refusesABadVersion() throws {
        #expect(try torchProblem(Self.archive(Self.good, storages: [("0", Self.six)], version: "three").bytes) == .badVersion("three"))
    }

    @Test func refusesBigEndianStorages() throws {
        #expect(try torchProblem(Self.archive(Self.good, storages: [("0", Self.six)], byteorder: "big").bytes) == .byteOrder("big"))
    }

    /// A data.pkl member of 257 MiB (a sparse file): refused before it is read.
    @Test func refusesAHugePickle() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/huge.pt"
        let size = 257 << 20
        let name = Array("archive/data.pkl".utf8)
        var local = [UInt8](repeating: 0, count: 30)
        local.put32(0x0403_4B50, at: 0)
        local.put32(UInt32(size), at: 18)
        local.put32(UInt32(size), at: 22)
        local.put16(UInt16(name.count), at: 26)
        var central = [UInt8](repeating: 0, count: 46)
        central.put32(0x0201_4B50, at: 0)
        central.put32(UInt32(size), at: 20)
        central.put32(UInt32(size), at: 24)
        central.put16(UInt16(name.count), at: 28)
        let directoryOffset = 30 + name.count + size
        var end = [UInt8](repeating: 0, count: 22)
        end.put32(0x0605_4B50, at: 0)
        end.put16(1, at: 8)
        end.put16(1, at: 10)
        end.put32(UInt32(46 + name.count), at: 12)
        end.put32(UInt32(directoryOffset), at: 16)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(local + name)))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(directoryOffset))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(central + name + end))
        try handle.close()
        #expect(throws: CheckpointError.torch(path: path, .pickleTooLarge(size: size, limit: TorchFile.maximumPickle))) { try openCheckpoint(path) }
    }

    @Test func refusesAStorageTheArchiveDoesNotHold() throws {
        #expect(try torchProblem(Self.archive(Self.good, storages: []).bytes) == .storageMissing(key: "0", member: "archive/data/0"))
    }

    @Test func refusesACompressedStorage() throws {
        var archive = Self.archive(Self.good, storages: [("0", Self.six)])
        let index = archive.members.firstIndex { $0.name == "archive/data/0" }!
        archive.members[index] = ZipBytes.Member.deflated("archive/data/0")
        #expect(try torchProblem(archive.bytes) == .storageCompressed(member: "archive/data/0"))
    }

    /// A record shorter than numel × itemsize (CVE-2026-24747: torch read past it).
    @Test func refusesARecordShorterThanItsStorage() throws {
        #expect(try torchProblem(Self.archive(Self.good, storages: [("0", Array(Self.six.prefix(20)))]).bytes)
            == .storageLength(member: "archive/data/0", expected: 24, actual: 20))
    }

    /// torch never checks CRCs: a flipped byte would load as a wrong value. Here it is refused.
    @Test func checksAStoragesCRCBeforeItsBytesAreUsed() throws {
        var archive = Self.archive(Self.good, storages: [("0", Self.six)])
        let index = archive.members.firstIndex { $0.name == "archive/data/0" }!
        archive.members[index].stored[5] ^= 0x40
        archive.members[index].content = archive.members[index].stored
        guard case .success(let file) = try open(archive.bytes) else { Issue.record("refused at open"); return }
        #expect(throws: CheckpointError.self) { try file.read(file.tensors[0]) }
        do { _ = try file.read(file.tensors[0]) } catch let CheckpointError.zip(_, problem) {
            guard case .crcMismatch(member: "archive/data/0", _, _) = problem else { Issue.record("\(problem)"); return }
        }
        // A slice's bytes too, although the damage lies outside the slice (byte 5 is element 1's).
        #expect(throws: CheckpointError.self) { try file.read(file.tensors[0], elements: 4..<6) }
    }

    /// Slices of a tensor read alone equal the slices of the whole tensor: the fixtures' contiguous
    /// tensors (float32, float16, bfloat16; only the slice's bytes are read) and the transposed
    /// Parameter of views.pt (read whole, then sliced: `readsSlices` is false for that file).
    @Test func readsSlicesOfTheFixtures() throws {
        for name in ["mnist_cnn.pt", "mnist_cnn_f16.pt", "mnist_cnn_bf16.pt", "views.pt"] {
            let file = try openCheckpoint(Fixture.path("torch/\(name)"))
            #expect(file.readsSlices == (name != "views.pt"), "\(name)")
            for info in file.tensors where info.dtype.isEditable {
                let whole = try file.read(info).values
                for range in [0..<min(5, info.count), (info.count / 3)..<info.count, info.count..<info.count] {
                    #expect(try file.read(info, elements: range) == whole.slice(range), "\(name) \(info.name) \(range)")
                }
            }
        }
        // Elements past the end are an error naming the tensor, not a trap.
        let file = try openCheckpoint(Fixture.path("torch/mnist_cnn.pt"))
        let info = try #require(file.tensors.first { $0.dtype.isEditable })
        #expect(throws: CheckpointError.self) { try file.read(info, elements: (info.count - 1)..<(info.count + 1)) }
    }

    @Test func namesThePickleMemberInPickleProblems() throws {
        var p = PickleBytes()
        p.global("os", "system")
        p.stop()
        guard case .failure(.pickle(_, member: "archive/data.pkl", .globalNotAllowed(module: "os", name: "system", offset: 2))) =
            try open(Self.archive(p.bytes, storages: []).bytes) else { Issue.record("not refused as a pickle problem"); return }
    }

    /// Two keys that differ only in Unicode normalization are refused naming both (exit 2), not
    /// merged into one name whose value is the decoy's.
    @Test func refusesNamesThatDifferOnlyInNormalization() throws {
        let nfc = "caf\u{E9}.weight", nfd = "cafe\u{301}.weight"
        var p = PickleBytes()
        p.orderedDict()
        p.mark()
        p.string(nfc)
        p.tensor("0", numel: 1, size: [1], stride: [1])
        p.string(nfd)
        p.tensor("1", numel: 1, size: [1], stride: [1])
        p.setItems()
        p.stop()
        let one = Array(Self.six[0..<4])
        guard case .failure(.ambiguousNames(_, let first, let second)) = try open(Self.archive(p.bytes, storages: [("0", one), ("1", one)]).bytes) else {
            Issue.record("not refused as ambiguous names"); return
        }
        #expect(Array(first.utf8) == Array(nfc.utf8) && Array(second.utf8) == Array(nfd.utf8))
    }

    /// {"w": t0, "w": t1}: the first value is replaced, but its record stays in the zip and would be
    /// copied, old bytes and all, into an edited output; so would a record the pickle never names.
    @Test func refusesARecordNoTensorReads() throws {
        var p = PickleBytes()
        p.orderedDict()
        p.mark()
        p.string("w")
        p.tensor("0", numel: 1, size: [1], stride: [1])
        p.string("w")
        p.tensor("1", numel: 1, size: [1], stride: [1])
        p.setItems()
        p.stop()
        let one = Array(Self.six[0..<4])
        #expect(try torchProblem(Self.archive(p.bytes, storages: [("0", one), ("1", one)]).bytes) == .unreferencedStorage(member: "archive/data/0"))
        #expect(try torchProblem(Self.archive(Self.good, storages: [("0", Self.six), ("9", one)]).bytes) == .unreferencedStorage(member: "archive/data/9"))
    }

    /// An expanded view (stride 0) reaches one element for several: it is read, but not edited.
    @Test func refusesToEditAnExpandedView() throws {
        var p = PickleBytes()
        p.emptyDict()
        p.string("fc.bias")
        p.tensor("0", numel: 6, size: [3], stride: [0])
        p.setItem()
        p.stop()
        guard case .success(let file) = try open(Self.archive(p.bytes, storages: [("0", Self.six)]).bytes) else { Issue.record("refused"); return }
        #expect(try file.read(file.tensors[0]).values == .float32([0, 0, 0]))
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transaction = OutputTransaction()
        defer { transaction.abort() }
        do {
            try file.rewrite(to: directory + "/out.pt", in: transaction, plan: RewritePlan(edited: ["fc.bias"]), progress: { _, _ in }) { _ in }
            Issue.record("an expanded view was edited")
        } catch let CheckpointError.unsupported(_, tensor, reason) {
            #expect(tensor == "fc.bias" && reason.contains("more than once"))
        }
    }

    /// A rewrite that edits nothing copies every member's content, and the result is what torch
    /// writes: one prefix, 64-byte aligned data, members in their order.
    @Test func rewritesMembersInOrderAlignedAndIntact() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = try openCheckpoint(Fixture.path("torch/mnist_cnn.pt")) as! TorchFile
        let transaction = OutputTransaction()
        try source.rewrite(to: directory + "/out.pt", in: transaction, plan: RewritePlan(edited: []), progress: { _, _ in }) { _ in }
        try transaction.commit()
        let output = try ZipArchive(path: directory + "/out.pt")
        #expect(output.entries.map(\.name) == source.archive.entries.map(\.name))
        for (a, b) in zip(source.archive.entries, output.entries) {
            #expect(try source.archive.contents(of: a, limit: 1 << 20) == output.contents(of: b, limit: 1 << 20), "\(a.name)")
            #expect(b.dataOffset % 64 == 0 && b.isStored && b.crc32 == a.crc32)
        }
    }
}
