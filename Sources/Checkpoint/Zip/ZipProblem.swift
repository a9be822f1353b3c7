/// One case per rule a zip archive must satisfy (`.keras` archives and `torch.save` files are zips).
/// Each names the member where there is one, and what was expected.
public enum ZipProblem: Error, Equatable, CustomStringConvertible, Sendable {
    case tooShort(size: Int)
    /// No end-of-central-directory record whose comment reaches exactly to the end of the file.
    case noEndRecord
    case multiDisk
    /// The zip64 locator points outside the file or not at a zip64 end record.
    case badZip64Record(reason: String)
    /// The central directory is not where the end record says, within the file, ending where the end records begin.
    case directoryOutsideFile(offset: UInt64, size: UInt64, end: Int)
    case directoryTooLarge(size: Int, limit: Int)
    /// The directory holds fewer or more entries than the end record declares.
    case entryCount(declared: UInt64, found: Int)
    case badCentralHeader(index: Int, reason: String)
    case badName(name: String, reason: String)
    case duplicateName(String)
    case encrypted(member: String)
    case unsupportedMethod(member: String, method: UInt16)
    case missingZip64Field(member: String, field: String)
    case badLocalHeader(member: String, reason: String)
    /// The local header's CRC-32 or a size differs from the central directory's (and is not the zero
    /// a data descriptor allows).
    case localHeaderDisagrees(member: String, field: String, local: UInt64, central: UInt64)
    case dataOutsideArchive(member: String, end: UInt64, limit: Int)
    case overlap(member: String, other: String)
    /// A stored member whose compressed and uncompressed sizes differ.
    case storedSizeMismatch(member: String, compressed: Int, uncompressed: Int)
    case compressionRatio(member: String, compressed: Int, uncompressed: Int, limit: Int)
    /// The deflated members together grow more than the ratio from their compressed bytes.
    case totalCompressionRatio(members: Int, compressed: Int, uncompressed: Int, limit: Int)
    /// The deflated members together declare more content than the limit.
    case inflatedTotal(members: Int, size: UInt64, limit: Int)
    case crcMismatch(member: String, expected: UInt32, actual: UInt32)
    case inflate(member: String, reason: String)
    /// Compressed bytes left after the deflate stream ends (padding that no reader inflates).
    case bytesAfterDeflateStream(member: String, count: Int)
    case memberTooLarge(member: String, size: Int, limit: Int)

    public var description: String {
        switch self {
        case .tooShort(let size):
            "\(size) bytes is too short for a zip archive (an end record alone takes 22)"
        case .noEndRecord:
            "no zip end-of-central-directory record at the end of the file (truncated, or bytes appended after it)"
        case .multiDisk:
            "a multi-disk (spanned) zip archive; expected a single file"
        case .badZip64Record(let reason):
            "zip64 end record: \(reason)"
        case .directoryOutsideFile(let offset, let size, let end):
            "the central directory (\(size) bytes at offset \(offset)) does not end where the end record begins (byte \(end)); truncated, or data prepended to the archive"
        case .directoryTooLarge(let size, let limit):
            "the central directory takes \(size) bytes, more than the \(limit) read"
        case .entryCount(let declared, let found):
            "the end record declares \(declared) members, the central directory holds \(found)"
        case .badCentralHeader(let index, let reason):
            "central directory entry \(index): \(reason)"
        case .badName(let name, let reason):
            "member name '\(name)': \(reason)"
        case .duplicateName(let name):
            "member '\(name)' appears twice"
        case .encrypted(let member):
            "member '\(member)' is encrypted"
        case .unsupportedMethod(let member, let method):
            "member '\(member)' uses compression method \(method); expected 0 (stored) or 8 (deflated)"
        case .missingZip64Field(let member, let field):
            "member '\(member)': its \(field) is in a zip64 extra field that is missing or too short"
        case .badLocalHeader(let member, let reason):
            "member '\(member)': local header \(reason)"
        case .localHeaderDisagrees(let member, let field, let local, let central):
            "member '\(member)': its local header's \(field) is \(field == "CRC-32" ? hex(UInt32(truncatingIfNeeded: local)) : String(local)), the central directory's \(field == "CRC-32" ? hex(UInt32(truncatingIfNeeded: central)) : String(central)) (a tampered or damaged archive: readers that trust either would see different members)"
        case .dataOutsideArchive(let member, let end, let limit):
            "member '\(member)': its data ends at byte \(end), past the start of the central directory (byte \(limit))"
        case .overlap(let member, let other):
            "member '\(member)' overlaps member '\(other)' (overlapping members are a zip bomb's trick)"
        case .storedSizeMismatch(let member, let compressed, let uncompressed):
            "stored member '\(member)' declares \(compressed) bytes stored but \(uncompressed) bytes of content"
        case .compressionRatio(let member, let compressed, let uncompressed, let limit):
            "member '\(member)' declares \(uncompressed) bytes from \(compressed) compressed, a ratio over \(limit):1 (a zip bomb?)"
        case .totalCompressionRatio(let members, let compressed, let uncompressed, let limit):
            "its \(members) deflated members together declare \(uncompressed) bytes from \(compressed) compressed, a ratio over \(limit):1 (a zip bomb of many small members?)"
        case .inflatedTotal(let members, let size, let limit):
            "its \(members) deflated members together declare \(size == UInt64.max ? "more than can be addressed" : "\(size) bytes"), more than the \(limit) a checkpoint archive inflates to (a zip bomb?)"
        case .crcMismatch(let member, let expected, let actual):
            "member '\(member)': CRC-32 is \(hex(actual)), the archive says \(hex(expected)) (damaged: its bytes changed after it was written)"
        case .inflate(let member, let reason):
            "member '\(member)': cannot inflate: \(reason)"
        case .bytesAfterDeflateStream(let member, let count):
            "member '\(member)': \(count) compressed bytes follow the end of its deflate stream (zip writers leave none; bytes hidden after the data?)"
        case .memberTooLarge(let member, let size, let limit):
            "member '\(member)' is \(size) bytes, more than the \(limit) expected of it"
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
