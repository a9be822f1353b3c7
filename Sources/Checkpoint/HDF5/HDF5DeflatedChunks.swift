internal import CHDF5
import Dispatch
import Foundation

/// Writes an edited chunked dataset whose only filters are deflate, after shuffle or alone (h5py's
/// `compression="gzip"`), compressing its chunks on every core. libhdf5's `H5Dwrite` runs the
/// filters chunk after chunk on the calling thread; here each chunk is cut out of the tensor,
/// shuffled and compressed with the call libhdf5's filter makes (zlib's `compress2` at the
/// dataset's level), and the finished bytes are handed to libhdf5 in chunk order with
/// `H5Dwrite_chunk`, so the dataset holds what `H5Dwrite` would have stored; a chunk the edit left
/// as it was keeps the source's stored bytes.
struct HDF5DeflatedChunks {
    /// Bytes of one element in the file.
    let elementSize: Int
    let shape: [Int]
    let chunk: [Int]
    /// How many chunks the dataset has.
    let chunkCount: Int
    /// The element size the shuffle filter reorders bytes by; 1 when the dataset is not shuffled.
    let shuffleSize: Int
    let level: Int32
    /// One element of the dataset's fill value in the file's encoding, for the parts of edge
    /// chunks outside the dataset (zeros unless the dataset sets one, as libhdf5 fills them).
    let fill: [UInt8]

    /// Chunks larger than this are left to libhdf5: each core would hold three of them at once.
    static let largestChunk = 8 << 20
    /// About how many compressed bytes one batch holds before it is written.
    static let batchBytes = 8 << 20

    /// The writer for a copy of `dataset` (same type, dataspace and creation properties), or nil
    /// when libhdf5 should write it: not chunked, other filters (Fletcher-32, szip, plugins), edge
    /// chunks left unfiltered, one chunk only (unless `oneChunk`: there is nothing to share out,
    /// but a chunk compressed ahead of writing has a known size), or chunks over `largestChunk`.
    init?(copying dataset: hid_t, name: String, oneChunk: Bool = false) throws(HDF5Failure) {
        let properties = try H5ID(.plist, H5Dget_create_plist(dataset), "H5Dget_create_plist(\(name))")
        let fileType = try H5ID(.datatype, H5Dget_type(dataset), "H5Dget_type(\(name))")
        let dataspace = try H5ID(.dataspace, H5Dget_space(dataset), "H5Dget_space(\(name))")
        guard H5Pget_layout(properties.raw) == H5D_CHUNKED else { return nil }
        var options: UInt32 = 0
        try HDF5.check(H5Pget_chunk_opts(properties.raw, &options), "H5Pget_chunk_opts")
        guard options & ckf_H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS() == 0 else { return nil }

        let rank = Int(try HDF5.check(H5Sget_simple_extent_ndims(dataspace.raw), "H5Sget_simple_extent_ndims"))
        guard rank > 0 else { return nil }
        var dims = [hsize_t](repeating: 0, count: rank), chunkDims = [hsize_t](repeating: 0, count: rank)
        try HDF5.check(H5Sget_simple_extent_dims(dataspace.raw, &dims, nil), "H5Sget_simple_extent_dims")
        guard try HDF5.check(H5Pget_chunk(properties.raw, Int32(rank), &chunkDims), "H5Pget_chunk") == rank else { return nil }
        guard dims.allSatisfy({ $0 <= hsize_t(Int.max) }), chunkDims.allSatisfy({ $0 > 0 && $0 <= hsize_t(UInt32.max) }) else { return nil }
        shape = dims.map { Int($0) }
        chunk = chunkDims.map { Int($0) }

        let size = H5Tget_size(fileType.raw)
        guard size > 0 else { throw HDF5Failure(call: "H5Tget_size") }
        elementSize = size
        var chunkBytes = size
        for extent in chunk {
            let (product, overflow) = chunkBytes.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= Self.largestChunk else { return nil }
            chunkBytes = product
        }
        var chunkCount = 1
        for (extent, side) in zip(shape, chunk) {
            let (product, overflow) = chunkCount.multipliedReportingOverflow(by: (extent + side - 1) / side)
            guard !overflow else { return nil }
            chunkCount = product
        }
        guard chunkCount > 1 || oneChunk else { return nil }
        self.chunkCount = chunkCount

        var filters: [(id: H5Z_filter_t, values: [UInt32])] = []
        for index in 0..<Int(try HDF5.check(H5Pget_nfilters(properties.raw), "H5Pget_nfilters")) {
            var flags: UInt32 = 0, count = 8, config: UInt32 = 0
            var values = [UInt32](repeating: 0, count: count)
            var filterName = [CChar](repeating: 0, count: 64)
            let id = H5Pget_filter2(properties.raw, UInt32(index), &flags, &count, &values, filterName.count, &filterName, &config)
            guard id >= 0 else { throw HDF5Failure(call: "H5Pget_filter2") }
            filters.append((id, Array(values.prefix(min(count, values.count)))))
        }
        let deflate = filters.last
        guard let deflate, deflate.id == H5Z_FILTER_DEFLATE, let level = deflate.values.first, level <= 9 else { return nil }
        switch filters.count {
        case 1: shuffleSize = 1
        case 2 where filters[0].id == H5Z_FILTER_SHUFFLE:
            // The filter shuffles by the size it recorded when the dataset was made (the type's).
            shuffleSize = Int(filters[0].values.first ?? UInt32(size))
            guard shuffleSize > 0 else { return nil }
        default: return nil
        }
        self.level = Int32(level)

        var status = H5D_FILL_VALUE_UNDEFINED
        try HDF5.check(H5Pfill_value_defined(properties.raw, &status), "H5Pfill_value_defined")
        var fill = [UInt8](repeating: 0, count: size)
        if status == H5D_FILL_VALUE_USER_DEFINED {
            try HDF5.check(H5Pget_fill_value(properties.raw, fileType.raw, &fill), "H5Pget_fill_value")
        }
        self.fill = fill
    }

    /// The writer `HDF5Rewriter` uses for the dataset `name` of `file`, if any.
    static func forDataset(_ name: String, in file: HDF5File) throws(HDF5Failure) -> HDF5DeflatedChunks? {
        let dataset = try H5ID(.dataset, H5Dopen2(file.file.raw, name, HDF5.defaultPlist), "H5Dopen2(\(name))")
        return try HDF5DeflatedChunks(copying: dataset.raw, name: name)
    }

    /// The stored bytes of the chunk at `origin` of the dataset `name` in `file`, empty when it has
    /// none (what `write` compares and keeps; tests read them to see which chunks were kept).
    func storedChunk(_ name: String, at origin: [Int], in file: HDF5File) throws -> [UInt8] {
        let dataset = try H5ID(.dataset, H5Dopen2(file.file.raw, name, HDF5.defaultPlist), "H5Dopen2(\(name))")
        var bytes = [UInt8](repeating: 0, count: Deflate.bound(chunkBytes))
        let count = try bytes.withUnsafeMutableBytes { buffer in try storedChunk(of: dataset.raw, at: origin, into: buffer) }
        return Array(bytes.prefix(count))
    }

    private var chunkBytes: Int { chunk.reduce(elementSize, *) }

    /// Writes `bytes` (the whole dataset in the file's encoding, row-major) into `dataset`. Where
    /// `source` (the dataset it is an edited copy of) stores a chunk that decompresses to exactly the
    /// bytes this chunk would hold, the stored bytes are written as they are instead of compressing
    /// the chunk again: an edit of one row or column touches few chunks, and compressing is most
    /// of the work.
    func write(_ bytes: UnsafeRawBufferPointer, to dataset: hid_t, keepingUnchangedChunksOf source: hid_t?, name: String) throws(HDF5Failure) {
        try encodeInBatches(bytes, keepingUnchangedChunksOf: source, name: name) { (batch: Batch) throws(HDF5Failure) in
            for index in batch.sizes.indices {
                var offset = batch.origins[index].map { hsize_t($0) }
                try HDF5.check(H5Dwrite_chunk(dataset, HDF5.defaultPlist, 0, &offset, batch.sizes[index], batch.slots.slot(index).baseAddress),
                               "H5Dwrite_chunk(\(name))")
            }
        }
    }

    /// A dataset's chunks as `write` would store them, made ahead of writing: each one's origin
    /// and bytes, in the order `write` writes them.
    struct Encoded {
        fileprivate var chunks: [(origin: [Int], bytes: [UInt8])] = []
        /// The compressed bytes held.
        fileprivate(set) var byteCount = 0

        /// Writes the chunks into `dataset` (a copy of the dataset they were encoded for).
        func write(to dataset: hid_t, name: String) throws(HDF5Failure) {
            for chunk in chunks {
                var offset = chunk.origin.map { hsize_t($0) }
                try HDF5.check(H5Dwrite_chunk(dataset, HDF5.defaultPlist, 0, &offset, chunk.bytes.count, chunk.bytes),
                               "H5Dwrite_chunk(\(name))")
            }
        }
    }

    /// The chunks `write` would store for `bytes`, held instead of written: their sizes are then
    /// known before the file is (`HDF5Rewriter`'s rehearsal).
    func encode(_ bytes: UnsafeRawBufferPointer, keepingUnchangedChunksOf source: hid_t?, name: String) throws(HDF5Failure) -> Encoded {
        var encoded = Encoded()
        try encodeInBatches(bytes, keepingUnchangedChunksOf: source, name: name) { (batch: Batch) throws(HDF5Failure) in
            for index in batch.sizes.indices {
                encoded.chunks.append((batch.origins[index], Array(UnsafeRawBufferPointer(rebasing: batch.slots.slot(index)[0..<batch.sizes[index]]))))
                encoded.byteCount += batch.sizes[index]
            }
        }
        return encoded
    }

    /// A batch of chunks in chunk order: each one's origin, and its stored bytes, the first
    /// `sizes[i]` bytes of slot i.
    private struct Batch {
        let origins: [[Int]]
        let sizes: [Int]
        let slots: Slots
    }

    /// Encodes the chunks of `bytes` (see `write`) on every core, a batch of about `batchBytes` at
    /// a time, and hands each batch to `body` in chunk order.
    private func encodeInBatches(_ bytes: UnsafeRawBufferPointer, keepingUnchangedChunksOf source: hid_t?, name: String,
                                 _ body: (Batch) throws(HDF5Failure) -> Void) throws(HDF5Failure) {
        var expected = elementSize, overflow = false
        for extent in shape where !overflow { (expected, overflow) = expected.multipliedReportingOverflow(by: extent) }
        guard !overflow, bytes.count == expected else {
            throw HDF5Failure(call: "H5Dwrite_chunk(\(name))", message: "\(bytes.count) bytes of values for a dataset of shape \(shape) and \(elementSize)-byte elements")
        }
        let grid = zip(shape, chunk).map { ($0 + $1 - 1) / $1 }
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, chunkCount))
        let bound = Deflate.bound(chunkBytes)
        let batch = min(chunkCount, max(4 * workers, Self.batchBytes / max(1, bound)))
        let slots = Slots(count: batch, bytes: bound)
        defer { slots.deallocate() }
        let values = SharedBytes(bytes)

        var first = 0
        while first < chunkCount {
            let count = min(batch, chunkCount - first), start = first
            for slot in 0..<count {
                slots.stored[slot] = 0
                if let source { slots.stored[slot] = try storedChunk(of: source, at: origin(of: start + slot, grid: grid), into: slots.slot(slot)) }
            }
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * chunkBytes, alignment: 16)
                defer { scratch.deallocate() }
                for slot in stride(from: worker, to: count, by: workers) {
                    slots.sizes[slot] = encode(chunk: origin(of: start + slot, grid: grid), from: values.bytes, scratch: scratch,
                                               slot: slots.slot(slot), stored: slots.stored[slot])
                }
            }
            let origins = (0..<count).map { origin(of: start + $0, grid: grid) }
            let sizes = (0..<count).map { slots.sizes[$0] }
            if let failed = sizes.firstIndex(of: 0) {
                throw HDF5Failure(call: "compress2(\(name), chunk at \(origins[failed]))", message: "zlib could not compress the chunk")
            }
            try body(Batch(origins: origins, sizes: sizes, slots: slots))
            first += count
        }
    }

    /// Reads the stored (compressed) bytes of the chunk at `origin` of `dataset` into `buffer`: their
    /// count, or 0 when the chunk is not stored, was stored with a filter skipped, or does not fit.
    func storedChunk(of dataset: hid_t, at origin: [Int], into buffer: UnsafeMutableRawBufferPointer) throws(HDF5Failure) -> Int {
        var offset = origin.map { hsize_t($0) }
        var mask: UInt32 = 0, address: haddr_t = 0, size: hsize_t = 0
        try HDF5.check(H5Dget_chunk_info_by_coord(dataset, &offset, &mask, &address, &size), "H5Dget_chunk_info_by_coord")
        guard address != ckf_HADDR_UNDEF(), mask == 0, size > 0, size <= hsize_t(buffer.count) else { return 0 }
        try HDF5.check(H5Dread_chunk(dataset, HDF5.defaultPlist, &offset, &mask, buffer.baseAddress), "H5Dread_chunk")
        return mask == 0 ? Int(size) : 0
    }

    /// The element coordinates where chunk `index` (row-major over the chunk grid) begins.
    private func origin(of index: Int, grid: [Int]) -> [Int] {
        var rest = index
        var origin = [Int](repeating: 0, count: grid.count)
        for axis in grid.indices.reversed() {
            origin[axis] = rest % grid[axis] * chunk[axis]
            rest /= grid[axis]
        }
        return origin
    }

    /// Cuts the chunk at `origin` out of `source` (the fill value where it reaches past the
    /// dataset) and shuffles it if the dataset does: the bytes the deflate filter takes. When the
    /// first `stored` bytes of `slot` (the source's stored chunk) decompress to exactly those, they
    /// stay; otherwise the chunk is compressed into `slot`. Returns the size of what `slot` holds,
    /// 0 if zlib failed.
    private func encode(chunk origin: [Int], from source: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer,
                        slot: UnsafeMutableRawBufferPointer, stored: Int) -> Int {
        let bytes = chunkBytes
        let plain = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<bytes])
        let other = UnsafeMutableRawBufferPointer(rebasing: scratch[bytes..<(2 * bytes)])
        gather(origin, from: source, into: plain)
        var input = UnsafeRawBufferPointer(plain), spare = other
        if shuffleSize > 1 {
            Self.shuffle(UnsafeRawBufferPointer(plain), elementSize: shuffleSize, into: other)
            (input, spare) = (UnsafeRawBufferPointer(other), plain)
        }
        if stored > 0, Deflate.decompress(UnsafeRawBufferPointer(rebasing: slot[0..<stored]), into: spare) == bytes,
           memcmp(spare.baseAddress!, input.baseAddress!, bytes) == 0 {
            return stored
        }
        return Deflate.compress(input, into: slot, level: level) ?? 0
    }

    /// Copies the chunk's rows (runs along the last axis) from the row-major dataset; what lies
    /// outside the dataset gets the fill value.
    private func gather(_ origin: [Int], from source: UnsafeRawBufferPointer, into chunkBuffer: UnsafeMutableRawBufferPointer) {
        let rank = shape.count, last = rank - 1
        let rowBytes = chunk[last] * elementSize
        let inside = max(0, min(chunk[last], shape[last] - origin[last])) * elementSize
        var strides = [Int](repeating: elementSize, count: rank)
        for axis in stride(from: last - 1, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
        let rows = chunk[0..<last].reduce(1, *)
        var position = [Int](repeating: 0, count: last)  // the row's index within the chunk, all axes but the last
        for row in 0..<rows {
            let target = chunkBuffer.baseAddress! + row * rowBytes
            var offset = origin[last] * elementSize, outside = false
            for axis in 0..<last {
                let coordinate = origin[axis] + position[axis]
                if coordinate >= shape[axis] { outside = true }
                offset += coordinate * strides[axis]
            }
            let copied = outside ? 0 : inside
            if copied > 0 { target.copyMemory(from: source.baseAddress! + offset, byteCount: copied) }
            if copied < rowBytes { fillElements(target + copied, count: (rowBytes - copied) / elementSize) }
            for axis in stride(from: last - 1, through: 0, by: -1) {
                position[axis] += 1
                if position[axis] < chunk[axis] { break }
                position[axis] = 0
            }
        }
    }

    private func fillElements(_ start: UnsafeMutableRawPointer, count: Int) {
        if fill.allSatisfy({ $0 == 0 }) {
            start.initializeMemory(as: UInt8.self, repeating: 0, count: count * elementSize)
            return
        }
        fill.withUnsafeBytes { element in
            for index in 0..<count { (start + index * elementSize).copyMemory(from: element.baseAddress!, byteCount: elementSize) }
        }
    }

    /// HDF5's shuffle filter: byte `b` of element `i` goes to `b * count + i`, so each byte plane
    /// of the elements lies together.
    static func shuffle(_ input: UnsafeRawBufferPointer, elementSize: Int, into output: UnsafeMutableRawBufferPointer) {
        guard elementSize > 0, output.count >= input.count, let source = input.baseAddress, let target = output.baseAddress else { return }
        let count = input.count / elementSize
        let from = source.assumingMemoryBound(to: UInt8.self), to = target.assumingMemoryBound(to: UInt8.self)
        for byte in 0..<elementSize {
            let plane = to + byte * count
            for index in 0..<count { plane[index] = from[index &* elementSize &+ byte] }
        }
        let tail = input.count - count * elementSize  // left as they are, as the filter leaves them
        if tail > 0 { (target + count * elementSize).copyMemory(from: source + count * elementSize, byteCount: tail) }
    }

    /// The tensor's bytes, read by every worker and written by none.
    private struct SharedBytes: @unchecked Sendable {
        let bytes: UnsafeRawBufferPointer
        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
    }

    /// One buffer per chunk of a batch, holding first the source's stored chunk and then the bytes
    /// to write; each slot is written by one worker.
    private final class Slots: @unchecked Sendable {
        private let storage: UnsafeMutableRawBufferPointer
        private let bytes: Int
        /// The size of the source's stored chunk in each slot (0: none to compare with).
        let stored: UnsafeMutableBufferPointer<Int>
        /// The size of the bytes to write in each slot (0: zlib failed).
        let sizes: UnsafeMutableBufferPointer<Int>
        init(count: Int, bytes: Int) {
            storage = .allocate(byteCount: count * bytes, alignment: 16)
            self.bytes = bytes
            stored = .allocate(capacity: count)
            stored.initialize(repeating: 0)
            sizes = .allocate(capacity: count)
            sizes.initialize(repeating: 0)
        }
        func slot(_ index: Int) -> UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(rebasing: storage[(index * bytes)..<((index + 1) * bytes)]) }
        func deallocate() {
            storage.deallocate()
            stored.deallocate()
            sizes.deallocate()
        }
    }
}
