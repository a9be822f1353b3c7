/// A validated safetensors header: the JSON read as the reference reader reads it
/// (`SafetensorsHeaderJSON`), then the reference's buffer rules (`Metadata::validate` and
/// `read_metadata` in safetensors/src/tensor.rs) checked with overflow-safe arithmetic, one
/// `SafetensorsProblem` per rule.
struct SafetensorsHeader {
    struct Entry {
        let info: TensorInfo
        /// Byte range inside the data buffer (relative to its start).
        let begin: Int, end: Int
    }

    static let maximumHeaderLength: UInt64 = 100_000_000

    /// Entries sorted by offset (the buffer's order); one per name as bytes (two names may still be
    /// canonically equivalent: `SafetensorsFile` refuses those).
    let entries: [Entry]
    /// Empty when the header has no `__metadata__` or has it null.
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
        let parsed = try SafetensorsHeaderJSON(json: json)
        metadata = parsed.metadata ?? [:]

        // Each entry's shape against its dtype and offsets, then the buffer's order (the reference
        // sorts by offsets; names, as bytes, break ties so that messages do not depend on hashing).
        var sized: [(name: String, entry: SafetensorsHeaderJSON.Entry)] = []
        for (name, entry) in parsed.entries {
            try Self.checkSize(name, entry)
            sized.append((name, entry))
        }
        sized.sort {
            ($0.entry.begin, $0.entry.end) != ($1.entry.begin, $1.entry.end) ? ($0.entry.begin, $0.entry.end) < ($1.entry.begin, $1.entry.end)
                : $0.name.utf8.lexicographicallyPrecedes($1.name.utf8)
        }

        let bufferSize = UInt64(max(0, fileSize - 8 - json.count))
        var expected: UInt64 = 0
        var previous: String?
        var entries: [Entry] = []
        for (name, entry) in sized {
            if entry.begin < expected, let previous { throw .overlap(tensor: name, other: previous) }
            guard entry.begin == expected else { throw .gap(tensor: name, expectedBegin: expected, actualBegin: entry.begin) }
            guard entry.end <= bufferSize else { throw .dataPastEnd(tensor: name, end: entry.end, bufferSize: bufferSize) }
            // Every dimension fits an Int once checkSize passed; the offsets are within the buffer.
            let info = TensorInfo(name: name, dtype: entry.dtype, shape: entry.shape.map { Int($0) })
            entries.append(Entry(info: info, begin: Int(entry.begin), end: Int(entry.end)))
            expected = entry.end
            previous = name
        }
        guard expected == bufferSize else { throw .trailingBytes(dataEnd: expected, bufferSize: bufferSize) }
        self.entries = entries
    }

    /// The reference's size rule: elements (a checked product, left to right), times the dtype's
    /// bits (checked), must be whole bytes, and as many as `data_offsets` span. One rule of
    /// ckptforget's own: a tensor with no elements must still have dimensions whose non-zero product
    /// times the dtype's bits fits an Int, so that no arithmetic on its shape can overflow.
    private static func checkSize(_ name: String, _ entry: SafetensorsHeaderJSON.Entry) throws(SafetensorsProblem) {
        guard entry.begin <= entry.end else {
            throw .invalidEntry(tensor: name, reason: "data_offsets [\(entry.begin), \(entry.end)] end before they begin")
        }
        let shape = "[\(entry.shape.map(String.init).joined(separator: ", "))]"
        var count: UInt64 = 1
        for dimension in entry.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .invalidEntry(tensor: name, reason: "shape \(shape) has more elements than 2^64") }
            count = product
        }
        let (bits, overflow) = count.multipliedReportingOverflow(by: UInt64(entry.dtype.bits))
        guard !overflow else { throw .invalidEntry(tensor: name, reason: "shape \(shape) of \(entry.dtype.rawValue) has more bits than 2^64") }
        guard bits % 8 == 0 else { throw .partialByte(tensor: name, dtype: entry.dtype.rawValue, count: count) }
        guard bits / 8 == entry.end - entry.begin else {
            throw .lengthMismatch(tensor: name, expected: bits / 8, actual: entry.end - entry.begin)
        }
        if count == 0 {
            var nonZero = UInt64(entry.dtype.bits)
            for dimension in entry.shape where dimension != 0 {
                let (product, overflow) = nonZero.multipliedReportingOverflow(by: dimension)
                guard !overflow, product <= UInt64(Int.max) else { throw .emptyShapeTooLarge(tensor: name, shape: shape) }
                nonZero = product
            }
        }
    }
}

extension SafetensorsHeader {
    /// The entries by name, as a run looks them up. Names are distinct as bytes, but two that are
    /// canonically equivalent (`café` with U+00E9 and with e + U+0301) would be one `String` key here
    /// and in every table a run keeps, so they are refused, naming both (`path` names the file).
    func entriesByName(path: String) throws(CheckpointError) -> [String: Entry] {
        var byName: [String: Entry] = [:]
        for entry in entries {
            if let other = byName[entry.info.name] {
                throw .ambiguousNames(path: path, first: other.info.name, second: entry.info.name)
            }
            byName[entry.info.name] = entry
        }
        return byName
    }
}
