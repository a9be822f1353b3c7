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
    /// How many values are NaN and how many infinite.
    public var nonFinite: (nan: Int, infinite: Int) {
        var nan = 0, infinite = 0
        switch self {
        case .float32(let v): for x in v where !x.isFinite { if x.isNaN { nan += 1 } else { infinite += 1 } }
        case .float64(let v): for x in v where !x.isFinite { if x.isNaN { nan += 1 } else { infinite += 1 } }
        }
        return (nan, infinite)
    }
}

/// How much a set of edits changed a tensor: elements whose stored value changed (bit patterns
/// differ, so -0 → 0 counts), the L2 norm of the change and its largest absolute element.
public struct ChangeTally: Sendable, Equatable {
    public private(set) var elementsChanged = 0
    public private(set) var sumOfSquares = 0.0
    public private(set) var maxAbs = 0.0
    /// Values a pass computed finite that the tensor's dtype cannot hold (float16 past ±65504,
    /// bfloat16 past ±3.4e38): stored as ±infinity.
    public private(set) var overflowed = 0
    /// Values that were finite and that a pass made NaN or infinite itself.
    public private(set) var madeNonFinite = 0

    public init() {}

    /// Notes an element whose value was `old`, computed as `result` and stored as `stored`.
    mutating func noteFiniteness(old: Double, result: Double, stored: Double) {
        guard old.isFinite, !stored.isFinite else { return }
        if result.isFinite { overflowed += 1 } else { madeNonFinite += 1 }
    }

    public var l2: Double { sumOfSquares.squareRoot() }

    public mutating func add(from old: Double, to new: Double, differ: Bool) {
        guard differ else { return }
        elementsChanged += 1
        let delta = abs(new - old)
        sumOfSquares += delta * delta
        maxAbs = max(maxAbs, delta)
    }

    /// The tally of turning `before` into `after` (same tensor, same precision).
    public init(from before: TensorValues, to after: TensorValues) {
        switch (before, after) {
        case (.float32(let a), .float32(let b)):
            for i in a.indices { add(from: Double(a[i]), to: Double(b[i]), differ: a[i].bitPattern != b[i].bitPattern) }
        case (.float64(let a), .float64(let b)):
            for i in a.indices { add(from: a[i], to: b[i], differ: a[i].bitPattern != b[i].bitPattern) }
        default:
            preconditionFailure("values of different precision compared")
        }
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
    public mutating func update<S: Sequence<Int>>(_ indices: S, _ transform: (Double) -> Double) {
        update(indices) { _, value in transform(value) }
    }

    /// Like `update(_:_:)`, with the flat index passed to `transform` beside the value.
    public mutating func update<S: Sequence<Int>>(_ indices: S, _ transform: (_ index: Int, _ value: Double) -> Double) {
        // Called from another module, a generic function runs unspecialized: every step of the
        // iteration looked up type metadata (about 350 ns an element; negate took 100 s on 1 GiB).
        // The index sets the passes use go to code specialized for them in this module.
        switch indices {
        case let range as Range<Int>: updateElements(range, transform)
        case let list as [Int]: updateElements(list, transform)
        case let slice as AxisSlice: updateElements(slice, transform)
        default: updateElements(indices, transform)
        }
    }

    private mutating func updateElements<S: Sequence<Int>>(_ indices: S, _ transform: (_ index: Int, _ value: Double) -> Double) {
        var tally = changes
        switch values {
        case .float32(var v):
            values = .float32([])  // release the enum's reference so `v` is uniquely owned
            // One loop per dtype, the rounding inlined in it: through a closure it cost a call an element.
            switch info.dtype {
            case .float16: Self.updateFloats(&v, indices, transform, &tally) { Float(Float16($0)) }
            case .bfloat16: Self.updateFloats(&v, indices, transform, &tally) { FloatCodec.float(fromBFloat16: FloatCodec.bfloat16(from: Float($0))) }
            default: Self.updateFloats(&v, indices, transform, &tally) { Float($0) }
            }
            values = .float32(v)
        case .float64(var v):
            values = .float64([])
            v.withUnsafeMutableBufferPointer { v in
                for i in indices {
                    precondition(i >= 0 && i < v.count, "index \(i) out of range")
                    let old = v[i]
                    v[i] = transform(i, old)
                    tally.add(from: old, to: v[i], differ: old.bitPattern != v[i].bitPattern)
                    tally.noteFiniteness(old: old, result: v[i], stored: v[i])
                }
            }
            values = .float64(v)
        }
        changes = tally
    }

    /// The float32 loop of `updateElements`: each result rounded by `round` to the stored dtype.
    @inline(__always)
    private static func updateFloats<S: Sequence<Int>>(_ v: inout [Float], _ indices: S, _ transform: (_ index: Int, _ value: Double) -> Double,
                                                       _ tally: inout ChangeTally, _ round: (Double) -> Float) {
        v.withUnsafeMutableBufferPointer { v in
            for i in indices {
                precondition(i >= 0 && i < v.count, "index \(i) out of range")
                let old = v[i], result = transform(i, Double(old))
                v[i] = round(result)
                tally.add(from: Double(old), to: Double(v[i]), differ: old.bitPattern != v[i].bitPattern)
                tally.noteFiniteness(old: Double(old), result: result, stored: Double(v[i]))
            }
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
