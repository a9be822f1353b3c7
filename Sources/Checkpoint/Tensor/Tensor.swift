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
    public var byteCount: Int { count * dtype.size }
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

    /// The value at a flat index, widened to Double.
    public subscript(index: Int) -> Double {
        switch self {
        case .float32(let v): Double(v[index])
        case .float64(let v): v[index]
        }
    }
}

/// A floating tensor in memory: its stored description and its decoded values.
public struct Tensor: Sendable {
    public let info: TensorInfo
    public var values: TensorValues

    public init(info: TensorInfo, values: TensorValues) {
        precondition(info.count == values.count, "tensor \(info.name): \(values.count) values for shape \(info.shape)")
        self.info = info
        self.values = values
    }

    public var name: String { info.name }
    public var shape: [Int] { info.shape }

    /// Applies `transform` to the elements at `indices`, computing in Double and rounding the result
    /// to nearest even in the stored dtype (f16 directly from Double; bf16 through float32).
    public mutating func update<S: Sequence<Int>>(_ indices: S, _ transform: (Double) -> Double) {
        update(indices) { _, value in transform(value) }
    }

    /// Like `update(_:_:)`, with the flat index passed to `transform` beside the value.
    public mutating func update<S: Sequence<Int>>(_ indices: S, _ transform: (_ index: Int, _ value: Double) -> Double) {
        switch values {
        case .float32(var v):
            values = .float32([])  // release the enum's reference so `v` is uniquely owned
            switch info.dtype {
            case .float16:
                for i in indices { v[i] = Float(Float16(transform(i, Double(v[i])))) }
            case .bfloat16:
                for i in indices { v[i] = FloatCodec.float(fromBFloat16: FloatCodec.bfloat16(from: Float(transform(i, Double(v[i]))))) }
            default:
                for i in indices { v[i] = Float(transform(i, Double(v[i]))) }
            }
            values = .float32(v)
        case .float64(var v):
            values = .float64([])
            for i in indices { v[i] = transform(i, v[i]) }
            values = .float64(v)
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

extension Tensor {
    /// Rounds the values to what the stored dtype can hold (f16 and bf16 held as float32), so that
    /// what a pass is measured on is what the file will contain.
    public mutating func roundToStorage() {
        guard case .float32(var v) = values, info.dtype == .float16 || info.dtype == .bfloat16 else { return }
        values = .float32([])
        if info.dtype == .float16 {
            for i in v.indices { v[i] = Float(Float16(v[i])) }
        } else {
            for i in v.indices { v[i] = FloatCodec.float(fromBFloat16: FloatCodec.bfloat16(from: v[i])) }
        }
        values = .float32(v)
    }
}

extension TensorValues {
    public var indices: Range<Int> { 0..<count }
}
