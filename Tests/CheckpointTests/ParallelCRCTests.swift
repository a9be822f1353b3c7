import Testing
@testable import Checkpoint

/// `ParallelCRC.of(_:)`: the CRC-32 of bytes in memory, computed in parts and joined, is the CRC of
/// the whole, for every length around the parts' edges.
@Suite struct ParallelCRCTests {
    @Test func theCheckValueOfTheStandard() {
        // CRC-32/ISO-HDLC's check value: the CRC of the ASCII digits "123456789".
        #expect(Array("123456789".utf8).withUnsafeBytes { ParallelCRC.of($0) } == 0xCBF4_3926)
        #expect([UInt8]().withUnsafeBytes { ParallelCRC.of($0) } == 0)
    }

    @Test(arguments: [ParallelCRC.minimumPart * 2 - 1, ParallelCRC.minimumPart * 2, ParallelCRC.minimumPart * 3 + 7, ParallelCRC.minimumPart * 9 + 1])
    func partsJoinedAreTheCRCOfTheWhole(count: Int) {
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 11) }
        var serial = CRC32()
        serial.update(bytes)  // zlib over the whole, in one call
        #expect(bytes.withUnsafeBytes { ParallelCRC.of($0) } == serial.value)
    }
}
