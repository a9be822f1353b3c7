internal import CHDF5

/// Numeric arrays in an HDF5 file, read a range of rows (first-axis entries) at a time and
/// converted by HDF5 to float32 or int64 (or read as bytes, when they are unsigned 8-bit integers):
/// data sets for statistics and evaluation, not checkpoints.
public final class HDF5ArrayFile {
    public let path: String
    private let file: H5ID

    /// Whether `path` is an HDF5 file (by its signature, wherever libhdf5 finds it).
    public static func isHDF5(_ path: String) -> Bool { HDF5File.isHDF5(path) }

    public init(path: String) throws {
        _ = HDF5.initialised
        self.path = path
        do {
            file = try H5ID(.file, H5Fopen(path, ckf_H5F_ACC_RDONLY(), HDF5.defaultPlist), "H5Fopen")
        } catch {
            throw CheckpointError.hdf5(path: path, call: error.call, message: error.message)
        }
    }

    /// The dataset's shape, or nil if there is no numeric dataset of that name.
    public func shape(of name: String) -> [Int]? {
        guard H5Lexists(file.raw, name, HDF5.defaultPlist) > 0,
              let dataset = try? H5ID(.dataset, H5Dopen2(file.raw, name, HDF5.defaultPlist), "H5Dopen2"),
              let type = try? H5ID(.datatype, H5Dget_type(dataset.raw), "H5Dget_type"),
              [H5T_FLOAT, H5T_INTEGER].contains(H5Tget_class(type.raw)),
              let space = try? H5ID(.dataspace, H5Dget_space(dataset.raw), "H5Dget_space") else { return nil }
        let rank = Int(H5Sget_simple_extent_ndims(space.raw))
        var dims = [hsize_t](repeating: 0, count: max(rank, 0))
        guard rank >= 0, H5Sget_simple_extent_dims(space.raw, &dims, nil) >= 0 else { return nil }
        return dims.map { Int($0) }
    }

    /// Rows `range` of `name` as float32 (every value of each row, row-major).
    /// Bytes (images, as MNIST's) are read as they are and widened here: libhdf5 converts them one
    /// at a time through its conversion buffer, several times slower than this loop.
    public func readRows(_ name: String, _ range: Range<Int>) throws -> [Float] {
        let count = try rowWidth(name) * range.count
        guard storesBytes(name) else {
            var values = [Float](repeating: 0, count: count)
            try read(name, range, memoryType: ckf_H5T_NATIVE_FLOAT(), into: &values)
            return values
        }
        return FloatCodec.widened(try bytes(name, range))
    }

    /// `readRows` as bytes, for a dataset that `storesBytes`: its values exactly, a quarter of the
    /// memory of float32.
    public func readRowBytes(_ name: String, _ range: Range<Int>) throws -> [UInt8] {
        guard storesBytes(name) else {
            throw CheckpointError.unsupported(path: path, tensor: name, reason: "not a dataset of unsigned 8-bit integers, which is read as bytes")
        }
        return try bytes(name, range)
    }

    /// Rows `range` of a dataset known to store bytes.
    private func bytes(_ name: String, _ range: Range<Int>) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: try rowWidth(name) * range.count)
        try read(name, range, memoryType: ckf_H5T_NATIVE_UINT8(), into: &bytes)
        return bytes
    }

    /// Entries `range` of the second axis of `name` (every step of a `[T, N, ...]` dataset for
    /// samples `range`) as float32, in the file's order: `[T][range][...]`.
    public func readColumns(_ name: String, _ range: Range<Int>) throws -> [Float] {
        try readColumns(name, range, memoryType: ckf_H5T_NATIVE_FLOAT())
    }

    /// `readColumns` as bytes, for a dataset that `storesBytes`: its values exactly, a quarter of
    /// the memory of float32.
    public func readColumnBytes(_ name: String, _ range: Range<Int>) throws -> [UInt8] {
        guard storesBytes(name) else {
            throw CheckpointError.unsupported(path: path, tensor: name, reason: "not a dataset of unsigned 8-bit integers, which is read as bytes")
        }
        return try readColumns(name, range, memoryType: ckf_H5T_NATIVE_UINT8())
    }

    /// Whether `name` is a dataset of unsigned 8-bit integers (as spike trains are commonly
    /// stored), whose values bytes hold exactly.
    public func storesBytes(_ name: String) -> Bool {
        guard H5Lexists(file.raw, name, HDF5.defaultPlist) > 0,
              let dataset = try? H5ID(.dataset, H5Dopen2(file.raw, name, HDF5.defaultPlist), "H5Dopen2"),
              let type = try? H5ID(.datatype, H5Dget_type(dataset.raw), "H5Dget_type") else { return false }
        return H5Tget_class(type.raw) == H5T_INTEGER && H5Tget_size(type.raw) == 1 && H5Tget_sign(type.raw) == H5T_SGN_NONE
    }

    private func readColumns<T: ExpressibleByIntegerLiteral>(_ name: String, _ range: Range<Int>, memoryType: hid_t) throws -> [T] {
        guard let shape = shape(of: name), shape.count >= 2 else {
            throw CheckpointError.unsupported(path: path, tensor: name, reason: "no numeric dataset of that name with at least two axes")
        }
        var values = [T](repeating: 0, count: shape[0] * range.count * shape.dropFirst(2).reduce(1, *))
        try read(name, range, axis: 1, memoryType: memoryType, into: &values)
        return values
    }

    /// Rows `range` of a one-dimensional integer (or integral float) dataset, as labels.
    public func readLabels(_ name: String, _ range: Range<Int>) throws -> [Int] {
        var values = [Int64](repeating: 0, count: try rowWidth(name) * range.count)
        try read(name, range, memoryType: ckf_H5T_NATIVE_INT64(), into: &values)
        return values.map { Int($0) }
    }

    private func rowWidth(_ name: String) throws -> Int {
        guard let shape = shape(of: name), !shape.isEmpty else {
            throw CheckpointError.unsupported(path: path, tensor: name, reason: "no numeric dataset of that name with at least one axis")
        }
        return shape.dropFirst().reduce(1, *)
    }

    private func read<T>(_ name: String, _ range: Range<Int>, axis: Int = 0, memoryType: hid_t, into values: inout [T]) throws {
        do {
            let dataset = try H5ID(.dataset, H5Dopen2(file.raw, name, HDF5.defaultPlist), "H5Dopen2(\(name))")
            let space = try H5ID(.dataspace, H5Dget_space(dataset.raw), "H5Dget_space(\(name))")
            let rank = Int(try HDF5.check(H5Sget_simple_extent_ndims(space.raw), "H5Sget_simple_extent_ndims"))
            var dims = [hsize_t](repeating: 0, count: rank)
            try HDF5.check(H5Sget_simple_extent_dims(space.raw, &dims, nil), "H5Sget_simple_extent_dims")
            guard axis < rank, range.lowerBound >= 0, range.upperBound <= Int(dims[axis]) else {
                throw CheckpointError.unsupported(path: path, tensor: name, reason: "entries \(range) of axis \(axis) are outside its shape \(dims)")
            }
            var start = [hsize_t](repeating: 0, count: rank), count = dims
            start[axis] = hsize_t(range.lowerBound)
            count[axis] = hsize_t(range.count)
            try HDF5.check(H5Sselect_hyperslab(space.raw, H5S_SELECT_SET, &start, nil, &count, nil), "H5Sselect_hyperslab(\(name))")
            let memory = try H5ID(.dataspace, H5Screate_simple(Int32(rank), &count, nil), "H5Screate_simple")
            _ = try values.withUnsafeMutableBytes { buffer in
                try HDF5.check(H5Dread(dataset.raw, memoryType, memory.raw, space.raw, HDF5.defaultPlist, buffer.baseAddress), "H5Dread(\(name))")
            }
        } catch let failure as HDF5Failure {
            throw CheckpointError.hdf5(path: path, call: failure.call, message: failure.message)
        }
    }
}
