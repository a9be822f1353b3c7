/// The JSON of a safetensors header read into entries and metadata exactly as the reference reader
/// reads it: safetensors 0.8.0 deserialises it with serde_json into `HashMetadata`
/// (`__metadata__: Option<HashMap<String, String>>` beside a flattened `HashMap<String, TensorInfo>`),
/// and `TensorInfo` is a derived struct (`dtype`, `shape: Vec<usize>`, `data_offsets: (usize, usize)`).
/// What follows from those definitions, each point checked on the Python package
/// (`Fixtures/safetensors/reference_cases.json`):
///
/// - `__metadata__` may appear once; it is null or an object of strings (a key repeated inside it:
///   the last value counts).
/// - Every other key is a tensor. A name written twice keeps its last entry (a HashMap), but every
///   entry must be valid. Names are the same only when their bytes are (Rust compares bytes; a
///   Swift `String` compares by canonical equivalence, so keys are compared as UTF-8 here, and
///   `café` with U+00E9 and with e + U+0301 stay two tensors, as in the reference).
/// - An entry is an object whose `dtype`, `shape` and `data_offsets` each appear exactly once (other
///   fields are ignored, though they must be valid JSON), or an array `[dtype, shape, data_offsets]`
///   (serde's sequence form of a struct).
/// - A dtype is a string naming one the reference knows, or an object with that name as its only key
///   and null as its value (serde's map form of an enum).
/// - Dimensions and offsets are integers written without sign, fraction or exponent, below 2^64:
///   `4.0`, `4e0` and `-0` are floats to serde_json and refused.
///
/// The buffer rules (offsets tiling the data, sizes matching shapes) are `SafetensorsHeader`'s.
struct SafetensorsHeaderJSON {
    /// One tensor as its entry spells it, numbers still as the file wrote them.
    struct Entry {
        let dtype: DType
        let shape: [UInt64]
        let begin: UInt64, end: UInt64
    }

    /// One per distinct name (as bytes), in the order each name first appeared.
    private(set) var entries: [(name: String, entry: Entry)] = []
    /// nil when absent or null.
    private(set) var metadata: [String: String]?

    init(json: [UInt8]) throws(SafetensorsProblem) {
        let tokens = try Tokens(json)
        guard try tokens.peek() == .object else { throw .headerNotObject }
        try tokens.beginObject()
        var seenMetadata = false
        var indexOfName: [[UInt8]: Int] = [:]
        while let key = try tokens.nextKey() {
            if key.isExactly("__metadata__") {
                guard !seenMetadata else { throw .duplicateMetadata }
                seenMetadata = true
                metadata = try Self.readMetadata(tokens)
            } else {
                let entry = try EntryReader(tokens: tokens, tensor: key).entry()
                if let index = indexOfName[Array(key.utf8)] {
                    entries[index].entry = entry
                } else {
                    indexOfName[Array(key.utf8)] = entries.count
                    entries.append((key, entry))
                }
            }
        }
        try tokens.finish()
    }

    private static func readMetadata(_ tokens: Tokens) throws(SafetensorsProblem) -> [String: String]? {
        switch try tokens.peek() {
        case .null:
            try tokens.readNull()
            return nil
        case .object:
            try tokens.beginObject()
            var metadata: [String: String] = [:]
            while let key = try tokens.nextKey() {
                let kind = try tokens.peek()
                guard kind == .string else { throw .invalidMetadata("the value of '\(key)' is \(kind.described), not a string") }
                metadata[key] = try tokens.readString()
            }
            return metadata
        case let kind:
            throw .invalidMetadata("found \(kind.described), expected an object of strings or null")
        }
    }
}

/// Reads one tensor entry, naming the tensor in every error.
private struct EntryReader {
    let tokens: Tokens
    let tensor: String

    func entry() throws(SafetensorsProblem) -> SafetensorsHeaderJSON.Entry {
        switch try tokens.peek() {
        case .object: return try fields()
        case .array: return try sequence()
        case let kind:
            throw .invalidEntry(tensor: tensor, reason: "found \(kind.described), expected an object with dtype, shape and data_offsets")
        }
    }

    /// `{"dtype": ..., "shape": [...], "data_offsets": [b, e]}`, each field once, others ignored.
    private func fields() throws(SafetensorsProblem) -> SafetensorsHeaderJSON.Entry {
        try tokens.beginObject()
        var dtype: DType?, shape: [UInt64]?, offsets: (UInt64, UInt64)?
        while let field = try tokens.nextKey() {
            if field.isExactly("dtype") {
                guard dtype == nil else { throw .duplicateField(tensor: tensor, field: field) }
                dtype = try readDType()
            } else if field.isExactly("shape") {
                guard shape == nil else { throw .duplicateField(tensor: tensor, field: field) }
                shape = try readShape()
            } else if field.isExactly("data_offsets") {
                guard offsets == nil else { throw .duplicateField(tensor: tensor, field: field) }
                offsets = try readOffsets()
            } else {
                try tokens.skipValue()
            }
        }
        guard let dtype else { throw .invalidEntry(tensor: tensor, reason: "no 'dtype'") }
        guard let shape else { throw .invalidEntry(tensor: tensor, reason: "no 'shape'") }
        guard let offsets else { throw .invalidEntry(tensor: tensor, reason: "no 'data_offsets'") }
        return .init(dtype: dtype, shape: shape, begin: offsets.0, end: offsets.1)
    }

    /// `[dtype, [shape...], [begin, end]]`: serde reads a struct from an array of its fields in order.
    private func sequence() throws(SafetensorsProblem) -> SafetensorsHeaderJSON.Entry {
        let wrongLength = SafetensorsProblem.invalidEntry(tensor: tensor, reason: "an entry written as an array must be [dtype, shape, data_offsets]")
        try tokens.beginArray()
        guard try tokens.nextElement() else { throw wrongLength }
        let dtype = try readDType()
        guard try tokens.nextElement() else { throw wrongLength }
        let shape = try readShape()
        guard try tokens.nextElement() else { throw wrongLength }
        let offsets = try readOffsets()
        guard try !tokens.nextElement() else { throw wrongLength }
        return .init(dtype: dtype, shape: shape, begin: offsets.0, end: offsets.1)
    }

    /// `"F32"`, or `{"F32": null}`.
    private func readDType() throws(SafetensorsProblem) -> DType {
        let name: String
        switch try tokens.peek() {
        case .string:
            name = try tokens.readString()
        case .object:
            let form = SafetensorsProblem.invalidEntry(tensor: tensor, reason: "a dtype written as an object must be {\"NAME\": null}")
            try tokens.beginObject()
            guard let key = try tokens.nextKey() else { throw form }
            guard try tokens.peek() == .null else { throw form }
            try tokens.readNull()
            guard try tokens.nextKey() == nil else { throw form }
            name = key
        case let kind:
            throw .invalidEntry(tensor: tensor, reason: "'dtype' is \(kind.described), expected a string such as \"F32\"")
        }
        guard let dtype = DType.allCases.first(where: { name.isExactly($0.rawValue) }) else { throw .unknownDType(tensor: tensor, dtype: name) }
        return dtype
    }

    private func readShape() throws(SafetensorsProblem) -> [UInt64] {
        let kind = try tokens.peek()
        guard kind == .array else { throw .invalidEntry(tensor: tensor, reason: "'shape' is \(kind.described), expected an array of dimensions") }
        try tokens.beginArray()
        var shape: [UInt64] = []
        while try tokens.nextElement() {
            shape.append(try readUnsigned(field: "shape"))
        }
        return shape
    }

    private func readOffsets() throws(SafetensorsProblem) -> (UInt64, UInt64) {
        let form = SafetensorsProblem.invalidEntry(tensor: tensor, reason: "'data_offsets' must be [begin, end]")
        guard try tokens.peek() == .array else { throw form }
        try tokens.beginArray()
        guard try tokens.nextElement() else { throw form }
        let begin = try readUnsigned(field: "data_offsets")
        guard try tokens.nextElement() else { throw form }
        let end = try readUnsigned(field: "data_offsets")
        guard try !tokens.nextElement() else { throw form }
        return (begin, end)
    }

    /// A non-negative integer as serde_json hands one to a `usize` field.
    private func readUnsigned(field: String) throws(SafetensorsProblem) -> UInt64 {
        let kind = try tokens.peek()
        guard kind == .number else { throw .notAnInteger(tensor: tensor, field: field, written: kind.described) }
        let number = try tokens.readNumber()
        guard let value = number.unsigned else { throw .notAnInteger(tensor: tensor, field: field, written: number.literal) }
        return value
    }
}

/// `StrictJSONReader`'s calls with its errors turned into the header's (`invalidUTF8` or `invalidJSON`).
private struct Tokens {
    private let reader: StrictJSONReader

    init(_ json: [UInt8]) throws(SafetensorsProblem) {
        do { reader = try StrictJSONReader(json) } catch { throw Self.problem(error) }
    }

    private static func problem(_ error: StrictJSONError) -> SafetensorsProblem {
        error.reason == .invalidUTF8 ? .invalidUTF8(offset: error.offset) : .invalidJSON(error.description)
    }

    private func run<T>(_ body: () throws(StrictJSONError) -> T) throws(SafetensorsProblem) -> T {
        do { return try body() } catch { throw Self.problem(error) }
    }

    func peek() throws(SafetensorsProblem) -> StrictJSONReader.Kind { try run { () throws(StrictJSONError) in try reader.peek() } }
    func beginObject() throws(SafetensorsProblem) { try run { () throws(StrictJSONError) in try reader.beginObject() } }
    func nextKey() throws(SafetensorsProblem) -> String? { try run { () throws(StrictJSONError) in try reader.nextKey() } }
    func beginArray() throws(SafetensorsProblem) { try run { () throws(StrictJSONError) in try reader.beginArray() } }
    func nextElement() throws(SafetensorsProblem) -> Bool { try run { () throws(StrictJSONError) in try reader.nextElement() } }
    func readString() throws(SafetensorsProblem) -> String { try run { () throws(StrictJSONError) in try reader.readString() } }
    func readNumber() throws(SafetensorsProblem) -> StrictJSONNumber { try run { () throws(StrictJSONError) in try reader.readNumber() } }
    func readNull() throws(SafetensorsProblem) { try run { () throws(StrictJSONError) in try reader.readNull() } }
    func skipValue() throws(SafetensorsProblem) { try run { () throws(StrictJSONError) in try reader.skipValue() } }
    func finish() throws(SafetensorsProblem) { try run { () throws(StrictJSONError) in try reader.finish() } }
}

extension String {
    /// Equal as bytes, as serde compares field names and Rust compares map keys (`==` on `String`
    /// would also match canonically equivalent spellings: U+212A KELVIN SIGN equals "K").
    func isExactly(_ other: String) -> Bool { utf8.elementsEqual(other.utf8) }
}

extension StrictJSONReader.Kind {
    /// "an array", "a string", … for messages.
    var described: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}
