import Foundation

/// A validated safetensors header: the reference reader's rules, checked with overflow-safe
/// arithmetic, one `SafetensorsProblem` per rule.
struct SafetensorsHeader {
    struct Entry {
        let info: TensorInfo
        /// Byte range inside the data buffer (relative to its start).
        let begin: Int, end: Int
    }

    static let maximumHeaderLength: UInt64 = 100_000_000

    /// Entries sorted by offset (the buffer's order).
    let entries: [Entry]
    let metadata: [String: String]
    /// Length of the JSON header in bytes (the data buffer starts at 8 + this).
    let length: Int

    var dataStart: Int { 8 + length }

    /// Reads the little-endian header length and checks it against the limit and the file size.
    static func length(fromPrefix prefix: [UInt8], fileSize: Int) throws(SafetensorsProblem) -> Int {
        guard prefix.count >= 8, fileSize >= 8 else { throw .tooShort(size: fileSize) }
        let n = prefix[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n <= maximumHeaderLength else { throw .headerTooLarge(length: n) }
        guard Int(n) <= fileSize - 8 else { throw .headerPastEnd(length: n, fileSize: fileSize) }
        return Int(n)
    }

    /// Parses and validates the JSON header (`json` is exactly the header's bytes).
    init(json: [UInt8], fileSize: Int) throws(SafetensorsProblem) {
        length = json.count
        guard json.first == UInt8(ascii: "{") else { throw .headerNotObject }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json), options: [])
        } catch {
            throw .invalidJSON((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)")
        }
        guard let dictionary = object as? [String: Any] else { throw .headerNotObject }

        var metadata: [String: String] = [:]
        if let raw = dictionary["__metadata__"] {
            guard let map = raw as? [String: Any] else { throw .invalidMetadata("found \(type(of: raw))") }
            for (key, value) in map {
                guard let string = value as? String else { throw .invalidMetadata("value of '\(key)' is not a string") }
                metadata[key] = string
            }
        }
        self.metadata = metadata

        var entries: [Entry] = []
        for (name, raw) in dictionary where name != "__metadata__" {
            entries.append(try Self.entry(name: name, raw: raw))
        }
        entries.sort { ($0.begin, $0.end, $0.info.name) < ($1.begin, $1.end, $1.info.name) }

        let bufferSize = fileSize - 8 - json.count
        var expected = 0
        var previous: String?
        for entry in entries {
            if entry.begin < expected, let previous { throw .overlap(tensor: entry.info.name, other: previous) }
            guard entry.begin == expected else {
                throw .gap(tensor: entry.info.name, expectedBegin: expected, actualBegin: entry.begin)
            }
            guard entry.end <= bufferSize else {
                throw .dataPastEnd(tensor: entry.info.name, end: entry.end, bufferSize: bufferSize)
            }
            expected = entry.end
            previous = entry.info.name
        }
        guard expected == bufferSize else { throw .trailingBytes(dataEnd: expected, bufferSize: bufferSize) }
        self.entries = entries
    }

    private static func entry(name: String, raw: Any) throws(SafetensorsProblem) -> Entry {
        guard let fields = raw as? [String: Any] else {
            throw .invalidEntry(tensor: name, reason: "expected an object with dtype, shape and data_offsets")
        }
        guard let dtypeName = fields["dtype"] as? String else {
            throw .invalidEntry(tensor: name, reason: "missing or non-string 'dtype'")
        }
        guard let dtype = DType(rawValue: dtypeName) else { throw .unknownDType(tensor: name, dtype: dtypeName) }
        guard let shapeValues = fields["shape"] as? [Any] else {
            throw .invalidEntry(tensor: name, reason: "missing or non-array 'shape'")
        }
        var shape: [Int] = []
        var count = 1
        for value in shapeValues {
            guard let dim = nonNegativeInteger(value) else {
                throw .invalidEntry(tensor: name, reason: "shape \(shapeValues) holds something other than non-negative integers")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw .invalidEntry(tensor: name, reason: "shape \(shapeValues) overflows") }
            shape.append(dim)
            count = product
        }
        guard let offsets = fields["data_offsets"] as? [Any], offsets.count == 2,
              let begin = nonNegativeInteger(offsets[0]), let end = nonNegativeInteger(offsets[1]), begin <= end
        else {
            throw .invalidEntry(tensor: name, reason: "data_offsets must be [begin, end] with 0 <= begin <= end")
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, bytes == end - begin else {
            throw .lengthMismatch(tensor: name, expected: overflow ? Int.max : bytes, actual: end - begin)
        }
        return Entry(info: TensorInfo(name: name, dtype: dtype, shape: shape), begin: begin, end: end)
    }

    /// A JSON number that is a whole, non-negative Int (booleans and fractions refused; Foundation
    /// hands JSON `true` over as an NSNumber whose type code is `c`).
    private static func nonNegativeInteger(_ value: Any) -> Int? {
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
        let double = number.doubleValue
        guard double >= 0, double == double.rounded(), double < 9.0e15 else { return nil }
        return number.intValue
    }
}
