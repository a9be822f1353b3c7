@testable import Checkpoint

/// Zip archives assembled byte by byte for the parser tests, independently of `ZipWriter`: each
/// field can be set to what a damaged or hostile archive would hold.
struct ZipBytes {
    struct Member {
        var name: String
        var content: [UInt8]
        /// What is stored: `content` for method 0, compressed bytes for method 8.
        var stored: [UInt8]
        var method: UInt16 = 0
        var flags: UInt16 = 0
        var crc: UInt32
        var declaredSize: UInt32
        var localName: String?
        var localMethod: UInt16?

        init(_ name: String, _ content: [UInt8]) {
            self.name = name
            self.content = content
            stored = content
            crc = CRC32.of(content)
            declaredSize = UInt32(content.count)
        }

        /// "hello hello hello hello\n", deflated by Python's zlib (level 9, raw).
        static func deflated(_ name: String) -> Member {
            var member = Member(name, Array("hello hello hello hello\n".utf8))
            member.stored = [203, 72, 205, 201, 201, 87, 200, 64, 39, 185, 0]
            member.method = 8
            return member
        }
    }

    var members: [Member]
    /// Change the central directory entries (index, bytes) before they are joined.
    var centralEdit: (Int, inout [UInt8]) -> Void = { _, _ in }
    /// Change the end record before it is appended.
    var endEdit: (inout [UInt8]) -> Void = { _ in }
    /// Change a local header (index, its 30 bytes) before its name and data are appended.
    var localEdit: (Int, inout [UInt8]) -> Void = { _, _ in }
    /// Offsets of local headers, overriding where each really is.
    var offsetOverride: [Int: UInt32] = [:]

    init(_ members: [Member]) { self.members = members }

    var bytes: [UInt8] {
        var out: [UInt8] = []
        var offsets: [Int] = []
        for (index, member) in members.enumerated() {
            offsets.append(out.count)
            let name = Array((member.localName ?? member.name).utf8)
            var header = [UInt8](repeating: 0, count: 30)
            header.put32(0x0403_4B50, at: 0)
            header.put16(20, at: 4)
            header.put16(member.flags, at: 6)
            header.put16(member.localMethod ?? member.method, at: 8)
            header.put16(0x0021, at: 12)
            header.put32(member.crc, at: 14)
            header.put32(UInt32(member.stored.count), at: 18)
            header.put32(member.declaredSize, at: 22)
            header.put16(UInt16(name.count), at: 26)
            localEdit(index, &header)
            out += header + name + member.stored
        }
        let directoryOffset = out.count
        for (index, member) in members.enumerated() {
            let name = Array(member.name.utf8)
            var header = [UInt8](repeating: 0, count: 46)
            header.put32(0x0201_4B50, at: 0)
            header.put16(0x0314, at: 4)
            header.put16(20, at: 6)
            header.put16(member.flags, at: 8)
            header.put16(member.method, at: 10)
            header.put16(0x0021, at: 14)
            header.put32(member.crc, at: 16)
            header.put32(UInt32(member.stored.count), at: 20)
            header.put32(member.declaredSize, at: 24)
            header.put16(UInt16(name.count), at: 28)
            header.put32(offsetOverride[index] ?? UInt32(offsets[index]), at: 42)
            var entry = header + name
            centralEdit(index, &entry)
            out += entry
        }
        var end = [UInt8](repeating: 0, count: 22)
        end.put32(0x0605_4B50, at: 0)
        end.put16(UInt16(members.count), at: 8)
        end.put16(UInt16(members.count), at: 10)
        end.put32(UInt32(out.count - directoryOffset), at: 12)
        end.put32(UInt32(directoryOffset), at: 16)
        endEdit(&end)
        return out + end
    }
}
