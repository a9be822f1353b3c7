import Foundation
import Testing
@testable import Checkpoint

/// One test per rule of the safetensors header, each built from bytes.
@Suite struct SafetensorsHeaderTests {
    /// Writes `bytes` to a file and opens it; returns the problem it was rejected for, if any.
    private func problem(_ bytes: [UInt8]) throws -> SafetensorsProblem? {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/case.safetensors"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            _ = try SafetensorsFile(path: path)
            return nil
        } catch let CheckpointError.safetensors(errorPath, problem) {
            #expect(errorPath == path)
            return problem
        }
    }

    private let good = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2,1],"data_offsets":[8,12]}}"#

    @Test func acceptsAWellFormedFile() throws {
        #expect(try problem(Fixture.safetensors(header: good, dataBytes: 12)) == nil)
    }

    @Test func rejectsAFileShorterThanTheLengthField() throws {
        #expect(try problem([1, 0, 0]) == .tooShort(size: 3))
    }

    @Test func rejectsAHeaderOverTheLimit() throws {
        #expect(try problem(Fixture.safetensors(header: good, dataBytes: 12, lengthOverride: 100_000_001)) == .headerTooLarge(length: 100_000_001))
    }

    @Test func rejectsAHeaderLengthPastTheEnd() throws {
        let bytes = Fixture.safetensors(header: good, dataBytes: 0, lengthOverride: 5000)
        #expect(try problem(bytes) == .headerPastEnd(length: 5000, fileSize: bytes.count))
    }

    @Test func rejectsAHeaderThatIsNotAnObject() throws {
        #expect(try problem(Fixture.safetensors(header: "[1,2]", dataBytes: 0)) == .headerNotObject)
    }

    @Test func rejectsBadJSON() throws {
        guard case .invalidJSON = try problem(Fixture.safetensors(header: #"{"a": {"dtype": "F32",}"#, dataBytes: 0)) else {
            Issue.record("expected invalidJSON")
            return
        }
    }

    @Test func rejectsAnUnknownDType() throws {
        let header = #"{"a":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}}"#
        #expect(try problem(Fixture.safetensors(header: header, dataBytes: 4)) == .unknownDType(tensor: "a", dtype: "F12"))
    }

    @Test func rejectsAShapeThatDisagreesWithTheOffsets() throws {
        let header = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        #expect(try problem(Fixture.safetensors(header: header, dataBytes: 8)) == .lengthMismatch(tensor: "a", expected: 12, actual: 8))
    }

    @Test func rejectsOverlappingOffsets() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        #expect(try problem(Fixture.safetensors(header: header, dataBytes: 8)) == .overlap(tensor: "b", other: "a"))
    }

    @Test func rejectsAGapBetweenTensors() throws {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        #expect(try problem(Fixture.safetensors(header: header, dataBytes: 12)) == .gap(tensor: "b", expectedBegin: 4, actualBegin: 8))
    }

    @Test func rejectsDataPastTheEndOfATruncatedFile() throws {
        #expect(try problem(Fixture.safetensors(header: good, dataBytes: 10)) == .dataPastEnd(tensor: "b", end: 12, bufferSize: 10))
    }

    @Test func rejectsTrailingBytes() throws {
        #expect(try problem(Fixture.safetensors(header: good, dataBytes: 16)) == .trailingBytes(dataEnd: 12, bufferSize: 16))
    }

    @Test func rejectsNonStringMetadata() throws {
        let header = #"{"__metadata__":{"format":1},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        #expect(try problem(Fixture.safetensors(header: header, dataBytes: 4)) == .invalidMetadata("the value of 'format' is a number, not a string"))
    }

    @Test func rejectsMalformedEntries() throws {
        let cases = [
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
            #"{"a":{"dtype":"F32","shape":[1]}}"#,
            #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#,
            #"{"a":[1,2,3]}"#,
            #"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#,
        ]
        for header in cases {
            guard case .invalidEntry(tensor: "a", _) = try problem(Fixture.safetensors(header: header, dataBytes: 4)) else {
                Issue.record("not rejected as an invalid entry: \(header)")
                continue
            }
        }
    }

    @Test func rejectsNumbersNotWrittenAsNonNegativeIntegers() throws {
        for (shape, offsets, field, written) in [("[-1]", "[0,4]", "shape", "-1"), ("[1.5]", "[0,4]", "shape", "1.5"),
                                                 ("[1.0]", "[0,4]", "shape", "1.0"), ("[1]", "[0.0,4.0]", "data_offsets", "0.0"),
                                                 ("[1]", "[0,4e0]", "data_offsets", "4e0"), ("[1]", "[-0,4]", "data_offsets", "-0"),
                                                 ("[1]", "[0,18446744073709551616]", "data_offsets", "18446744073709551616"),
                                                 (#"["1"]"#, "[0,4]", "shape", "a string")] {
            let header = #"{"a":{"dtype":"F32","shape":\#(shape),"data_offsets":\#(offsets)}}"#
            #expect(try problem(Fixture.safetensors(header: header, dataBytes: 4)) == .notAnInteger(tensor: "a", field: field, written: written))
        }
    }

    @Test func rejectsARepeatedMetadata() throws {
        let header = #"{"__metadata__":{"a":"1"},"__metadata__":null}"#
        #expect(try problem(Fixture.safetensors(header: header, dataBytes: 0)) == .duplicateMetadata)
    }

    @Test func rejectsAFieldRepeatedInAnEntry() throws {
        let header = #"{"a":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}"#
        #expect(try problem(Fixture.safetensors(header: header, dataBytes: 4)) == .duplicateField(tensor: "a", field: "shape"))
    }

    @Test func aTensorNamedTwiceKeepsItsLastEntry() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/twice.safetensors"
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#
        try Data(Fixture.safetensors(header: header, dataBytes: 4)).write(to: URL(fileURLWithPath: path))
        #expect(try SafetensorsFile(path: path).tensors == [TensorInfo(name: "a", dtype: .int32, shape: [1])])
    }

    /// Names are compared as bytes, as the reference compares them: `café` with U+00E9 and with
    /// e + U+0301 are two entries of the header (before, one replaced the other in a String-keyed
    /// table, and the buffer then seemed to have a gap). The file is refused as ambiguous, naming both.
    @Test func namesEqualOnlyUnderNormalizationAreTwoEntriesAndRefused() throws {
        let (nfc, nfd) = ("caf\u{E9}", "cafe\u{301}")
        let header = #"{"caf\u00e9":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"cafe\u0301":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}}"#
        let parsed = try SafetensorsHeader(json: Array(header.utf8), fileSize: 8 + header.utf8.count + 8)
        #expect(parsed.entries.map { Array($0.info.name.utf8) } == [[0x63, 0x61, 0x66, 0xC3, 0xA9], [0x63, 0x61, 0x66, 0x65, 0xCC, 0x81]])
        #expect(parsed.entries.map(\.info.dtype) == [.float32, .int32])

        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/cafe.safetensors"
        try Data(Fixture.safetensors(header: header, dataBytes: 8)).write(to: URL(fileURLWithPath: path))
        #expect(throws: CheckpointError.ambiguousNames(path: path, first: nfc, second: nfd)) { try SafetensorsFile(path: path) }
    }

    /// U+212A KELVIN SIGN is canonically equivalent to K: "\u{212A}" and "K" are two names as bytes.
    @Test func aKelvinSignAndKAreTwoNames() throws {
        let header = #"{"\u212a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"K":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        let parsed = try SafetensorsHeader(json: Array(header.utf8), fileSize: 8 + header.utf8.count + 8)
        #expect(parsed.entries.map { Array($0.info.name.utf8) } == [[0xE2, 0x84, 0xAA], [0x4B]])
    }

    @Test func acceptsNullMetadataAndLeadingWhitespace() throws {
        let header = #" {"__metadata__":null,"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#
        #expect(try problem(Fixture.safetensors(header: header, dataBytes: 8)) == nil)
    }

    @Test func rejectsTrailingCommasWhereTheyAre() throws {
        let header = "{\"a\":{\"dtype\":\"F32\",\n\"shape\":[1,],\"data_offsets\":[0,4]}}"
        #expect(try problem(Fixture.safetensors(header: header, dataBytes: 4)) == .invalidJSON("trailing comma at line 2, column 12"))
    }

    @Test func rejectsAHeaderThatIsNotUTF8() throws {
        var bytes = Fixture.safetensors(header: good, dataBytes: 12)
        bytes[8 + 2] = 0xFF  // inside the first tensor's name
        #expect(try problem(bytes) == .invalidUTF8(offset: 2))
    }

    @Test func rejectsSubByteElementsThatEndInsideAByte() throws {
        let header = #"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#
        #expect(try problem(Fixture.safetensors(header: header, dataBytes: 2)) == .partialByte(tensor: "a", dtype: "F4", count: 3))
    }

    @Test func refusesAnEmptyTensorWithDimensionsTooLargeToComputeWith() throws {
        let header = #"{"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}"#
        #expect(try problem(Fixture.safetensors(header: header, dataBytes: 0))
            == .emptyShapeTooLarge(tensor: "a", shape: "[0, 4294967296, 4294967296]"))
    }

    @Test func everyMessageNamesTheFile() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.safetensors"
        try Data(Fixture.safetensors(header: good, dataBytes: 10)).write(to: URL(fileURLWithPath: path))
        #expect(throws: CheckpointError.self) { try SafetensorsFile(path: path) }
        do { _ = try SafetensorsFile(path: path) } catch {
            #expect("\(error)".hasPrefix(path + ": tensor 'b'"))
        }
    }
}
