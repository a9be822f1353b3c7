/// What a checkpoint says about one stored tensor, before any of its bytes are read.
public struct TensorInfo: Sendable, Hashable {
    /// Full name: the safetensors key, or the HDF5 dataset path without the leading `/`.
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public let byteOrder: ByteOrder

    public init(name: String, dtype: DType, shape: [Int], byteOrder: ByteOrder = .little) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteOrder = byteOrder
    }

    /// Number of elements (1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
    /// Bytes the elements take; a sub-byte dtype (F4, F6_*) only comes from a header checked to fill whole bytes.
    public var byteCount: Int { dtype.bits >= 8 ? count * (dtype.bits / 8) : count * dtype.bits / 8 }
}

/// Decoded values of a floating tensor: float32 for f16, bf16 and f32; float64 for f64.
public enum TensorValues: Sendable, Equatable {
    case float32([Float])
    case float64([Double])

    public var count: Int {
        switch self {
        case .float32(let v): v.count
        case .float64(let v): v.count
        }
    }

    /// The value at a flat index, widened to Double. Inlinable: passes read it once per element.
    @inlinable
    public subscript(index: Int) -> Double {
        switch self {
        case .float32(let v): Double(v[index])
        case .float64(let v): v[index]
        }
    }
}

extension TensorValues {
    /// How many values are NaN and how many infinite. Every tensor a run reads is checked, so the
    /// common answer (none) comes from a loop over a buffer (no bounds
    /// checks, no branches) that the compiler vectorizes: the loop over the array it replaced ran
    /// an element at a time, 7 % of a `negate` run on the 1 GiB bench model.
    public var nonFinite: (nan: Int, infinite: Int) {
        let found = switch self {
        case .float32(let v): v.withUnsafeBufferPointer(Self.holdsLargestExponent)
        case .float64(let v): v.withUnsafeBufferPointer(Self.holdsLargestExponent)
        }
        guard found else { return (0, 0) }
        var nan = 0, infinite = 0
        for i in indices where !self[i].isFinite { if self[i].isNaN { nan += 1 } else { infinite += 1 } }
        return (nan, infinite)
    }

    /// Whether any value's exponent field is all ones (NaN or infinity): one added to the field
    /// carries into the sign bit just then, and the sums are OR-ed together. A reduction the
    /// compiler vectorizes with baseline x86-64's instructions (a loop that ORs a flag becomes a
    /// search that stops early, an element at a time; SSE2 has no unsigned 32-bit maximum).
    private static func holdsLargestExponent(_ values: UnsafeBufferPointer<Float>) -> Bool {
        var carried: UInt32 = 0
        for x in values { carried |= (x.bitPattern & 0x7f80_0000) &+ 0x0080_0000 }
        return carried & 0x8000_0000 != 0
    }

    private static func holdsLargestExponent(_ values: UnsafeBufferPointer<Double>) -> Bool {
        var carried: UInt64 = 0
        for x in values { carried |= (x.bitPattern & 0x7ff0_0000_0000_0000) &+ 0x0010_0000_0000_0000 }
        return carried & 0x8000_0000_0000_0000 != 0
    }
}

/// How much a set of edits changed a tensor: elements whose stored value changed (bit patterns
/// differ, so -0 → 0 counts), the L2 norm of the change and its largest absolute element.
///
/// The squares are summed in eight lanes, by the element's flat index modulo 8, each lane in the
/// order its elements were changed, and the lanes added in order at the end: the sum is the same
/// bits however the tensor was cut into slices (as long as they come in order), and a loop over
/// a range adds eight elements at once (one running sum cost 4 cycles an element, a fifth of a
/// `negate` run on the 1 GiB bench model).
public struct ChangeTally: Sendable, Equatable {
    public private(set) var elementsChanged = 0
    /// The sums of squares of the changes by lane (flat index modulo 8).
    public private(set) var squareLanes = SIMD8<Double>()
    public private(set) var maxAbs = 0.0
    /// Values a pass computed finite that the tensor's dtype cannot hold (float16 past ±65504,
    /// bfloat16 past ±3.4e38): stored as ±infinity.
    public private(set) var overflowed = 0
    /// Values that were finite and that a pass made NaN or infinite itself.
    public private(set) var madeNonFinite = 0

    public init() {}

    /// The sum of the squared changes: the lanes added from 0 to 7.
    public var sumOfSquares: Double {
        var sum = squareLanes[0]
        for lane in 1..<8 { sum += squareLanes[lane] }
        return sum
    }

    public var l2: Double { sumOfSquares.squareRoot() }

    /// A tally being added to inside `Tensor.update`'s inlined loops, in fields the loops can keep
    /// in registers; `add` is the definition every loop follows.
    @usableFromInline
    struct Running {
        @usableFromInline var elementsChanged: Int, squareLanes: SIMD8<Double>, maxAbs: Double, overflowed: Int, madeNonFinite: Int

        @usableFromInline
        init(_ tally: ChangeTally) {
            (elementsChanged, squareLanes, maxAbs) = (tally.elementsChanged, tally.squareLanes, tally.maxAbs)
            (overflowed, madeNonFinite) = (tally.overflowed, tally.madeNonFinite)
        }

        /// The element at flat index `index`, whose value was `old`, computed as `result` and
        /// stored as `new`; `differ` says whether the stored bits changed. A finite value stored as
        /// ±infinity or NaN counts as overflowed when the pass computed it finite (the dtype could
        /// not hold it), else as made non-finite by the pass.
        @inlinable
        mutating func add(at index: Int, from old: Double, to new: Double, result: Double, differ: Bool) {
            addChange(at: index, from: old, to: new, differ: differ)
            if old.isFinite, !new.isFinite {
                if result.isFinite { overflowed += 1 } else { madeNonFinite += 1 }
            }
        }

        /// The change alone, without asking how a value became non-finite.
        @inlinable
        mutating func addChange(at index: Int, from old: Double, to new: Double, differ: Bool) {
            guard differ else { return }
            elementsChanged += 1
            let delta = abs(new - old)
            squareLanes[index & 7] += delta * delta
            maxAbs = max(maxAbs, delta)
        }

        @usableFromInline
        var tally: ChangeTally {
            var tally = ChangeTally()
            (tally.elementsChanged, tally.squareLanes, tally.maxAbs) = (elementsChanged, squareLanes, maxAbs)
            (tally.overflowed, tally.madeNonFinite) = (overflowed, madeNonFinite)
            return tally
        }
    }

    /// The tally of turning `before` into `after` (same tensor, same precision), element by element
    /// in index order; how values became non-finite is not known here, so neither count is kept.
    public init(from before: TensorValues, to after: TensorValues) {
        var running = Running(self)
        switch (before, after) {
        case (.float32(let a), .float32(let b)):
            for i in a.indices { running.addChange(at: i, from: Double(a[i]), to: Double(b[i]), differ: a[i].bitPattern != b[i].bitPattern) }
        case (.float64(let a), .float64(let b)):
            for i in a.indices { running.addChange(at: i, from: a[i], to: b[i], differ: a[i].bitPattern != b[i].bitPattern) }
        default:
            preconditionFailure("values of different precision compared")
        }
        self = running.tally
    }
}

/// A floating tensor in memory: its stored description and its decoded values. Values change only
/// through `update`, which rounds to the stored dtype and tallies what it changed.
public struct Tensor: Sendable {
    public let info: TensorInfo
    public internal(set) var values: TensorValues
    /// What `update` calls changed since the tensor was read or `changes` was last reset.
    public var changes = ChangeTally()

    public init(info: TensorInfo, values: TensorValues) {
        precondition(info.count == values.count, "tensor \(info.name): \(values.count) values for shape \(info.shape)")
        self.info = info
        self.values = values
    }

    public var name: String { info.name }
    public var shape: [Int] { info.shape }

    /// Applies `transform` to the elements at `indices` (each at most once per call), computing in
    /// Double and rounding the result to nearest even in the stored dtype (f16 directly from
    /// Double; bf16 through float32), and adds the change to `changes`.
    @inlinable
    public mutating func update<S: Sequence<Int>>(_ indices: S, _ transform: (Double) -> Double) {
        update(indices) { _, value in transform(value) }
    }

    /// Like `update(_:_:)`, with the flat index passed to `transform` beside the value.
    ///
    /// Inlinable, loops and all: a pass's call is compiled in the pass's module, specialized for its
    /// index set and with its `transform` inlined in the loop. Called through a closure and a tally
    /// method an element, negate on the 1 GiB bench model took 7.3 user-s, inlined 5.9 (about 5 ns
    /// an element saved); an unspecialized generic loop cost 350 ns an element.
    @inlinable
    public mutating func update<S: Sequence<Int>>(_ indices: S, _ transform: (_ index: Int, _ value: Double) -> Double) {
        var tally = ChangeTally.Running(changes)
        if var v = takeFloat32Values() {
            // One loop per dtype, the rounding inlined in it: through a closure it cost a call an element.
            switch info.dtype {
            case .float16: Self.updateElements(&v, indices, transform, &tally, { Float(Float16($0)) }, Self.differ)
            case .bfloat16: Self.updateElements(&v, indices, transform, &tally, { FloatCodec.float(fromBFloat16: FloatCodec.bfloat16(from: Float($0))) }, Self.differ)
            default: Self.updateElements(&v, indices, transform, &tally, { Float($0) }, Self.differ)
            }
            restore(.float32(v))
        } else if var v = takeFloat64Values() {
            Self.updateElements(&v, indices, transform, &tally, { $0 }, Self.differ)
            restore(.float64(v))
        }
        changes = tally.tally
    }

    /// The values as float32, taken out of the tensor so that the array is uniquely owned and edited
    /// in place (nil, and nothing taken, for float64); `restore` puts them back.
    @usableFromInline
    mutating func takeFloat32Values() -> [Float]? {
        guard case .float32(let v) = values else { return nil }
        values = .float32([])
        return v
    }

    /// As `takeFloat32Values`, for float64.
    @usableFromInline
    mutating func takeFloat64Values() -> [Double]? {
        guard case .float64(let v) = values else { return nil }
        values = .float64([])
        return v
    }

    @usableFromInline
    mutating func restore(_ taken: TensorValues) { values = taken }

    /// Whether a stored value changed: its bit pattern did (so -0 → 0 counts, and a NaN kept is no change).
    @inlinable static func differ(_ a: Float, _ b: Float) -> Bool { a.bitPattern != b.bitPattern }
    @inlinable static func differ(_ a: Double, _ b: Double) -> Bool { a.bitPattern != b.bitPattern }

    /// The loop of `update`: each result of `transform` rounded by `round` to the stored dtype and
    /// tallied. Every index is checked before it is used: one out of range stops the run, it never
    /// writes elsewhere.
    @inlinable @inline(__always)
    static func updateElements<S: Sequence<Int>, Element: BinaryFloatingPoint>(
        _ v: inout [Element], _ indices: S, _ transform: (_ index: Int, _ value: Double) -> Double,
        _ tally: inout ChangeTally.Running, _ round: (Double) -> Element, _ differ: (Element, Element) -> Bool
    ) {
        v.withUnsafeMutableBufferPointer { v in
            for i in indices {
                precondition(i >= 0 && i < v.count, "index \(i) out of range")
                let old = v[i], result = transform(i, Double(old)), new = round(result)
                v[i] = new
                tally.add(at: i, from: Double(old), to: Double(new), result: result, differ: differ(old, new))
            }
        }
    }

    /// Sets the elements at `range` to `results` (in order), rounded and tallied as `update` does:
    /// for a pass that computes a slice at a time in a loop of its own, so that neither loop calls
    /// a closure an element (negate on the 1 GiB bench model spent a fifth of its time there).
    public mutating func update(_ range: Range<Int>, to results: UnsafeBufferPointer<Double>) {
        precondition(results.count == range.count, "\(results.count) results for \(range.count) elements")
        let low = range.lowerBound
        guard info.dtype == .float32, var v = takeFloat32Values() else {
            update(range) { i, _ in results[i - low] }
            return
        }
        precondition(low >= 0 && range.upperBound <= v.count, "range \(range) out of 0..<\(v.count)")
        var tally = ChangeTally.Running(changes)
        v.withUnsafeMutableBufferPointer { Self.updateFloat32($0, range, results, &tally) }
        restore(.float32(v))
        changes = tally.tally
    }

    /// `update(_:to:)` for float32 stored as float32: eight elements at a time where their flat
    /// indices start at a multiple of 8 (each falls in its own lane of the tally), one at a time
    /// at the ends; the values and the tally are the same bits as `ChangeTally.Running.add` gives.
    private static func updateFloat32(_ v: UnsafeMutableBufferPointer<Float>, _ range: Range<Int>, _ results: UnsafeBufferPointer<Double>,
                                       _ tally: inout ChangeTally.Running) {
        let low = range.lowerBound
        func one(_ i: Int) {
            let old = v[i], result = results[i - low], new = Float(result)
            v[i] = new
            tally.add(at: i, from: Double(old), to: Double(new), result: result, differ: differ(old, new))
        }
        var i = low
        while i < range.upperBound, i & 7 != 0 {
            one(i)
            i += 1
        }
        guard i + 8 <= range.upperBound, let values = UnsafeMutableRawPointer(v.baseAddress), let computed = UnsafeRawPointer(results.baseAddress) else {
            while i < range.upperBound { one(i); i += 1 }
            return
        }
        // Eight elements a step. The checks are made on the floats (two SSE registers, not four),
        // and the counts kept in 32-bit lanes, emptied before they could wrap: the baseline x86-64
        // target has sixteen 128-bit registers, and 64-bit lanes throughout spilled to the stack.
        // A step where a value was NaN or is stored non-finite goes one element at a time.
        var squares = tally.squareLanes, largest = SIMD8<Double>(), changed = SIMD8<Int32>(), steps = 0
        let magnitude = SIMD8<UInt64>(repeating: 0x7fff_ffff_ffff_ffff)
        while i + 8 <= range.upperBound {
            let oldFloats = values.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let result = computed.loadUnaligned(fromByteOffset: (i - low) * 8, as: SIMD8<Double>.self)
            let newFloats = SIMD8<Float>(result)
            values.storeBytes(of: newFloats, toByteOffset: i * 4, as: SIMD8<Float>.self)
            // NaN just when the old value is NaN or the new one is not finite (x − x is 0 for finite x).
            let check = oldFloats + (newFloats - newFloats)
            if any(check .!= check) {
                // Converting to Double would quiet a signaling NaN, and which count a non-finite result
                // joins needs the result: these eight go through the definition.
                for k in 0..<8 {
                    let (o, n) = (oldFloats[k], newFloats[k])
                    if differ(o, n) {
                        let delta = abs(Double(n) - Double(o))
                        squares[k] += delta * delta
                        changed[k] &+= 1
                        largest[k] = max(largest[k], delta)
                    }
                    if o.isFinite, !n.isFinite { if result[k].isFinite { tally.overflowed += 1 } else { tally.madeNonFinite += 1 } }
                }
            } else {
                // No NaN and a finite new value: equal bits give a zero change, whose square adds
                // +0 and leaves a lane's bits as they were, so only the count needs the mask.
                let delta = unsafeBitCast(unsafeBitCast(SIMD8<Double>(newFloats) - SIMD8<Double>(oldFloats), to: SIMD8<UInt64>.self) & magnitude,
                                          to: SIMD8<Double>.self)
                squares += delta * delta
                let differs = unsafeBitCast(oldFloats, to: SIMD8<UInt32>.self) .!= unsafeBitCast(newFloats, to: SIMD8<UInt32>.self)
                changed &-= unsafeBitCast(differs, to: SIMD8<Int32>.self)  // a true lane is all ones: -1
                largest.replace(with: delta, where: delta .> largest)
            }
            i += 8
            steps += 1
            if steps == 1 << 30 {
                tally.elementsChanged += changed.indices.reduce(0) { $0 + Int(changed[$1]) }
                (changed, steps) = (SIMD8(), 0)
            }
        }
        tally.squareLanes = squares
        tally.elementsChanged += changed.indices.reduce(0) { $0 + Int(changed[$1]) }
        for lane in 0..<8 { tally.maxAbs = max(tally.maxAbs, largest[lane]) }
        while i < range.upperBound {
            one(i)
            i += 1
        }
    }

    /// Applies `transform` to every element.
    public mutating func updateAll(_ transform: (Double) -> Double) {
        update(0..<info.count, transform)
    }
}

/// The flat indices of the elements whose coordinate along `axis` equals `index`: a class's
/// column of a Keras kernel (last axis) or row of a PyTorch weight (axis 0).
public struct AxisSlice: Sequence, Sendable {
    public let outer: Int, extent: Int, inner: Int, index: Int

    public init(shape: [Int], axis: Int, index: Int) {
        precondition(axis >= 0 && axis < shape.count && index >= 0 && index < shape[axis])
        outer = shape[..<axis].reduce(1, *)
        extent = shape[axis]
        inner = shape[(axis + 1)...].reduce(1, *)
        self.index = index
    }

    public var count: Int { outer * inner }

    public func makeIterator() -> Iterator { Iterator(slice: self) }

    public struct Iterator: IteratorProtocol {
        let slice: AxisSlice
        var o = 0, k = 0

        public mutating func next() -> Int? {
            guard o < slice.outer, slice.inner > 0 else { return nil }
            let flat = (o * slice.extent + slice.index) * slice.inner + k
            k += 1
            if k == slice.inner { k = 0; o += 1 }
            return flat
        }
    }
}

extension TensorValues {
    public var indices: Range<Int> { 0..<count }

    /// The values at flat indices `range`, in a new array.
    public func slice(_ range: Range<Int>) -> TensorValues {
        switch self {
        case .float32(let v): .float32(Array(v[range]))
        case .float64(let v): .float64(Array(v[range]))
        }
    }
}
