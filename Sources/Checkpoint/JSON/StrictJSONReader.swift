/// A pull reader of JSON text that refuses what serde_json refuses and hides nothing a caller
/// needs to refuse more: object members come one at a time in the order written (so a caller
/// sees a repeated key), numbers come as written (so `4.0` is not `4`), and there are no
/// extensions (no trailing commas, comments, NaN, single quotes, byte order mark).
///
/// It exists for the safetensors header, which must be read exactly as the reference reader (Rust,
/// serde_json) reads it; Foundation's JSONSerialization merges repeated keys and loses the
/// spelling of numbers. The rules, each checked against serde_json 1.x as used by safetensors
/// 0.8.0: the text must be UTF-8 (checked whole, first); whitespace is space, tab, LF and CR only;
/// strings may not hold raw control characters (U+0000–U+001F) and their escapes must be valid
/// (a `\u` surrogate must be half of a pair); numbers follow RFC 8259 and must be finite as a
/// double; at most `maximumDepth` arrays and objects may be open at once.
///
/// Memory-safe on any input: every index is checked, nesting is bounded (so is recursion in
/// `skipValue`), numbers are classified without arithmetic that can overflow.
final class StrictJSONReader {
    /// serde_json's recursion limit: the 128th nested array or object is refused.
    static let maximumDepth = 127

    enum Kind: Equatable { case object, array, string, number, bool, null }

    private let bytes: [UInt8]
    private var offset = 0
    /// One entry per open container: whether a member or element has been read in it yet.
    private var open: [Bool] = []

    /// Checks that `text` is UTF-8 (throwing `.invalidUTF8` at the first bad byte).
    init(_ text: [UInt8]) throws(StrictJSONError) {
        bytes = text
        if let bad = UTF8Check.firstInvalidByte(in: text) { throw error(.invalidUTF8, at: bad) }
    }

    // MARK: what comes next

    /// The kind of the next value (after whitespace), without consuming it.
    func peek() throws(StrictJSONError) -> Kind {
        skipWhitespace()
        guard let byte = current else { throw error(.unexpectedEnd) }
        switch byte {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: throw error(.expectedValue)
        }
    }

    // MARK: containers

    /// Consumes `{`.
    func beginObject() throws(StrictJSONError) { try begin(UInt8(ascii: "{")) }

    /// The next member's key (its value is next to read), or nil after consuming the closing `}`.
    func nextKey() throws(StrictJSONError) -> String? {
        guard try nextItem(closing: UInt8(ascii: "}")) else { return nil }
        guard current == UInt8(ascii: "\"") else { throw error(.keyNotString) }
        let key = try readString()
        skipWhitespace()
        guard current == UInt8(ascii: ":") else { throw error(.expectedColon) }
        offset += 1
        return key
    }

    /// Consumes `[`.
    func beginArray() throws(StrictJSONError) { try begin(UInt8(ascii: "[")) }

    /// True when an element is next to read; false after consuming the closing `]`.
    func nextElement() throws(StrictJSONError) -> Bool {
        try nextItem(closing: UInt8(ascii: "]"))
    }

    private func begin(_ opening: UInt8) throws(StrictJSONError) {
        skipWhitespace()
        guard current == opening else { throw error(.expectedValue) }
        guard open.count < Self.maximumDepth else { throw error(.tooDeep) }
        offset += 1
        open.append(false)
    }

    /// Handles the comma or the closing bracket before the next item of the innermost container.
    private func nextItem(closing: UInt8) throws(StrictJSONError) -> Bool {
        guard let started = open.last else { throw error(.expectedValue) }
        skipWhitespace()
        if current == closing {
            offset += 1
            open.removeLast()
            return false
        }
        if started {
            guard current == UInt8(ascii: ",") else { throw error(current == nil ? .unexpectedEnd : .expectedCommaOrEnd) }
            offset += 1
            skipWhitespace()
            if current == closing { throw error(.trailingComma) }
        }
        guard current != nil else { throw error(.unexpectedEnd) }
        open[open.count - 1] = true
        return true
    }

    // MARK: scalars

    /// A string, its escapes decoded.
    func readString() throws(StrictJSONError) -> String {
        skipWhitespace()
        guard current == UInt8(ascii: "\"") else { throw error(.expectedValue) }
        offset += 1
        let start = offset
        var escaped = false, decoded: [UInt8] = []  // filled only once an escape is seen
        while true {
            guard let byte = current else { throw error(.unexpectedEnd) }
            switch byte {
            case UInt8(ascii: "\""):
                let text = escaped ? String(decoding: decoded, as: UTF8.self) : String(decoding: bytes[start..<offset], as: UTF8.self)
                offset += 1
                return text
            case UInt8(ascii: "\\"):
                if !escaped { decoded = Array(bytes[start..<offset]); escaped = true }
                offset += 1
                try readEscape(into: &decoded)
            case 0..<0x20:
                throw error(.controlCharacter)
            default:
                if escaped { decoded.append(byte) }
                offset += 1
            }
        }
    }

    /// After a backslash: one escape, appended as UTF-8.
    private func readEscape(into out: inout [UInt8]) throws(StrictJSONError) {
        guard let byte = current else { throw error(.unexpectedEnd) }
        offset += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(byte)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            let first = try readHex4()
            var scalar = first
            if (0xD800...0xDBFF).contains(first) {
                guard bytes.count - offset >= 2, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
                    throw error(.loneSurrogate)
                }
                offset += 2
                let second = try readHex4()
                guard (0xDC00...0xDFFF).contains(second) else { throw error(.loneSurrogate) }
                scalar = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(first) {
                throw error(.loneSurrogate)
            }
            // Not a surrogate, or a pair combined: always a valid scalar.
            if let valid = Unicode.Scalar(scalar), let encoded = UTF8.encode(valid) { out.append(contentsOf: encoded) }
        default:
            offset -= 1
            throw error(.invalidEscape)
        }
    }

    private func readHex4() throws(StrictJSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current else { throw error(.unexpectedEnd) }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error(.invalidEscape)
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    /// A number, as written, with its value when it is a non-negative integer that fits in 64 bits.
    func readNumber() throws(StrictJSONError) -> StrictJSONNumber {
        skipWhitespace()
        let start = offset
        var negative = false, integral = true
        if current == UInt8(ascii: "-") { negative = true; offset += 1 }
        guard let first = current, isDigit(first) else { throw error(current == nil ? .unexpectedEnd : .invalidNumber) }
        offset += 1
        if first == UInt8(ascii: "0") {
            if let next = current, isDigit(next) { throw error(.invalidNumber) }
        } else {
            skipDigits()
        }
        if current == UInt8(ascii: ".") {
            integral = false
            offset += 1
            guard let next = current, isDigit(next) else { throw error(current == nil ? .unexpectedEnd : .invalidNumber) }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            integral = false
            offset += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { offset += 1 }
            guard let next = current, isDigit(next) else { throw error(current == nil ? .unexpectedEnd : .invalidNumber) }
            skipDigits()
        }
        let literal = String(decoding: bytes[start..<offset], as: UTF8.self)
        if integral && !negative, let value = UInt64(literal) { return StrictJSONNumber(literal: literal, unsigned: value) }
        if integral && negative && literal != "-0", Int64(literal) != nil { return StrictJSONNumber(literal: literal, unsigned: nil) }
        // Everything else is a double to serde_json (an integer past 64 bits too), which must be finite.
        guard let double = Double(literal), double.isFinite else { throw error(.numberOutOfRange, at: start) }
        return StrictJSONNumber(literal: literal, unsigned: nil)
    }

    func readBool() throws(StrictJSONError) -> Bool {
        skipWhitespace()
        if try readLiteral("true") { return true }
        if try readLiteral("false") { return false }
        throw error(.invalidLiteral)
    }

    func readNull() throws(StrictJSONError) {
        skipWhitespace()
        guard try readLiteral("null") else { throw error(.invalidLiteral) }
    }

    /// Consumes `word` if the text continues with it; throws if it starts like it but differs.
    private func readLiteral(_ word: String) throws(StrictJSONError) -> Bool {
        let expected = Array(word.utf8)
        guard current == expected.first else { return false }
        for (i, byte) in expected.enumerated() {
            guard offset + i < bytes.count else { throw error(.unexpectedEnd, at: bytes.count) }
            guard bytes[offset + i] == byte else { throw error(.invalidLiteral, at: offset + i) }
        }
        offset += expected.count
        return true
    }

    /// Reads and checks the next value whatever it is, keeping nothing.
    func skipValue() throws(StrictJSONError) {
        switch try peek() {
        case .object:
            try beginObject()
            while try nextKey() != nil { try skipValue() }
        case .array:
            try beginArray()
            while try nextElement() { try skipValue() }
        case .string: _ = try readString()
        case .number: _ = try readNumber()
        case .bool: _ = try readBool()
        case .null: try readNull()
        }
    }

    /// Checks that only whitespace is left.
    func finish() throws(StrictJSONError) {
        skipWhitespace()
        guard current == nil else { throw error(.trailingCharacters) }
    }

    // MARK: bytes

    private var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    private func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private func skipDigits() {
        while let byte = current, isDigit(byte) { offset += 1 }
    }

    private func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { offset += 1 }
    }

    private func error(_ reason: StrictJSONError.Reason, at position: Int? = nil) -> StrictJSONError {
        StrictJSONError(reason: reason, text: bytes, offset: position ?? offset)
    }
}

/// A JSON number as written.
struct StrictJSONNumber: Equatable {
    /// The characters of the number (`4`, `4.0`, `-0`, `1e2`).
    let literal: String
    /// Its value when written as a non-negative integer (no sign, fraction or exponent) below 2^64:
    /// what serde_json hands to an unsigned integer field; any other spelling is refused there.
    let unsigned: UInt64?
}
