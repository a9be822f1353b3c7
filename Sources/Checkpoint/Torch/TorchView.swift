/// Where a tensor's elements lie in its storage: `offset + Σ index_i · stride_i` (in elements).
/// The pickle reader has checked that the last element lies inside the storage.
struct TorchView {
    let offset: Int
    let shape: [Int]
    let stride: [Int]
    let itemSize: Int

    init(_ record: TorchTensorRecord) {
        self.init(offset: record.offset, shape: record.shape, stride: record.stride,
                  itemSize: record.dtype.bits / 8)  // torch dtypes (PickleReader.dtypes) are whole bytes
    }

    init(offset: Int, shape: [Int], stride: [Int], itemSize: Int) {
        self.offset = offset
        self.shape = shape
        self.stride = stride
        self.itemSize = itemSize
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

    /// The view's elements as runs that are contiguous in the span, in row-major order: `body`
    /// gets the run's first element (row-major), its first element's index from the span's start,
    /// and its length, all in elements. The innermost dimensions that are laid out back to back are
    /// one run; an odometer over the others steps the span index, so nothing per element is held.
    func forEachRun(_ body: (_ element: Int, _ spanIndex: Int, _ length: Int) -> Void) {
        let n = count
        guard n > 0 else { return }
        let dimensions = zip(shape, stride).filter { $0.0 != 1 }
        var outer = dimensions.count, run = 1
        while outer > 0, dimensions[outer - 1].1 == run {
            run *= dimensions[outer - 1].0
            outer -= 1
        }
        var position = [Int](repeating: 0, count: outer)
        var current = 0, element = 0
        while element < n {
            body(element, current, run)
            element += run
            var axis = outer - 1
            while axis >= 0 {
                let (size, step) = dimensions[axis]
                position[axis] += 1
                current += step
                if position[axis] < size { break }
                current -= step * size
                position[axis] = 0
                axis -= 1
            }
        }
    }

    /// The view's elements, in row-major order, copied out of the span's bytes run by run.
    func gather(_ span: UnsafeRawBufferPointer) -> [UInt8] {
        guard count > 0 else { return [] }
        if isContiguous { return Array(span.prefix(count * itemSize)) }
        let itemSize = itemSize
        return [UInt8](unsafeUninitializedCapacity: count * itemSize) { target, initialized in
            let base = UnsafeMutableRawPointer(target.baseAddress!)
            forEachRun { element, index, length in
                base.advanced(by: element * itemSize).copyMemory(from: span.baseAddress!.advanced(by: index * itemSize), byteCount: length * itemSize)
            }
            initialized = count * itemSize
        }
    }

    /// Writes row-major `elements` back into the span's bytes at the view's places, run by run.
    func scatter(_ elements: UnsafeRawBufferPointer, into span: UnsafeMutableRawBufferPointer) {
        guard count > 0 else { return }
        if isContiguous {
            span.baseAddress!.copyMemory(from: elements.baseAddress!, byteCount: count * itemSize)
            return
        }
        forEachRun { element, index, length in
            span.baseAddress!.advanced(by: index * itemSize).copyMemory(from: elements.baseAddress!.advanced(by: element * itemSize), byteCount: length * itemSize)
        }
    }
}
