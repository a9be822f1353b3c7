/// A validated NumPy `.npy` header (format 1.0–3.0): magic, version, header length, and the
/// header's Python dict literal with `descr`, `fortran_order` and `shape`, one `NPYProblem` per rule,
/// sizes checked with overflow-checked arithmetic.
struct NPYHeader: Equatable {
    enum Element: String, Sendable, CaseIterable {
        case float32 = "<f4", float64 = "<f8", uint8 = "|u1", int8 = "|i1", int16 = "<i2", uint16 = "<u2"
        case int32 = "<i4", uint32 = "<u4", int64 = "<i8", uint64 = "<u8"

        var size: Int {
            switch self {
            case .uint8, .int8: 1
            case .int16, .uint16: 2
            case .float32, .int32, .uint32: 4
            case .float64, .int64, .uint64: 8
            }
        }

        var isFloat: Bool { self == .float32 || self == .float64 }
    }

    /// The longest header accepted (numpy writes far less; it caps reading at 10,000 by default).
    static let maximumHeaderLength = 1 << 20

    let element: Element
    let shape: [Int]
    /// Where the array's bytes begin.
    let dataOffset: Int
    /// Elements and bytes of the whole array.
    let count: Int, byteCount: Int
    /// Elements after the first axis: one row (one sample).
    let rowElements: Int

    /// How many bytes the fixed prefix before the dict takes: magic, version and length (10 or 12).
    static func prefixLength(version: UInt8) -> Int { version == 1 ? 10 : 12 }

    /// Parses the header from the file's first bytes (`bytes` must hold at least the whole header),
    /// checking the array against the file size.
    init(_ bytes: [UInt8], fileSize: Int) throws(NPYProblem) {
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else { throw .badMagic }
        guard (1...3).contains(bytes[6]) else { throw .unsupportedVersion(Int(bytes[6])) }
        let start = Self.prefixLength(version: bytes[6])
        guard bytes.count >= start else { throw .truncated }
        let length = start == 10 ? Int(bytes[8]) | Int(bytes[9]) << 8
            : Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        guard length <= Self.maximumHeaderLength else { throw .headerTooLong(length) }
        guard bytes.count >= start + length else { throw .truncated }
        let fields = try NPYDictionary.parse(Array(bytes[start..<(start + length)]))
        guard case .string(let descr)? = fields["descr"] else { throw .missingField("descr") }
        guard case .bool(let fortran)? = fields["fortran_order"] else { throw .missingField("fortran_order") }
        guard case .tuple(let dims)? = fields["shape"] else { throw .missingField("shape") }
        guard !fortran else { throw .fortranOrder }
        guard let element = Element(rawValue: descr) else { throw .unsupportedDType(descr) }
        if let negative = dims.first(where: { $0 < 0 }) { throw .negativeDimension(negative) }
        // One row's elements first: with no rows the whole product is 0 whatever a row holds.
        var rowElements = 1
        for dim in dims.dropFirst() {
            let (product, overflow) = rowElements.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw .sizeOverflow(dims) }
            rowElements = product
        }
        let (count, rowsOverflow) = (dims.first ?? 1).multipliedReportingOverflow(by: rowElements)
        let (bytesNeeded, overflow) = count.multipliedReportingOverflow(by: element.size)
        guard !rowsOverflow, !overflow else { throw .sizeOverflow(dims) }
        let (end, past) = (start + length).addingReportingOverflow(bytesNeeded)
        guard !past, end <= fileSize else { throw .fileTooShort(needed: past ? Int.max : end, actual: fileSize) }
        self.element = element
        shape = dims
        dataOffset = start + length
        self.count = count
        self.rowElements = rowElements
        byteCount = bytesNeeded
    }
}

/// One case per rule a `.npy` header must satisfy.
public enum NPYProblem: Error, Equatable, CustomStringConvertible, Sendable {
    case badMagic
    case unsupportedVersion(Int)
    case truncated
    case headerTooLong(Int)
    case malformedDictionary(String)
    case missingField(String)
    case fortranOrder
    case unsupportedDType(String)
    case negativeDimension(Int)
    case sizeOverflow([Int])
    case fileTooShort(needed: Int, actual: Int)

    public var description: String {
        switch self {
        case .badMagic: "not a NumPy .npy file (bad magic; expected \\x93NUMPY)"
        case .unsupportedVersion(let major): ".npy format version \(major) (expected 1, 2 or 3)"
        case .truncated: "the .npy header is cut short (truncated file?)"
        case .headerTooLong(let length): ".npy header length \(length) exceeds the \(NPYHeader.maximumHeaderLength)-byte limit"
        case .malformedDictionary(let reason): ".npy header is not the dict numpy writes: \(reason)"
        case .missingField(let key): ".npy header has no valid '\(key)'"
        case .fortranOrder: "Fortran-ordered arrays are not supported (save with numpy.ascontiguousarray)"
        case .unsupportedDType(let descr): "unsupported dtype \(descr) (expected one of \(NPYHeader.Element.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .negativeDimension(let dim): "shape has a negative dimension \(dim)"
        case .sizeOverflow(let shape): "shape \(shape) overflows: too many elements to address"
        case .fileTooShort(let needed, let actual): "file is \(actual) bytes but its header and shape need \(needed) (truncated?)"
        }
    }
}

/// The Python literal numpy writes as a `.npy` header: `{'key': value, ...}` with string, `True`/
/// `False` and tuple-of-integers values. Anything else is refused.
enum NPYDictionary {
    enum Value: Equatable { case string(String), bool(Bool), tuple([Int]) }

    static func parse(_ bytes: [UInt8]) throws(NPYProblem) -> [String: Value] {
        var scanner = Scanner(bytes: bytes)
        var fields: [String: Value] = [:]
        scanner.skipSpace()
        guard scanner.take("{") else { throw .malformedDictionary("it does not start with '{'") }
        while true {
            scanner.skipSpace()
            if scanner.take("}") { break }
            guard let key = scanner.quoted() else { throw .malformedDictionary("expected a quoted key at byte \(scanner.position)") }
            scanner.skipSpace()
            guard scanner.take(":") else { throw .malformedDictionary("expected ':' after '\(key)'") }
            scanner.skipSpace()
            let value: Value
            if let text = scanner.quoted() {
                value = .string(text)
            } else if scanner.take("True") {
                value = .bool(true)
            } else if scanner.take("False") {
                value = .bool(false)
            } else if scanner.take("(") {
                var dims: [Int] = []
                while true {
                    scanner.skipSpace()
                    if scanner.take(")") { break }
                    guard let dim = scanner.integer() else { throw .malformedDictionary("the shape of '\(key)' holds something other than integers") }
                    dims.append(dim)
                    scanner.skipSpace()
                    if scanner.take(")") { break }
                    guard scanner.take(",") else { throw .malformedDictionary("expected ',' or ')' in '\(key)'") }
                }
                value = .tuple(dims)
            } else {
                throw .malformedDictionary("unexpected value for '\(key)'")
            }
            guard fields.updateValue(value, forKey: key) == nil else { throw .malformedDictionary("'\(key)' given twice") }
            scanner.skipSpace()
            if scanner.take("}") { break }
            guard scanner.take(",") else { throw .malformedDictionary("expected ',' or '}' after '\(key)'") }
        }
        scanner.skipSpace()
        guard scanner.atEnd else { throw .malformedDictionary("bytes after the closing '}'") }
        return fields
    }

    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        var atEnd: Bool { position == bytes.count }

        mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x0A, 0x09, 0x0D].contains(bytes[position]) { position += 1 }
        }

        mutating func take(_ literal: String) -> Bool {
            let text = Array(literal.utf8)
            guard bytes.count - position >= text.count, Array(bytes[position..<(position + text.count)]) == text else { return false }
            position += text.count
            return true
        }

        mutating func quoted() -> String? {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "'") || bytes[position] == UInt8(ascii: "\"") else { return nil }
            let quote = bytes[position]
            guard let end = bytes[(position + 1)...].firstIndex(of: quote) else { return nil }
            defer { position = end + 1 }
            return String(decoding: bytes[(position + 1)..<end], as: UTF8.self)
        }

        /// An optionally signed decimal integer (numpy may write `5L` in old files: the L is taken).
        mutating func integer() -> Int? {
            let start = position
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            guard let value = Int(String(decoding: bytes[start..<position], as: UTF8.self)) else { position = start; return nil }
            _ = take("L")
            return value
        }
    }
}
