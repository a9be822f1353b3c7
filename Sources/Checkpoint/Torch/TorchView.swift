/// Where a tensor's elements lie in its storage: `offset + Σ index_i · stride_i` (in elements).
/// The pickle reader has checked that the last element lies inside the storage.
struct TorchView {
    let offset: Int
    let shape: [Int]
    let stride: [Int]
    let itemSize: Int

    init(_ record: TorchTensorRecord) {
        offset = record.offset
        shape = record.shape
        stride = record.stride
        itemSize = record.dtype.bits / 8  // torch dtypes (PickleReader.dtypes) are whole bytes
    }

    var count: Int { shape.reduce(1, *) }

    /// Elements from the first to the last the view touches (0 for an empty tensor).
    var spanCount: Int {
        guard count > 0 else { return 0 }
        return zip(shape, stride).reduce(1) { $0 + ($1.0 - 1) * $1.1 }
    }

    /// Bytes from the start of the storage to the view's first element, and the span's length.
    var byteRange: Range<Int> { (offset * itemSize)..<((offset + spanCount) * itemSize) }

    /// Row-major with no gaps: the elements are one run of `count` in order.
    var isContiguous: Bool {
        var expected = 1
        for (size, step) in zip(shape, stride).reversed() where size != 1 {
            guard step == expected else { return false }
            expected *= size
        }
        return true
    }

    /// No two indices reach the same element (an `expand`ed view does), so an edit of each element
    /// is an edit of one storage element. Dimensions sorted by stride: each must step past all the
    /// smaller ones together.
    var isNonOverlapping: Bool {
        guard count > 0 else { return true }
        var reach = 0
        for (size, step) in zip(shape, stride).filter({ $0.0 > 1 }).sorted(by: { $0.1 < $1.1 }) {
            guard step > reach else { return false }
            reach += step * (size - 1)
        }
        return true
    }

    /// The span holds at most twice the view plus 256 Ki elements: a small view of a large storage
    /// would cost memory for elements it does not hold.
    var spanIsCompact: Bool { spanCount <= 2 * count + (1 << 18) }

    /// The element index (from the span's start) of each element in row-major order.
    func spanIndices() -> [Int] {
        let n = count
        guard n > 0 else { return [] }
        var indices = [Int](repeating: 0, count: n)
        var position = [Int](repeating: 0, count: shape.count)
        var current = 0
        for i in 0..<n {
            indices[i] = current
            var axis = shape.count - 1
            while axis >= 0 {
                position[axis] += 1
                current += stride[axis]
                if position[axis] < shape[axis] { break }
                current -= stride[axis] * shape[axis]
                position[axis] = 0
                axis -= 1
            }
        }
        return indices
    }

    /// The view's elements, in row-major order, copied out of the span's bytes.
    func gather(_ span: UnsafeRawBufferPointer) -> [UInt8] {
        guard count > 0 else { return [] }
        if isContiguous { return Array(span.prefix(count * itemSize)) }
        var out = [UInt8](repeating: 0, count: count * itemSize)
        out.withUnsafeMutableBytes { target in
            for (i, index) in spanIndices().enumerated() {
                target.baseAddress!.advanced(by: i * itemSize).copyMemory(from: span.baseAddress!.advanced(by: index * itemSize), byteCount: itemSize)
            }
        }
        return out
    }

    /// Writes row-major `elements` back into the span's bytes at the view's places.
    func scatter(_ elements: UnsafeRawBufferPointer, into span: UnsafeMutableRawBufferPointer) {
        guard count > 0 else { return }
        if isContiguous {
            span.baseAddress!.copyMemory(from: elements.baseAddress!, byteCount: count * itemSize)
            return
        }
        for (i, index) in spanIndices().enumerated() {
            span.baseAddress!.advanced(by: index * itemSize).copyMemory(from: elements.baseAddress!.advanced(by: i * itemSize), byteCount: itemSize)
        }
    }
}
