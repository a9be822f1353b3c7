/// Writes a zip archive of stored members, deterministically: every member is dated 1980-01-01
/// 00:00 (the earliest DOS date; no clock), carries its CRC and sizes in its local header (no data
/// descriptors), and may have its data aligned (torch aligns storages to 64 bytes with an `FB`
/// extra field of padding, as torch's own writer does). Zip64 fields and end records are written
/// only where sizes, offsets or the member count need them.
final class ZipWriter {
    /// DOS date 1980-01-01 (day 1, month 1, year 0 since 1980) and time 00:00:00.
    static let dosDate: UInt16 = 0x0021, dosTime: UInt16 = 0
    /// torch's padding extra field id, the bytes "FB".
    static let paddingID: UInt16 = 0x4246

    private struct Record {
        let name: [UInt8], crc: UInt32, size: Int, offset: Int
    }

    /// A member whose local header was written before its size and CRC were known.
    struct Pending {
        let name: [UInt8], headerOffset: Int, dataOffset: Int
        /// The alignment padding after the reserved field, kept as written.
        let alignmentPadding: [UInt8]
    }

    let out: FileBytes
    /// Data offsets are multiples of this (1: no alignment).
    let alignment: Int
    /// Where the next local header goes.
    var position: Int { out.position }
    private var records: [Record] = []

    init(out: FileBytes, alignment: Int = 1) {
        self.out = out
        self.alignment = alignment
    }

    /// Writes a member of `size` bytes whose CRC is `crc`: the local header, then `body`, which
    /// must write exactly `size` bytes through `out`.
    func add(_ name: String, size: Int, crc: UInt32, body: () throws -> Void) throws {
        let nameBytes = Array(name.utf8)
        let offset = position
        let needsZip64 = size >= 0xFFFF_FFFF
        var extra = needsZip64 ? Self.zip64Extra([UInt64(size), UInt64(size)]) : []
        extra += padding(dataStart: offset + 30 + nameBytes.count + extra.count)
        try write(localHeader(name: nameBytes, crc: crc, size: size, extraLength: extra.count) + nameBytes + extra)
        let before = position
        try body()
        guard position - before == size else {
            throw CheckpointError.writeFailed(path: out.path, reason: "member \(name): \(position - before) bytes written, \(size) declared")
        }
        records.append(Record(name: nameBytes, crc: crc, size: size, offset: offset))
    }

    /// Writes a local header for a member whose content someone else (libhdf5) writes from
    /// `dataOffset` on; `finish(_:size:crc:)` then fills in its size and CRC. Room for a zip64
    /// field is kept as an `FB` padding field, so the header's length does not depend on the size.
    func begin(_ name: String) throws -> Pending {
        let nameBytes = Array(name.utf8)
        let offset = position
        let reserved = Self.paddingExtra(count: 16)
        let alignmentPadding = padding(dataStart: offset + 30 + nameBytes.count + reserved.count)
        let extra = reserved + alignmentPadding
        try write(localHeader(name: nameBytes, crc: 0, size: 0, extraLength: extra.count) + nameBytes + extra)
        return Pending(name: nameBytes, headerOffset: offset, dataOffset: position, alignmentPadding: alignmentPadding)
    }

    /// Completes a member begun with `begin`: its `size` bytes are in the file after the header,
    /// and the next member goes after them.
    func finish(_ pending: Pending, size: Int, crc: UInt32) throws {
        let reserved = size >= 0xFFFF_FFFF ? Self.zip64Extra([UInt64(size), UInt64(size)]) : Self.paddingExtra(count: 16)
        let extra = reserved + pending.alignmentPadding
        let header = localHeader(name: pending.name, crc: crc, size: size, extraLength: extra.count) + pending.name + extra
        precondition(pending.headerOffset + header.count == pending.dataOffset, "the reserved header changed length")
        try out.write(header, at: pending.headerOffset)
        try out.seek(to: pending.dataOffset + size)
        records.append(Record(name: pending.name, crc: crc, size: size, offset: pending.headerOffset))
    }

    /// Writes the central directory and the end records.
    func close() throws {
        let directoryOffset = position
        var directory: [UInt8] = []
        for record in records {
            let zip64Size = record.size >= 0xFFFF_FFFF, zip64Offset = record.offset >= 0xFFFF_FFFF
            var values: [UInt64] = []
            if zip64Size { values += [UInt64(record.size), UInt64(record.size)] }
            if zip64Offset { values.append(UInt64(record.offset)) }
            let extra = values.isEmpty ? [] : Self.zip64Extra(values)
            let version: UInt16 = values.isEmpty ? 20 : 45
            var header = [UInt8](repeating: 0, count: 46)
            header.put32(0x0201_4B50, at: 0)
            header.put16(0x0300 | version, at: 4)  // made by: Unix, this version
            header.put16(version, at: 6)
            header.put16(Self.flags(record.name), at: 8)
            header.put16(0, at: 10)  // stored
            header.put16(Self.dosTime, at: 12)
            header.put16(Self.dosDate, at: 14)
            header.put32(record.crc, at: 16)
            header.put32(zip64Size ? 0xFFFF_FFFF : UInt32(record.size), at: 20)
            header.put32(zip64Size ? 0xFFFF_FFFF : UInt32(record.size), at: 24)
            header.put16(UInt16(record.name.count), at: 28)
            header.put16(UInt16(extra.count), at: 30)
            header.put32(0o100644 << 16, at: 38)  // a regular file, rw-r--r--
            header.put32(zip64Offset ? 0xFFFF_FFFF : UInt32(record.offset), at: 42)
            directory += header + record.name + extra
        }
        try write(directory)
        let directorySize = directory.count
        let needsZip64 = records.count >= 0xFFFF || directoryOffset >= 0xFFFF_FFFF || directorySize >= 0xFFFF_FFFF
        if needsZip64 {
            let recordOffset = position
            var record = [UInt8](repeating: 0, count: 56)
            record.put32(0x0606_4B50, at: 0)
            record.put64(44, at: 4)
            record.put16(0x0300 | 45, at: 12)
            record.put16(45, at: 14)
            record.put64(UInt64(records.count), at: 24)
            record.put64(UInt64(records.count), at: 32)
            record.put64(UInt64(directorySize), at: 40)
            record.put64(UInt64(directoryOffset), at: 48)
            var locator = [UInt8](repeating: 0, count: 20)
            locator.put32(0x0706_4B50, at: 0)
            locator.put64(UInt64(recordOffset), at: 8)
            locator.put32(1, at: 16)
            try write(record + locator)
        }
        var end = [UInt8](repeating: 0, count: 22)
        end.put32(0x0605_4B50, at: 0)
        end.put16(needsZip64 ? 0xFFFF : UInt16(records.count), at: 8)
        end.put16(needsZip64 ? 0xFFFF : UInt16(records.count), at: 10)
        end.put32(needsZip64 ? 0xFFFF_FFFF : UInt32(directorySize), at: 12)
        end.put32(needsZip64 ? 0xFFFF_FFFF : UInt32(directoryOffset), at: 16)
        try write(end)
    }

    // MARK: Pieces

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try out.write($0) }
    }

    /// A local header: sizes in it, or all ones with the sizes in a zip64 field.
    private func localHeader(name: [UInt8], crc: UInt32, size: Int, extraLength: Int) -> [UInt8] {
        let zip64 = size >= 0xFFFF_FFFF
        let size = zip64 ? 0xFFFF_FFFF : UInt32(size)
        var header = [UInt8](repeating: 0, count: 30)
        header.put32(0x0403_4B50, at: 0)
        header.put16(zip64 ? 45 : 20, at: 4)
        header.put16(Self.flags(name), at: 6)
        header.put16(0, at: 8)  // stored
        header.put16(Self.dosTime, at: 10)
        header.put16(Self.dosDate, at: 12)
        header.put32(crc, at: 14)
        header.put32(size, at: 18)
        header.put32(size, at: 22)
        header.put16(UInt16(name.count), at: 26)
        header.put16(UInt16(extraLength), at: 28)
        return header
    }

    /// Bit 11 (names are UTF-8) where a name is not plain ASCII.
    private static func flags(_ name: [UInt8]) -> UInt16 { name.contains { $0 >= 0x80 } ? 0x0800 : 0 }

    /// An `FB` extra field that brings data starting at `dataStart` (without it) to the alignment;
    /// empty when no alignment is asked for.
    private func padding(dataStart: Int) -> [UInt8] {
        guard alignment > 1 else { return [] }
        let start = dataStart + 4
        let count = (alignment - start % alignment) % alignment
        return Self.paddingExtra(count: count)
    }

    static func paddingExtra(count: Int) -> [UInt8] {
        var field: [UInt8] = [0, 0, 0, 0] + Array(repeating: UInt8(ascii: "Z"), count: count)
        field.put16(paddingID, at: 0)
        field.put16(UInt16(count), at: 2)
        return field
    }

    static func zip64Extra(_ values: [UInt64]) -> [UInt8] {
        var field = [UInt8](repeating: 0, count: 4 + 8 * values.count)
        field.put16(0x0001, at: 0)
        field.put16(UInt16(8 * values.count), at: 2)
        for (index, value) in values.enumerated() { field.put64(value, at: 4 + 8 * index) }
        return field
    }
}

extension Array where Element == UInt8 {
    mutating func put16(_ value: UInt16, at offset: Int) {
        for i in 0..<2 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt16(i))) }
    }

    mutating func put32(_ value: UInt32, at offset: Int) {
        for i in 0..<4 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }

    mutating func put64(_ value: UInt64, at offset: Int) {
        for i in 0..<8 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }
}
