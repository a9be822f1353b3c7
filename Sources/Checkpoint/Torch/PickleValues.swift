/// A storage as `torch.save` records it in a persistent id: `('storage', StorageType, key,
/// location, numel)`; its bytes are the archive member `<prefix>/data/<key>`.
struct TorchStorage: Equatable, Sendable {
    let key: String
    /// The element type of a typed storage (`torch.FloatStorage`, ...); nil for `UntypedStorage`.
    let dtype: DType?
    /// Elements for a typed storage, bytes for an untyped one (as torch counts them).
    let count: Int
    let location: String
    /// Bytes the record must hold: count × itemsize (checked for overflow when read).
    let byteCount: Int
}

/// One tensor of the state dict: a view into a storage.
struct TorchTensorRecord: Equatable, Sendable {
    let storage: Int
    let dtype: DType
    /// In elements of `dtype`, from the start of the storage.
    let offset: Int
    let shape: [Int]
    let stride: [Int]
    let isParameter: Bool
}

/// The globals a state dict needs, and nothing else.
enum PickleGlobal: Equatable, Sendable {
    case orderedDict, rebuildTensorV2, rebuildTensorV3, rebuildParameter
    case storageType(DType), untypedStorage, dtype(DType)
}

/// A value on the interpreter's stack. Containers live in the reader's heap and are referred to by
/// index, so that nothing the pickle builds (however deep or cyclic) is freed recursively.
enum PickleValue: Equatable, Sendable {
    case none, bool(Bool), int(Int), bigInt, float(Double), string(String), set
    case tuple(Int), list(Int), dict(Int)
    case global(PickleGlobal)
    case storage(Int), tensor(Int)
}
