/// One member of a zip archive, as the central directory and its local header describe it.
public struct ZipEntry: Sendable, Equatable {
    public let name: String
    /// 0 stored, 8 deflated.
    public let method: UInt16
    public let flags: UInt16
    public let crc32: UInt32
    public let compressedSize: Int
    /// Bytes of content (after inflating).
    public let size: Int
    public let localHeaderOffset: Int
    /// Where the stored or compressed bytes begin (after the local header's name and extra field).
    public let dataOffset: Int

    public var isStored: Bool { method == 0 }
    /// Where the stored or compressed bytes end.
    public var dataEnd: Int { dataOffset + compressedSize }
}

/// A zip archive read through its central directory with checked arithmetic (`ZipProblem` names
/// each rule): the directory lies within the file and ends where the end records begin; every
/// member's name is a relative path without `..`, `.`, empty components or backslashes; its local
/// header agrees with the directory (name, method, CRC-32 and sizes); members lie before the directory and do not overlap; members
/// are stored or deflated, unencrypted; zip64 fields are read where the sizes need them. Contents
/// are read at offsets, never the whole archive, and every CRC is checked as a member is read.
final class ZipArchive {
    static let endRecordSize = 22
    static let maximumComment = 65_535
    /// The central directory is read into memory: a directory of 64 MiB is ~500,000 members.
    static let maximumDirectory = 64 << 20
    /// Larger inflated members may not grow more than this from their compressed size.
    static let maximumRatio = 100
    static let ratioFloor = 1 << 20
    /// All deflated members together may not inflate to more than this, nor (past `ratioFloor`)
    /// grow more than `maximumRatio` from their compressed bytes together: many members each under
    /// the floor would otherwise pass one by one. Keras and torch store their members (no
    /// deflate), so a real archive inflates next to nothing.
    static let maximumInflatedTotal = 1 << 30

    let path: String
    let file: FileBytes
    /// Members in the order of their local headers in the file (the order they were written).
    let entries: [ZipEntry]
    /// Where the central directory begins (every member's data ends before it).
    let directoryOffset: Int
    private let indexOfName: [String: Int]

    /// Opens and validates `path`; a rule broken is thrown as `CheckpointError.zip` naming it.
    convenience init(path: String) throws {
        try self.init(path: path, file: try FileBytes(reading: path))
    }

    /// Validates the archive in `file` (opened by the caller as `path`): a rule broken is thrown as
    /// `CheckpointError.zip` naming `path`, here only; I/O errors as they come.
    init(path: String, file: FileBytes) throws {
        self.path = path
        self.file = file
        do {
            (entries, directoryOffset) = try Self.validate(file)
        } catch let problem as ZipProblem {
            throw CheckpointError.zip(path: path, problem)
        }
        indexOfName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    /// The members in file order and where the directory begins; throws `ZipProblem` for a rule broken.
    private static func validate(_ file: FileBytes) throws -> (entries: [ZipEntry], directoryOffset: Int) {
        let size = file.size
        guard size >= Self.endRecordSize else { throw ZipProblem.tooShort(size: size) }
        let directory = try locateDirectory(in: file, size: size)
        guard directory.size <= Self.maximumDirectory else {
            throw ZipProblem.directoryTooLarge(size: directory.size, limit: Self.maximumDirectory)
        }
        let bytes = try file.read(count: directory.size, at: directory.offset)
        var entries: [ZipEntry] = []
        var position = 0
        var names: [String: Int] = [:]
        while position < bytes.count {
            guard UInt64(entries.count) < directory.count else { throw ZipProblem.entryCount(declared: directory.count, found: entries.count + 1) }
            let (central, next) = try centralEntry(bytes, at: position, index: entries.count)
            guard names[central.name] == nil else { throw ZipProblem.duplicateName(central.name) }
            names[central.name] = entries.count
            entries.append(try withLocalHeader(central, file: file, directoryOffset: directory.offset))
            position = next
        }
        guard UInt64(entries.count) == directory.count else { throw ZipProblem.entryCount(declared: directory.count, found: entries.count) }
        try checkInflatedTotal(entries)
        entries.sort { $0.localHeaderOffset < $1.localHeaderOffset }
        for (a, b) in zip(entries, entries.dropFirst()) where a.dataEnd > b.localHeaderOffset {
            throw ZipProblem.overlap(member: b.name, other: a.name)
        }
        return (entries, directory.offset)
    }

    func entry(named name: String) -> ZipEntry? { indexOfName[name].map { entries[$0] } }

    /// About the bytes of a copy with every member stored (as `ZipWriter` writes it): each member's
    /// content — inflated, for a deflated one — and its headers, padding and zip64 fields, and the
    /// end records. The free-space check uses it: a deflated member takes more room in the copy.
    func storedCopySize(alignment: Int) -> Int {
        entries.reduce(22 + 56 + 20) { total, entry in  // sizes checked together at open: no overflow
            total + entry.size + 2 * entry.name.utf8.count + 30 + 46 + 2 * 20 + 16 + alignment
        }
    }

    /// The deflated members together: their declared sizes, summed with checked arithmetic, within
    /// the ratio and the absolute limit.
    private static func checkInflatedTotal(_ entries: [ZipEntry]) throws {
        var inflated = 0, compressed = 0, all = 0, members = 0
        for entry in entries {
            let (sum, overflow) = all.addingReportingOverflow(entry.size)
            guard !overflow, sum < Int.max / 2 else { throw ZipProblem.inflatedTotal(members: entries.count, size: UInt64.max, limit: maximumInflatedTotal) }
            all = sum
            guard !entry.isStored else { continue }
            inflated += entry.size  // at most `all`
            compressed += entry.compressedSize
            members += 1
        }
        guard inflated <= maximumInflatedTotal else {
            throw ZipProblem.inflatedTotal(members: members, size: UInt64(inflated), limit: maximumInflatedTotal)
        }
        if inflated > ratioFloor, inflated / max(compressed, 1) > maximumRatio {
            throw ZipProblem.totalCompressionRatio(members: members, compressed: compressed, uncompressed: inflated, limit: maximumRatio)
        }
    }

    // MARK: The end records

    private struct Directory { let offset: Int; let size: Int; let count: UInt64 }

    /// Finds the end record (the last one whose comment reaches exactly to the end of the file),
    /// follows a zip64 locator if there is one, and checks that the directory ends where they begin.
    private static func locateDirectory(in file: FileBytes, size: Int) throws -> Directory {
        let tailCount = min(size, endRecordSize + maximumComment)
        let tailStart = size - tailCount
        let tail = try file.read(count: tailCount, at: tailStart)
        var found: Int?
        var candidate = tailCount - endRecordSize
        while candidate >= 0 {
            if tail.le32(at: candidate) == 0x0605_4B50, let comment = tail.le16(at: candidate + 20),
               candidate + endRecordSize + Int(comment) == tailCount {
                found = candidate
                break
            }
            candidate -= 1
        }
        guard let end = found else { throw ZipProblem.noEndRecord }
        let endOffset = tailStart + end
        guard tail.le16(at: end + 4) == 0, tail.le16(at: end + 6) == 0 else { throw ZipProblem.multiDisk }
        var count = UInt64(tail.le16(at: end + 10)!)
        var directorySize = UInt64(tail.le32(at: end + 12)!)
        var directoryOffset = UInt64(tail.le32(at: end + 16)!)
        var directoryEnd = endOffset

        // A zip64 locator sits just before the end record: its end record holds the real values.
        if endOffset >= 20 {
            let locator = try file.read(count: 20, at: endOffset - 20)
            if locator.le32(at: 0) == 0x0706_4B50 {
                guard locator.le32(at: 4) == 0, locator.le32(at: 16) == 1 else { throw ZipProblem.multiDisk }
                let recordOffset = locator.le64(at: 8)!
                guard let record = Int(exactly: recordOffset), record <= endOffset - 20 - 56 else {
                    throw ZipProblem.badZip64Record(reason: "its offset \(recordOffset) is not before the locator (byte \(endOffset - 20))")
                }
                let zip64 = try file.read(count: 56, at: record)
                guard zip64.le32(at: 0) == 0x0606_4B50 else {
                    throw ZipProblem.badZip64Record(reason: "no zip64 end record signature at byte \(record)")
                }
                let recordSize = zip64.le64(at: 4)!
                guard recordSize >= 44, recordSize <= UInt64(endOffset - 20 - record - 12) else {
                    throw ZipProblem.badZip64Record(reason: "its size \(recordSize) does not end before the locator")
                }
                guard zip64.le32(at: 16) == 0, zip64.le32(at: 20) == 0 else { throw ZipProblem.multiDisk }
                count = zip64.le64(at: 32)!
                directorySize = zip64.le64(at: 40)!
                directoryOffset = zip64.le64(at: 48)!
                directoryEnd = record
            }
        }
        let (directoryStop, overflow) = directoryOffset.addingReportingOverflow(directorySize)
        guard !overflow, directoryStop == UInt64(directoryEnd), let offset = Int(exactly: directoryOffset), let length = Int(exactly: directorySize) else {
            throw ZipProblem.directoryOutsideFile(offset: directoryOffset, size: directorySize, end: directoryEnd)
        }
        // Every entry takes at least 46 bytes: a count the directory cannot hold is refused before parsing.
        guard count <= directorySize / 46 else { throw ZipProblem.entryCount(declared: count, found: Int(directorySize / 46)) }
        return Directory(offset: offset, size: length, count: count)
    }

    // MARK: Central directory entries

    private struct Central {
        let name: String, nameBytes: [UInt8], method: UInt16, flags: UInt16, crc32: UInt32
        let compressedSize: Int, size: Int, localHeaderOffset: Int
    }

    private static func centralEntry(_ bytes: [UInt8], at start: Int, index: Int) throws -> (Central, next: Int) {
        guard bytes.le32(at: start) == 0x0201_4B50 else {
            throw ZipProblem.badCentralHeader(index: index, reason: "no central directory signature at directory byte \(start)")
        }
        guard start + 46 <= bytes.count else { throw ZipProblem.badCentralHeader(index: index, reason: "truncated (46 bytes needed)") }
        let flags = bytes.le16(at: start + 8)!, method = bytes.le16(at: start + 10)!
        let crc = bytes.le32(at: start + 16)!
        var compressed = UInt64(bytes.le32(at: start + 20)!), size = UInt64(bytes.le32(at: start + 24)!)
        let nameLength = Int(bytes.le16(at: start + 28)!), extraLength = Int(bytes.le16(at: start + 30)!)
        let commentLength = Int(bytes.le16(at: start + 32)!)
        let disk = bytes.le16(at: start + 34)!
        var offset = UInt64(bytes.le32(at: start + 42)!)
        let nameStart = start + 46, extraStart = nameStart + nameLength, next = extraStart + extraLength + commentLength
        guard next <= bytes.count else {
            throw ZipProblem.badCentralHeader(index: index, reason: "its name, extra field and comment (\(nameLength + extraLength + commentLength) bytes) run past the directory")
        }
        let nameBytes = Array(bytes[nameStart..<extraStart])
        let name = try checkedName(nameBytes)
        guard flags & 0x0041 == 0 else { throw ZipProblem.encrypted(member: name) }
        guard method == 0 || method == 8 else { throw ZipProblem.unsupportedMethod(member: name, method: method) }

        // zip64: each 32-bit field that is all ones is in the 0x0001 extra field, in this order.
        if size == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF || offset == 0xFFFF_FFFF || disk == 0xFFFF {
            let extra = Array(bytes[extraStart..<(extraStart + extraLength)])
            var fields = zip64Fields(extra)
            func take(_ field: String) throws -> UInt64 {
                guard let value = fields.first else { throw ZipProblem.missingZip64Field(member: name, field: field) }
                fields.removeFirst()
                return value
            }
            if size == 0xFFFF_FFFF { size = try take("size") }
            if compressed == 0xFFFF_FFFF { compressed = try take("compressed size") }
            if offset == 0xFFFF_FFFF { offset = try take("local header offset") }
        }
        guard disk == 0 || disk == 0xFFFF else { throw ZipProblem.multiDisk }
        guard let compressedSize = Int(exactly: compressed), let contentSize = Int(exactly: size), let headerOffset = Int(exactly: offset),
              compressedSize < Int.max / 2, contentSize < Int.max / 2, headerOffset < Int.max / 2 else {
            throw ZipProblem.badCentralHeader(index: index, reason: "sizes or offset too large to address")
        }
        if method == 0, compressedSize != contentSize {
            throw ZipProblem.storedSizeMismatch(member: name, compressed: compressedSize, uncompressed: contentSize)
        }
        if method == 8, contentSize > ratioFloor, contentSize / max(compressedSize, 1) > maximumRatio {
            throw ZipProblem.compressionRatio(member: name, compressed: compressedSize, uncompressed: contentSize, limit: maximumRatio)
        }
        return (Central(name: name, nameBytes: nameBytes, method: method, flags: flags, crc32: crc, compressedSize: compressedSize,
                        size: contentSize, localHeaderOffset: headerOffset), next)
    }

    /// The 64-bit values of a zip64 extra field (id 0x0001), in order; empty if there is none.
    private static func zip64Fields(_ extra: [UInt8]) -> [UInt64] {
        var position = 0
        while position + 4 <= extra.count {
            let id = extra.le16(at: position)!, length = Int(extra.le16(at: position + 2)!)
            let data = position + 4
            guard data + length <= extra.count else { return [] }
            if id == 0x0001 {
                return stride(from: data, to: data + length - 7, by: 8).map { extra.le64(at: $0)! }
            }
            position = data + length
        }
        return []
    }

    /// A member name as UTF-8 text: a relative path whose components are neither empty, `.` nor `..`,
    /// without backslashes or NUL. Nothing is ever extracted by name; this keeps names unambiguous.
    static func checkedName(_ bytes: [UInt8]) throws(ZipProblem) -> String {
        guard let name = String(validating: bytes, as: UTF8.self) else {
            throw .badName(name: String(decoding: bytes, as: UTF8.self), reason: "not valid UTF-8")
        }
        guard !name.isEmpty else { throw .badName(name: name, reason: "empty") }
        if name.utf8.contains(0) { throw .badName(name: name, reason: "holds a NUL byte") }
        if name.contains("\\") { throw .badName(name: name, reason: "holds a backslash (a Windows path separator)") }
        if name.hasPrefix("/") { throw .badName(name: name, reason: "is an absolute path") }
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        if components.contains(where: { $0 == ".." }) { throw .badName(name: name, reason: "climbs out with '..'") }
        if components.contains(where: { $0.isEmpty || $0 == "." }) {
            throw .badName(name: name, reason: "has an empty or '.' component (a directory entry?)")
        }
        return name
    }

    /// Reads the member's local header and checks it against the directory: signature, name and
    /// method agree, and the data lies before the central directory.
    private static func withLocalHeader(_ central: Central, file: FileBytes, directoryOffset: Int) throws -> ZipEntry {
        let name = central.name
        guard central.localHeaderOffset <= directoryOffset - 30 else {
            throw ZipProblem.badLocalHeader(member: name, reason: "offset \(central.localHeaderOffset) is not before the central directory (byte \(directoryOffset))")
        }
        let header = try file.read(count: 30, at: central.localHeaderOffset)
        guard header.le32(at: 0) == 0x0403_4B50 else {
            throw ZipProblem.badLocalHeader(member: name, reason: "signature missing at byte \(central.localHeaderOffset)")
        }
        guard header.le16(at: 8) == central.method else {
            throw ZipProblem.badLocalHeader(member: name, reason: "says method \(header.le16(at: 8)!), the central directory \(central.method)")
        }
        let nameLength = Int(header.le16(at: 26)!), extraLength = Int(header.le16(at: 28)!)
        let dataOffset = central.localHeaderOffset + 30 + nameLength + extraLength
        guard dataOffset <= directoryOffset else {
            throw ZipProblem.badLocalHeader(member: name, reason: "name and extra field run into the central directory")
        }
        let nameAndExtra = try file.read(count: nameLength + extraLength, at: central.localHeaderOffset + 30)
        guard Array(nameAndExtra[0..<nameLength]) == central.nameBytes else {
            throw ZipProblem.badLocalHeader(member: name, reason: "names another member")
        }
        let (end, overflow) = dataOffset.addingReportingOverflow(central.compressedSize)
        guard !overflow, end <= directoryOffset else {
            throw ZipProblem.dataOutsideArchive(member: name, end: UInt64(dataOffset) + UInt64(central.compressedSize), limit: directoryOffset)
        }
        try checkLocalFields(header, extra: Array(nameAndExtra[nameLength...]), against: central)
        return ZipEntry(name: name, method: central.method, flags: central.flags, crc32: central.crc32, compressedSize: central.compressedSize,
                        size: central.size, localHeaderOffset: central.localHeaderOffset, dataOffset: dataOffset)
    }

    /// The local header's CRC-32 and sizes must be the directory's: a reader that trusts the local
    /// header (a streaming unzip) would otherwise see another member than this reader checks. With
    /// flag bit 3 (a data descriptor follows the data) they may be zero instead, as torch writes
    /// them; all-ones sizes are in the local zip64 extra field (size, then compressed size).
    private static func checkLocalFields(_ header: [UInt8], extra: [UInt8], against central: Central) throws {
        let flags = header.le16(at: 6)!, crc = header.le32(at: 14)!
        var compressed = UInt64(header.le32(at: 18)!), size = UInt64(header.le32(at: 22)!)
        if size == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF {
            var fields = zip64Fields(extra)
            func take(_ field: String) throws -> UInt64 {
                guard let value = fields.first else { throw ZipProblem.badLocalHeader(member: central.name, reason: "its \(field) is in a zip64 extra field that is missing or too short") }
                fields.removeFirst()
                return value
            }
            if size == 0xFFFF_FFFF { size = try take("size") }
            if compressed == 0xFFFF_FFFF { compressed = try take("compressed size") }
        }
        let deferred = flags & 0x0008 != 0
        for (field, local, expected) in [("CRC-32", UInt64(crc), UInt64(central.crc32)),
                                         ("compressed size", compressed, UInt64(central.compressedSize)),
                                         ("size", size, UInt64(central.size))]
        where local != expected && !(deferred && local == 0) {
            throw ZipProblem.localHeaderDisagrees(member: central.name, field: field, local: local, central: expected)
        }
    }
}

extension Array where Element == UInt8 {
    /// Little-endian integers at `offset`, or nil when they do not fit in the array.
    func le16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset <= count - 2 else { return nil }
        return UInt16(self[offset]) | UInt16(self[offset + 1]) << 8
    }

    func le32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset <= count - 4 else { return nil }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(self[offset + $1]) << (8 * UInt32($1)) }
    }

    func le64(at offset: Int) -> UInt64? {
        guard offset >= 0, offset <= count - 8 else { return nil }
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(self[offset + $1]) << (8 * UInt64($1)) }
    }
}
