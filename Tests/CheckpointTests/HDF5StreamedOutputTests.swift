import Foundation
import Testing
@testable import Checkpoint

/// An HDF5 output's bytes shown to its digest while libhdf5 writes them (`HDF5StreamedOutput`):
/// whatever the file, the sink ends up with exactly the file's bytes, shown as written when a
/// rehearsal logged the file beforehand and read back when it could not or when the file turned
/// out otherwise.
@Suite struct HDF5StreamedOutputTests {
    // MARK: real files

    /// Writes `source` to `path` with `names` edited (x / 2 + 1/8), observed by a recorder.
    private static func rewrite(_ source: HDF5File, _ names: [String], to path: String, _ configure: (inout HDF5Rewriter) -> Void) throws
        -> (HDF5StreamedOutput.Outcome?, RecordingSink) {
        let recorder = RecordingSink()
        let transaction = OutputTransaction()
        var rewriter = HDF5Rewriter(source: source, plan: RewritePlan(edited: Set(names)), progress: { _, _ in },
                                    edit: { $0.updateAll { $0 * 0.5 + 0.125 } })
        configure(&rewriter)
        let outcome = try rewriter.write(to: transaction.temporaryFile(for: path, named: true), observer: recorder)
        try transaction.commit()
        return (outcome, recorder)
    }

    /// Edits of real files, each written observed: the recorder holds the file byte for byte, and
    /// the file is the same whether it was rehearsed or not. Streamed: unfiltered edits (a Keras
    /// class edit, a tensor beside an object reference) and edits of gzip datasets alone (a NIR
    /// graph's, whose writer compresses every tensor, and h5py's: in chunks, shuffled or not, of
    /// one chunk, big-endian, float16, with a fill value), compressed before the rehearsal.
    /// Read back: gzip edits beside an unfiltered one (edited in the file's order, none is
    /// compressed ahead), or over `encodedAheadLimit`; a file whose 80 KB attributes libhdf5
    /// stores as raw data and reads again (the rehearsal keeps no raw bytes over 64 KiB); and
    /// every file when rehearsals are off.
    @Test(arguments: [
        ("keras/mnist_mlp.h5", ["model_weights/output/mnist_mlp/output/kernel", "model_weights/output/mnist_mlp/output/bias"], true),
        ("hdf5/big_attributes.h5", ["fc/weight"], false),
        ("hdf5/refs.h5", ["fc/bias"], true),
        ("spiking/snn_pre.nir", [], true),
        ("hdf5/deflated_chunks.h5", ["edges/f32", "other/plain"], false),
        ("hdf5/deflated_chunks.h5", ["edges/big_endian", "edges/f32", "edges/f64", "edges/fill", "edges/half", "other/one_chunk"], true),
    ])
    func theSinkSeesTheFile(fixture: String, edited: [String], streams: Bool) throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = try #require(try openCheckpoint(Fixture.path(fixture)) as? HDF5File)
        let names = edited.isEmpty ? source.tensors.filter(\.dtype.isEditable).map(\.name) : edited
        var files: [[UInt8]] = []
        for rehearses in [true, false] {
            let path = directory + "/out-\(rehearses).h5"
            let (outcome, recorder) = try Self.rewrite(source, names, to: path) { $0.rehearses = rehearses }
            let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            files.append(file)
            #expect(recorder.seen == file, "\(fixture), rehearsed: \(rehearses)")
            #expect(outcome == (streams && rehearses ? .streamed : .readBack), "\(fixture), rehearsed: \(rehearses)")
            #expect(recorder.restarts == 0, "\(fixture): nothing was shown before the read-back")
            let written = try #require(try openCheckpoint(path) as? HDF5File)
            for name in names {
                let info = try #require(source.tensors.first { $0.name == name })
                var expected = try source.read(info)
                expected.updateAll { $0 * 0.5 + 0.125 }
                #expect(try written.read(info).values == expected.values, "\(fixture): \(name)")
            }
        }
        #expect(files[0] == files[1], "\(fixture): the same file rehearsed or not")
    }

    /// Compressed edits that compress worse than what they replace (random bits over zeros):
    /// compressing ahead stops once it holds more than `encodedAheadLimit` (here what the
    /// datasets stored), the rest are edited as the rewrite reaches them, each tensor once, in
    /// the file's order, and the file (read back) is the one written without compressing ahead.
    @Test func compressingAheadStopsPastTheLimit() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let names = ["edges/f32", "edges/fill", "edges/half"]
        // The datasets zeroed first (by an unobserved rewrite): they then store little.
        let fixture = try #require(try openCheckpoint(Fixture.path("hdf5/deflated_chunks.h5")) as? HDF5File)
        let zeroed = OutputTransaction()
        try HDF5Rewriter(source: fixture, plan: RewritePlan(edited: Set(names)), progress: { _, _ in }, edit: { $0.updateAll { _ in 0 } })
            .write(to: zeroed.temporaryFile(for: directory + "/zeroed.h5", named: true))
        try zeroed.commit()
        let source = try #require(try openCheckpoint(directory + "/zeroed.h5") as? HDF5File)
        // What the datasets store: every chunk's stored bytes.
        var stored = 0
        for name in names {
            let chunks = try #require(try HDF5DeflatedChunks.forDataset(name, in: source))
            var origins: [[Int]] = [[]]
            for (extent, side) in zip(chunks.shape, chunks.chunk) {
                origins = origins.flatMap { origin in stride(from: 0, to: extent, by: side).map { origin + [$0] } }
            }
            for origin in origins { stored += try chunks.storedChunk(name, at: origin, in: source).count }
        }
        final class Edits: @unchecked Sendable { var names: [String] = [] }
        var files: [[UInt8]] = []
        for ahead in [true, false] {
            let edits = Edits(), recorder = RecordingSink(), transaction = OutputTransaction()
            var state: UInt64 = 0x2545_F491_4F6C_DD1D
            var rewriter = HDF5Rewriter(source: source, plan: RewritePlan(edited: Set(names)), progress: { _, _ in }) { tensor in
                edits.names.append(tensor.name)
                tensor.updateAll { _ in  // random bits (finite)
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return Double(Float(bitPattern: UInt32(truncatingIfNeeded: state >> 32) & 0xff7f_ffff))
                }
            }
            rewriter.encodedAheadLimit = stored
            rewriter.rehearses = ahead
            let path = directory + "/out-\(ahead).h5"
            let outcome = try rewriter.write(to: transaction.temporaryFile(for: path, named: true), observer: recorder)
            try transaction.commit()
            let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(outcome == .readBack && recorder.seen == file, "compressing ahead: \(ahead)")
            #expect(edits.names == names, "compressing ahead: \(ahead)")
            files.append(file)
        }
        #expect(files[0] == files[1])
    }

    /// Compressed edits that store more than `encodedAheadLimit` are not compressed ahead: the
    /// file is read back, and it is the file written with the limit high enough.
    @Test func gzipEditsOverTheLimitAreReadBack() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = try #require(try openCheckpoint(Fixture.path("hdf5/deflated_chunks.h5")) as? HDF5File)
        var files: [[UInt8]] = []
        for (limit, expected) in [(100, HDF5StreamedOutput.Outcome.readBack), (1 << 20, .streamed)] {
            let path = directory + "/out-\(limit).h5"
            let (outcome, recorder) = try Self.rewrite(source, ["edges/f32", "edges/fill"], to: path) { $0.encodedAheadLimit = limit }
            let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(outcome == expected && recorder.seen == file, "limit \(limit)")
            files.append(file)
        }
        #expect(files[0] == files[1])
    }

    /// The same edits written past the page cache and through it: the same file, byte for byte,
    /// and the digest's bytes are the file's. Written directly, a streamed file's raw data is not
    /// left in the page cache (`mincore`, checked before anything reads the file); the metadata
    /// written over the zeros at close is (a file of a few blocks is written through it whole).
    @Test(arguments: [("keras/mnist_mlp.h5", [String]()), ("hdf5/refs.h5", ["fc/bias"]), ("hdf5/big_attributes.h5", ["fc/weight"])])
    func writtenDirectlyTheFileIsTheSame(fixture: String, edited: [String]) throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = try #require(try openCheckpoint(Fixture.path(fixture)) as? HDF5File)
        let names = edited.isEmpty ? source.tensors.filter(\.dtype.isEditable).map(\.name) : edited
        var files: [[UInt8]] = []
        for direct in [true, false] {
            let path = directory + "/out-\(direct).h5"
            let (outcome, recorder) = try Self.rewrite(source, names, to: path) { $0.writesDirect = direct }
            if direct, outcome == .streamed {
                let (cached, pages) = try Self.residency(path)
                // The Keras file's kernel is 100 KB of its 117 KB; the others are a few blocks.
                if pages > 16 { #expect(cached < pages / 2, "\(fixture): \(cached) of \(pages) pages cached") }
            }
            let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(recorder.seen == file, "\(fixture), direct: \(direct)")
            // Streamed directly, the raw data is lent from the direct writer's staging, not copied again
            // (read back, every file is lent from the read's buffers).
            if outcome == .streamed { #expect((recorder.borrowed > 0) == direct, "\(fixture), direct: \(direct)") }
            files.append(file)
        }
        #expect(files[0] == files[1], "\(fixture)")
    }

    /// How many of a file's pages are in the page cache, and how many it has.
    private static func residency(_ path: String) throws -> (cached: Int, pages: Int) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw CocoaError(.fileReadNoSuchFile) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return (0, 0) }
        let size = Int(st.st_size), page = Int(sysconf(Int32(_SC_PAGESIZE))), pages = (size + page - 1) / page
        guard let map = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else { throw CocoaError(.fileReadUnknown) }
        defer { munmap(map, size) }
        var vector = [UInt8](repeating: 0, count: pages)
        guard mincore(map, size, &vector) == 0 else { throw CocoaError(.fileReadUnknown) }
        return (vector.filter { $0 & 1 != 0 }.count, pages)
    }

    // MARK: against a log made by hand

    /// A file of 28 bytes as a rehearsal would log it: 8 bytes of metadata, two raw writes of 8
    /// bytes, 4 bytes of metadata at the end; `size` is where libhdf5 cut it.
    private static func predicted() throws -> HDF5PredictedFile {
        let log = HDF5WriteLog()
        Array("HEADER01".utf8).withUnsafeBytes { log.record(extent: false, address: 0, bytes: $0) }
        [UInt8](repeating: 0, count: 8).withUnsafeBytes { log.record(extent: true, address: 8, bytes: $0) }
        [UInt8](repeating: 0, count: 8).withUnsafeBytes { log.record(extent: true, address: 16, bytes: $0) }
        Array("TAIL".utf8).withUnsafeBytes { log.record(extent: false, address: 24, bytes: $0) }
        log.truncated(to: 28)
        return try #require(HDF5PredictedFile(log))
    }

    private static let first = [UInt8](1...8), second = [UInt8](11...18)
    private static let file = Array("HEADER01".utf8) + first + second + Array("TAIL".utf8)

    /// Replays writes into a streamed output over `predicted()`; the file read back is `file`.
    private static func replay(_ writes: [(raw: Bool, address: Int, bytes: [UInt8])]) throws -> (HDF5StreamedOutput.Outcome, RecordingSink) {
        let recorder = RecordingSink()
        let output = HDF5StreamedOutput(sink: recorder, predicted: try predicted())
        for write in writes { write.bytes.withUnsafeBytes { output.wrote(raw: write.raw, address: write.address, bytes: $0) } }
        output.truncated(to: 28)
        let outcome = try output.finish(size: 28) { buffer, offset in
            Self.file.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + buffer.count)])) }
        }
        return (outcome, recorder)
    }

    /// The writes in the rehearsal's order, in the other raw order (the later one kept until its
    /// turn), and with the metadata written first and last: all streamed, the file in order.
    @Test func writesInAnyRawOrderAreStreamed() throws {
        let header = (raw: false, address: 0, bytes: Array("HEADER01".utf8)), tail = (raw: false, address: 24, bytes: Array("TAIL".utf8))
        let a = (raw: true, address: 8, bytes: Self.first), b = (raw: true, address: 16, bytes: Self.second)
        for writes in [[header, a, b, tail], [b, a, tail, header], [tail, b, header, a]] {
            let (outcome, recorder) = try Self.replay(writes)
            #expect(outcome == .streamed && recorder.seen == Self.file && recorder.restarts == 0)
        }
    }

    /// What the file turned out to hold differs from the log (metadata bytes, a raw write of
    /// another size, one written twice, one missing): the sink is restarted and sees the file
    /// read back, never what was predicted.
    @Test func aFileOtherThanPredictedIsReadBack() throws {
        let header = (raw: false, address: 0, bytes: Array("HEADER01".utf8)), tail = (raw: false, address: 24, bytes: Array("TAIL".utf8))
        let a = (raw: true, address: 8, bytes: Self.first), b = (raw: true, address: 16, bytes: Self.second)
        let cases: [[(raw: Bool, address: Int, bytes: [UInt8])]] = [
            [header, a, b, (raw: false, address: 24, bytes: Array("TALL".utf8))],
            [header, (raw: true, address: 8, bytes: Array(Self.first.prefix(4))), (raw: true, address: 12, bytes: Array(Self.first.suffix(4))), b, tail],
            [header, a, b, a, tail],
            [header, a, tail],
        ]
        for writes in cases {
            let (outcome, recorder) = try Self.replay(writes)
            #expect(outcome == .readBack && recorder.seen == Self.file && recorder.restarts == 1)
        }
    }

    /// Raw writes that overlap each other or metadata cannot be predicted.
    @Test func overlappingWritesPredictNothing() {
        let log = HDF5WriteLog()
        [UInt8](repeating: 1, count: 8).withUnsafeBytes { log.record(extent: false, address: 0, bytes: $0) }
        [UInt8](repeating: 2, count: 8).withUnsafeBytes { log.record(extent: true, address: 4, bytes: $0) }
        #expect(HDF5PredictedFile(log) == nil)
        let twice = HDF5WriteLog()
        [UInt8](repeating: 2, count: 8).withUnsafeBytes { twice.record(extent: true, address: 0, bytes: $0) }
        [UInt8](repeating: 2, count: 8).withUnsafeBytes { twice.record(extent: true, address: 4, bytes: $0) }
        #expect(HDF5PredictedFile(twice) == nil)
    }
}
