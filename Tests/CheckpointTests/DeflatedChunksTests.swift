import Foundation
import Testing
@testable import Checkpoint

/// Deflated chunks compressed on every core (`HDF5DeflatedChunks`) are what libhdf5's own filters
/// write: an edited copy of h5py's gzip datasets is the same file, byte for byte, whichever writes
/// the chunks, and reads back as the edit made it.
@Suite struct DeflatedChunksTests {
    private let fixture = Fixture.path("hdf5/deflated_chunks.h5")
    private let compressedHere = ["edges/big_endian", "edges/f32", "edges/f64", "edges/fill", "edges/half", "kept/level_mismatch"]

    /// HDF5's shuffle worked by hand: two 4-byte elements 01 02 03 04 and 05 06 07 08 become their
    /// byte planes 01 05, 02 06, 03 07, 04 08; three 2-byte elements and a byte over become
    /// 01 03 05, 02 04 06, and the odd byte last, as the filter leaves it.
    @Test func shuffleByHand() {
        func shuffled(_ input: [UInt8], by size: Int) -> [UInt8] {
            var output = [UInt8](repeating: 0, count: input.count)
            input.withUnsafeBytes { from in
                output.withUnsafeMutableBytes { to in HDF5DeflatedChunks.shuffle(from, elementSize: size, into: to) }
            }
            return output
        }
        #expect(shuffled([1, 2, 3, 4, 5, 6, 7, 8], by: 4) == [1, 5, 2, 6, 3, 7, 4, 8])
        #expect(shuffled([1, 2, 3, 4, 5, 6, 7], by: 2) == [1, 3, 5, 2, 4, 6, 7])
    }

    /// Deflate alone or after shuffle, in more than one chunk, is compressed here; Fletcher-32, a
    /// single chunk, no filters and contiguous storage are left to libhdf5.
    @Test func takesTheDatasetsWhoseFiltersItApplies() throws {
        let file = try #require(try openCheckpoint(fixture) as? HDF5File)
        for info in file.tensors {
            let writer = try HDF5DeflatedChunks.forDataset(info.name, in: file)
            #expect((writer != nil) == compressedHere.contains(info.name), "\(info.name)")
        }
        let fill = try #require(try HDF5DeflatedChunks.forDataset("edges/fill", in: file))
        #expect(fill.chunk == [2, 2, 3] && fill.shape == [3, 5, 4] && fill.level == 1 && fill.shuffleSize == 4)
        #expect(fill.fill == Array(withUnsafeBytes(of: Float(1.5).bitPattern.littleEndian, Array.init)))
        let bigEndian = try #require(try HDF5DeflatedChunks.forDataset("edges/big_endian", in: file))
        #expect(bigEndian.level == 9 && bigEndian.fill == [0, 0, 0, 0])
        #expect(try HDF5DeflatedChunks.forDataset("edges/f64", in: file)?.shuffleSize == 1)
        let keras = try #require(try openCheckpoint(Fixture.path("keras/mnist_mlp.h5")) as? HDF5File)
        #expect(try HDF5DeflatedChunks.forDataset("model_weights/output/mnist_mlp/output/kernel", in: keras) == nil)
    }

    /// Every tensor edited (x / 2 − 1/4), written once with the chunks compressed here and once by
    /// `H5Dwrite`: the two files are identical, so edge chunks carry the fill value libhdf5 gives
    /// them and each chunk is the filter's bytes; the values read back are the edit's.
    @Test func sameFileAsLibhdf5Writes() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = try #require(try openCheckpoint(fixture) as? HDF5File)
        let plan = RewritePlan(edited: Set(source.tensors.map(\.name)))
        var files: [Data] = []
        for compressesChunks in [true, false] {
            let path = directory + "/out-\(compressesChunks).h5"
            let transaction = OutputTransaction()
            try HDF5Rewriter(source: source, plan: plan, progress: { _, _ in }, edit: { $0.updateAll { $0 / 2 - 0.25 } },
                             compressesChunks: compressesChunks).write(to: transaction.temporaryFile(for: path, named: true))
            try transaction.commit()
            files.append(try Data(contentsOf: URL(fileURLWithPath: path)))

            let output = try openCheckpoint(path)
            for info in source.tensors where info.dtype != .float16 {  // float16 is rounded on the way out
                var expected = try source.read(info)
                expected.updateAll { $0 / 2 - 0.25 }
                #expect(try output.read(info).values == expected.values, "\(info.name)")
            }
        }
        #expect(files[0] == files[1])
    }

    /// One element of `kept/level_mismatch` doubled: its chunk (0, 0) is compressed again at the
    /// declared level 9 (a zlib header of 78 DA), the other three keep the level-1 bytes the file
    /// stored (78 01), which compressing them again would not give; every value reads back as the
    /// edit made it.
    @Test func keepsTheChunksAnEditLeaves() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let name = "kept/level_mismatch"
        let source = try #require(try openCheckpoint(fixture) as? HDF5File)
        let info = try #require(source.tensors.first { $0.name == name })
        let path = directory + "/out.h5"
        let transaction = OutputTransaction()
        try HDF5Rewriter(source: source, plan: RewritePlan(edited: [name]), progress: { _, _ in }, edit: { $0.update([0]) { $0 * 2 } })
            .write(to: transaction.temporaryFile(for: path, named: true))
        try transaction.commit()

        let output = try #require(try openCheckpoint(path) as? HDF5File)
        let writer = try #require(try HDF5DeflatedChunks.forDataset(name, in: source))
        for origin in [[0, 0], [0, 4], [4, 0], [4, 4]] {
            let before = try writer.storedChunk(name, at: origin, in: source)
            let after = try writer.storedChunk(name, at: origin, in: output)
            #expect(before.prefix(2) == [0x78, 0x01], "\(origin)")
            if origin == [0, 0] {
                #expect(after.prefix(2) == [0x78, 0xDA] && after != before)
            } else {
                #expect(after == before, "\(origin)")
            }
        }
        var expected = try source.read(info)
        expected.update([0]) { $0 * 2 }
        #expect(try output.read(info).values == expected.values)
    }
}
