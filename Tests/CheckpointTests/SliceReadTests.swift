import Testing
@testable import Checkpoint

/// Reading part of a tensor (`read(_:elements:)`), as the passes read `--pre` snapshots and Fisher
/// diagonals: every range gives exactly the slice of the whole tensor.
@Suite struct SliceReadTests {
    /// Elements 5..<19 of a (2, 3, 4) array, worked out by hand: the rest of row (0, 1) (elements
    /// 5–7), row (0, 2) (8–11), row (1, 0) (12–15) and the first three of row (1, 1) (16–18).
    @Test func boxesOfAFlatRangeByHand() {
        let boxes = HDF5File.boxes(shape: [2, 3, 4], elements: 5..<19)
        #expect(boxes.map(\.start) == [[0, 1, 1], [0, 2, 0], [1, 0, 0], [1, 1, 0]])
        #expect(boxes.map(\.count) == [[1, 1, 3], [1, 1, 4], [1, 1, 4], [1, 1, 3]])
        // Whole rows are one box; a range inside one row is one box.
        #expect(HDF5File.boxes(shape: [2, 3, 4], elements: 12..<24).map(\.count) == [[1, 3, 4]])
        #expect(HDF5File.boxes(shape: [2, 3, 4], elements: 0..<24).map(\.count) == [[2, 3, 4]])
        #expect(HDF5File.boxes(shape: [2, 3, 4], elements: 9..<11).map(\.start) == [[0, 2, 1]])
        #expect(HDF5File.boxes(shape: [7], elements: 2..<5).map(\.count) == [[3]])
        #expect(HDF5File.boxes(shape: [2, 3, 4], elements: 3..<3).isEmpty)
    }

    /// Every range of a (3, 2, 5) array: the boxes cover exactly the range, once each.
    @Test func boxesCoverEveryRangeExactlyOnce() {
        let shape = [3, 2, 5], n = 30
        for low in 0...n {
            for high in low...n {
                var covered: [Int] = []
                for box in HDF5File.boxes(shape: shape, elements: low..<high) {
                    for a in 0..<box.count[0] { for b in 0..<box.count[1] { for c in 0..<box.count[2] {
                        covered.append(((box.start[0] + a) * 2 + box.start[1] + b) * 5 + box.start[2] + c)
                    } } }
                }
                #expect(covered.sorted() == Array(low..<high), "\(low)..<\(high)")
            }
        }
    }

    /// The h5py file holds float32, float64, big-endian, float16 and chunked datasets; the
    /// safetensors files float32, float16 and bfloat16; the `.keras` archive HDF5 inside a zip.
    @Test(arguments: ["hdf5/generic.h5", "keras/mnist_mlp.h5", "keras/mnist_mlp.keras", "safetensors/mlp.safetensors",
                      "safetensors/mlp_f16.safetensors", "safetensors/mlp_bf16.safetensors", "safetensors/sharded"])
    func slicesEqualTheWholeTensorSliced(_ fixture: String) throws {
        let file = try openCheckpoint(Fixture.path(fixture))
        #expect(file.readsSlices)
        for info in file.tensors where info.dtype.isEditable {
            let whole = try file.read(info).values
            let n = info.count
            // Every range of small tensors; of large ones, ranges at and around odd boundaries.
            let bounds = n <= 40 ? Array(0...n) : [0, 1, 7, n / 3, n / 2 + 1, n - 5, n - 1, n]
            for low in bounds {
                for high in bounds where high >= low {
                    #expect(try file.read(info, elements: low..<high) == whole.slice(low..<high), "\(fixture) \(info.name) \(low)..<\(high)")
                }
            }
        }
    }

    /// `encoder/weight` of generic.h5 is (16, 8) in chunks of (4, 8): read in consecutive slices of
    /// every size from 1 to 33, as the passes read, each slice comes from the band of whole chunk
    /// rows read for it or kept from the slice before, and equals the whole tensor's.
    @Test func chunkedDatasetInConsecutiveSlices() throws {
        let file = try openCheckpoint(Fixture.path("hdf5/generic.h5"))
        let info = try #require(file.tensor(named: "encoder/weight"))
        let whole = try file.read(info).values
        for size in 1...33 {
            for low in stride(from: 0, to: info.count, by: size) {
                let range = low..<min(low + size, info.count)
                #expect(try file.read(info, elements: range) == whole.slice(range), "slices of \(size): \(range)")
            }
        }
        // Another tensor between two slices of this one.
        _ = try file.read(info, elements: 0..<5)
        _ = try file.read(try #require(file.tensor(named: "head/weight")), elements: 3..<9)
        #expect(try file.read(info, elements: 5..<70) == whole.slice(5..<70))
    }
}
