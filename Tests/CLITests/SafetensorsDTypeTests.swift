import Foundation
import Testing

/// Every dtype the reference safetensors reader knows is read; those ckptforget cannot edit
/// (complex, 8-bit and smaller floats, integers) are copied through byte for byte.
@Suite struct SafetensorsDTypeTests {
    /// fc (3 classes, F32) beside tensors of dtypes ckptforget does not edit, each filled with a byte pattern.
    static let header = #"{"__metadata__":null,"fc.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},"#
        + #""fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]},"#
        + #""extra.c64":{"dtype":"C64","shape":[3],"data_offsets":[36,60]},"#
        + #""extra.f4":{"dtype":"F4","shape":[4],"data_offsets":[60,62]},"#
        + #""extra.e8m0":{"dtype":"F8_E8M0","shape":[2],"data_offsets":[62,64]}}"#

    static func file() -> [UInt8] {
        let json = Array(header.utf8)
        let floats = (0..<9).flatMap { i in withUnsafeBytes(of: Float(i + 1).bitPattern.littleEndian, Array.init) }
        let others = (0..<28).map { UInt8(0xA0 + $0) }
        return (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) } + json + floats + others
    }

    @Test func uneditableDTypesAreCopiedThrough() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = try scratch.write(Self.file(), to: "in.safetensors")
        let run = try Run.ckptforget(input, "-p", "zero", "-c", "1", "-q", "--no-sign", "-o", scratch.file("out.safetensors"))
        #expect(run.status == 0, "\(run.stderr)")
        let before = Self.file(), after = try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.file("out.safetensors"))))
        #expect(after.count == before.count)
        let dataStart = 8 + Self.header.utf8.count
        #expect(after[(dataStart + 36)...] == before[(dataStart + 36)...], "the C64, F4 and F8_E8M0 bytes changed")
        #expect(after[dataStart..<(dataStart + 36)] != before[dataStart..<(dataStart + 36)], "class 1 was not zeroed")

        let inspect = try Run.ckptforget("inspect", "--json", input)
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
        let tensors = try #require(object["tensors"] as? [[String: Any]])
        for (name, dtype, bytes) in [("extra.c64", "C64", 24), ("extra.f4", "F4", 2), ("extra.e8m0", "F8_E8M0", 2)] {
            let tensor = try #require(tensors.first { $0["name"] as? String == name })
            #expect(tensor["dtype"] as? String == dtype && tensor["editable"] as? Bool == false && tensor["bytes"] as? Int == bytes)
        }
    }
}
