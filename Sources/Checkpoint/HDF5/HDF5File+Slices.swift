internal import CHDF5

/// Part of a dataset read without the rest: a flat range of elements (row-major) selected as the
/// union of at most 2 × rank − 1 hyperslab boxes, so a pass's companion (a `--pre` tensor, a Fisher
/// diagonal) costs the memory of the slice it works on, not of the whole tensor.
extension HDF5File {
    var readsSlices: Bool { true }

    func read(_ info: TensorInfo, elements range: Range<Int>) throws -> TensorValues {
        guard info.dtype.isEditable else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "\(info.dtype.rawValue) tensors are never edited")
        }
        precondition(range.lowerBound >= 0 && range.upperBound <= info.count, "elements \(range) of \(info.name) of shape \(info.shape)")
        if range == 0..<info.count { return try read(info).values }  // also the one way to read a scalar dataspace
        let slab = TensorInfo(name: info.name, dtype: info.dtype, shape: [range.count], byteOrder: info.byteOrder)
        if range.isEmpty { return FloatCodec.decode(UnsafeRawBufferPointer(start: nil, count: 0), as: slab) }
        do {
            let dataset = try H5ID(.dataset, H5Dopen2(file.raw, info.name, HDF5.defaultPlist), "H5Dopen2(\(info.name))")
            let type = try H5ID(.datatype, H5Dget_type(dataset.raw), "H5Dget_type(\(info.name))")
            let space = try H5ID(.dataspace, H5Dget_space(dataset.raw), "H5Dget_space(\(info.name))")
            for (index, box) in Self.boxes(shape: info.shape, elements: range).enumerated() {
                var start = box.start.map { hsize_t($0) }, count = box.count.map { hsize_t($0) }
                try HDF5.check(H5Sselect_hyperslab(space.raw, index == 0 ? H5S_SELECT_SET : H5S_SELECT_OR, &start, nil, &count, nil),
                               "H5Sselect_hyperslab(\(info.name))")
            }
            var length = [hsize_t(range.count)]
            let memory = try H5ID(.dataspace, H5Screate_simple(1, &length, nil), "H5Screate_simple")
            // Read with the stored type as memory type, as `read` does: bytes arrive exactly as stored.
            switch (info.dtype, info.byteOrder) {
            case (.float32, .little):
                var values = [Float](repeating: 0, count: range.count)
                try HDF5.check(H5Dread(dataset.raw, type.raw, memory.raw, space.raw, HDF5.defaultPlist, &values), "H5Dread(\(info.name))")
                return .float32(values)
            case (.float64, .little):
                var values = [Double](repeating: 0, count: range.count)
                try HDF5.check(H5Dread(dataset.raw, type.raw, memory.raw, space.raw, HDF5.defaultPlist, &values), "H5Dread(\(info.name))")
                return .float64(values)
            default:
                var bytes = [UInt8](repeating: 0, count: slab.byteCount)
                try HDF5.check(H5Dread(dataset.raw, type.raw, memory.raw, space.raw, HDF5.defaultPlist, &bytes), "H5Dread(\(info.name))")
                return bytes.withUnsafeBytes { FloatCodec.decode($0, as: slab) }
            }
        } catch {
            throw CheckpointError.hdf5(path: path, call: error.call, message: error.message)
        }
    }

    /// Boxes (start and count on every axis) whose union is exactly the elements `elements` of a
    /// row-major array of `shape`: a partial first row, the whole rows between, a partial last row,
    /// each partial row split the same way along the next axis.
    static func boxes(shape: [Int], elements: Range<Int>) -> [(start: [Int], count: [Int])] {
        guard !elements.isEmpty else { return [] }
        guard let extent = shape.first else { return [([], [])] }
        let rest = Array(shape.dropFirst())
        guard !rest.isEmpty else { return [([elements.lowerBound], [elements.count])] }
        let inner = rest.reduce(1, *)
        precondition(elements.upperBound <= extent * inner)
        func within(row: Int, _ part: Range<Int>) -> [(start: [Int], count: [Int])] {
            boxes(shape: rest, elements: (part.lowerBound - row * inner)..<(part.upperBound - row * inner)).map { ([row] + $0.start, [1] + $0.count) }
        }
        var result: [(start: [Int], count: [Int])] = []
        var low = elements.lowerBound
        if low % inner != 0 {
            let row = low / inner, end = min(elements.upperBound, (row + 1) * inner)
            result += within(row: row, low..<end)
            low = end
        }
        let rows = (elements.upperBound - low) / inner
        if rows > 0 {
            result.append(([low / inner] + rest.map { _ in 0 }, [rows] + rest))
            low += rows * inner
        }
        if low < elements.upperBound { result += within(row: low / inner, low..<elements.upperBound) }
        return result
    }
}
