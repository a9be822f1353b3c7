import Foundation

/// JSON read with `StrictJSONReader` into a `JSONValue` once, for configs the tool reads from a
/// checkpoint (Keras' `config.json` and `model_config`): UTF-8 checked, RFC 8259 numbers, nesting
/// bounded, members in the order written. A key written twice keeps its last value, in the place
/// of its first, as Python's `json` (Keras' reader) keeps it.
extension JSONValue {
    /// Throws the reader's `StrictJSONError` (where and what) for text that is not strict JSON.
    public init(strict text: [UInt8]) throws {
        let reader = try StrictJSONReader(text)
        self = try Self.read(reader)
        try reader.finish()
    }

    private static func read(_ reader: StrictJSONReader) throws(StrictJSONError) -> JSONValue {
        switch try reader.peek() {
        case .object:
            try reader.beginObject()
            var members: [(String, JSONValue)] = []
            var indexOfKey: [String: Int] = [:]
            while let key = try reader.nextKey() {
                let value = try read(reader)
                if let index = indexOfKey[key] { members[index].1 = value } else {
                    indexOfKey[key] = members.count
                    members.append((key, value))
                }
            }
            return .object(members)
        case .array:
            try reader.beginArray()
            var elements: [JSONValue] = []
            while try reader.nextElement() { elements.append(try read(reader)) }
            return .array(elements)
        case .string: return .string(try reader.readString())
        case .number:
            let number = try reader.readNumber()
            if let integer = Int(number.literal) { return .integer(integer) }
            return .number(Double(number.literal)!)  // the reader checked it is a finite double
        case .bool: return .bool(try reader.readBool())
        case .null:
            try reader.readNull()
            return .null
        }
    }

    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var members: [(String, JSONValue)]? { if case .object(let m) = self { m } else { nil } }

    /// The value as Foundation's JSONSerialization would have returned it (NSNumber for numbers and
    /// booleans, NSNull, arrays, dictionaries), for code written against that form; made from the
    /// tree, not by parsing the text again.
    public var foundationObject: Any {
        switch self {
        case .null: NSNull()
        case .bool(let b): NSNumber(value: b)
        case .integer(let i): NSNumber(value: i)
        case .number(let d): NSNumber(value: d)
        case .string(let s): s
        case .array(let a): a.map(\.foundationObject)
        case .object(let m): Dictionary(m.map { ($0.0, $0.1.foundationObject) }, uniquingKeysWith: { _, last in last })
        }
    }
}
