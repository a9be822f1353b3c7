internal import CHDF5

/// Part of a dataset read without the rest: a flat range of elements (row-major) selected as the
/// union of at most 2 × rank − 1 hyperslab boxes, so a pass's companion (a `--pre` tensor, a Fisher
/// diagonal) costs the memory of the slice it works on, not of the whole tensor.
///
/// A chunked dataset is read a band of whole chunk rows (first-axis chunk extent) at a time, kept
/// for the slices that follow: libhdf5 decompresses every chunk a selection touches, and slices
/// that cut through chunks had each chunk inflated again for every slice (a gzip `--pre` cost 3.5
/// times the CPU of reading it whole). A band is the tensor at most.
extension HDF5File {
    var readsSlices: Bool { true }

    func read(_ info: TensorInfo, elements range: Range<Int>) throws -> TensorValues {
        guard info.dtype.isEditable else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "\(info.dtype.rawValue) tensors are never edited")
        }
        precondition(range.lowerBound >= 0 && range.upperBound <= info.count, "elements \(range) of \(info.name) of shape \(info.shape)")
        if range == 0..<info.count { return try read(info).values }  // also the one way to read a scalar dataspace
        if range.isEmpty {
            return FloatCodec.decode(UnsafeRawBufferPointer(start: nil, count: 0), as: TensorInfo(name: info.name, dtype: info.dtype, shape: [0]))
        }
        guard let rows = try chunkRows(info) else { return try readBoxes(info, range) }
        let held = sliceBand.map { $0.name == info.name && $0.elements.lowerBound <= range.lowerBound && range.upperBound <= $0.elements.upperBound }
        if held != true {
            sliceBand = nil  // released before the next band is read
            let width = info.shape.dropFirst().reduce(1, *)
            let firstRow = range.lowerBound / width / rows * rows
            let endRow = min(info.shape[0], ((range.upperBound + width - 1) / width + rows - 1) / rows * rows)
            let elements = (firstRow * width)..<(endRow * width)
            sliceBand = (info.name, elements, try readBoxes(info, elements))
        }
        let band = sliceBand!
        if range.upperBound == info.count { sliceBand = nil }  // the last slice of the tensor
        return band.values.slice((range.lowerBound - band.elements.lowerBound)..<(range.upperBound - band.elements.lowerBound))
    }

    /// The first-axis extent of the dataset's chunks, or nil if it is not chunked.
    private func chunkRows(_ info: TensorInfo) throws -> Int? {
        guard !info.shape.isEmpty else { return nil }
        do {
            let dataset = try H5ID(.dataset, H5Dopen2(file.raw, info.name, HDF5.defaultPlist), "H5Dopen2(\(info.name))")
            let dcpl = try H5ID(.plist, H5Dget_create_plist(dataset.raw), "H5Dget_create_plist(\(info.name))")
            guard H5Pget_layout(dcpl.raw) == H5D_CHUNKED else { return nil }
            var dims = [hsize_t](repeating: 0, count: info.shape.count)
            try HDF5.check(H5Pget_chunk(dcpl.raw, Int32(info.shape.count), &dims), "H5Pget_chunk(\(info.name))")
            return max(1, Int(dims[0]))
        } catch {
            throw CheckpointError.hdf5(path: path, call: error.call, message: error.message)
        }
    }

    /// Elements `range` (not empty) selected as hyperslab boxes and read in one call.
    private func readBoxes(_ info: TensorInfo, _ range: Range<Int>) throws -> TensorValues {
        let slab = TensorInfo(name: info.name, dtype: info.dtype, shape: [range.count], byteOrder: info.byteOrder)
        do {
            let dataset = try H5ID(.dataset, H5Dopen2(file.raw, info.name, HDF5.defaultPlist), "H5Dopen2(\(info.name))")
            let type = try H5ID(.datatype, H5Dget_type(dataset.raw), "H5Dget_type(\(info.name))")
            let space = try H5ID(.dataspace, H5Dget_space(dataset.raw), "H5Dget_space(\(info.name))")
            let boxes = Self.boxes(shape: info.shape, elements: range)
            for (index, box) in boxes.enumerated() {
                var start = box.start.map { hsize_t($0) }, count = box.count.map { hsize_t($0) }
                try HDF5.check(H5Sselect_hyperslab(space.raw, index == 0 ? H5S_SELECT_SET : H5S_SELECT_OR, &start, nil, &count, nil),
                               "H5Sselect_hyperslab(\(info.name))")
            }
            // One box is read into memory of its own shape: libhdf5 then maps the selection onto the
            // chunks whole; with a flat memory space it mapped a chunked dataset element by element.
            var length = boxes.count == 1 ? boxes[0].count.map { hsize_t($0) } : [hsize_t(range.count)]
            let memory = try H5ID(.dataspace, H5Screate_simple(Int32(length.count), &length, nil), "H5Screate_simple")
            // Read with the stored type as memory type, as `read` does: bytes arrive exactly as stored.
            // Straight into the array's uninitialized memory: zeroing it first was a pass over every
            // slice for nothing (the statistics pass reads 2 GiB of diagonals this way).
            func floats<Element: BinaryFloatingPoint>(_: Element.Type) throws(HDF5Failure) -> [Element] {
                var status: herr_t = -1
                let values = [Element](unsafeUninitializedCapacity: range.count) { buffer, initialized in
                    status = H5Dread(dataset.raw, type.raw, memory.raw, space.raw, HDF5.defaultPlist, buffer.baseAddress)
                    initialized = range.count  // plain floats: whatever a failed read left is never used
                }
                try HDF5.check(status, "H5Dread(\(info.name))")
                return values
            }
            switch (info.dtype, info.byteOrder) {
            case (.float32, .little): return .float32(try floats(Float.self))
            case (.float64, .little): return .float64(try floats(Double.self))
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
