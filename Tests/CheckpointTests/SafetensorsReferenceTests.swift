import Foundation
import Testing
@testable import Checkpoint

/// ckptforget reads every safetensors header as the reference reader does: the cases in
/// `Fixtures/safetensors/reference_cases.json` (header bytes, data length, and what
/// `safetensors.safe_open` 0.8.0 made of them, recorded by `Fixtures/make_safetensors_cases.py`)
/// are opened one by one and must get the same verdict and, when accepted, the same tensors
/// (name, dtype, shape) and `__metadata__`.
@Suite struct SafetensorsReferenceTests {
    /// Cases where ckptforget knowingly refuses what the reference accepts: the refusal expected.
    static let knownDivergences: [String: CheckpointError] = {
        // A tensor with no elements whose other dimensions multiply past 2^63-1 would overflow
        // ckptforget's shape arithmetic.
        let emptyTooLarge = ["num_dim_over_i64_zero_elements": ("a", "[18446744073709551615, 0]"),
                             "num_huge_dims_zero_first": ("a", "[0, 4294967296, 4294967296]")]
            .mapValues { CheckpointError.safetensors(path: "", .emptyShapeTooLarge(tensor: $0.0, shape: $0.1)) }
        // Names equal under canonical equivalence but not as bytes: two tensors to the reference,
        // one key to every Swift table, so refused naming both (the project's rule for all formats).
        let (nfc, nfd) = ("caf\u{E9}", "cafe\u{301}")
        let ambiguous: [String: CheckpointError] = [
            "norm_nfc_and_nfd_names": .ambiguousNames(path: "", first: nfc, second: nfd),
            "norm_nfc_and_nfd_escaped": .ambiguousNames(path: "", first: nfc, second: nfd),
            // Both empty at [0, 0]: the buffer order puts the names' bytes in order, 63 61 66 65 before 63 61 66 c3.
            "norm_nfc_and_nfd_empty": .ambiguousNames(path: "", first: nfd, second: nfc),
            "norm_kelvin_sign": .ambiguousNames(path: "", first: "\u{212A}", second: "K"),
        ]
        return emptyTooLarge.merging(ambiguous) { first, _ in first }
    }()

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let why: String
        let header: [UInt8]
        let dataBytes: Int
        let accepted: Bool
        let message: String
        /// "name dtype [shape]" lines (accepted cases).
        let tensors: [String]
        /// nil when the reference's metadata was None.
        let metadata: [String: String]?

        var testDescription: String { "\(name): \(why)" }
    }

    static let table: [Case] = {
        let path = Fixture.path("safetensors/reference_cases.json")
        guard let data = FileManager.default.contents(atPath: path),
              let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = document["cases"] as? [[String: Any]] else { return [] }
        return cases.map { raw in
            let header: [UInt8]
            if let text = raw["header"] as? String { header = Array(text.utf8) } else { header = hexBytes(raw["header_hex"] as? String ?? "") }
            let tensors = (raw["tensors"] as? [[String]] ?? []).map { $0.joined(separator: " ") }
            return Case(name: raw["name"] as? String ?? "?", why: raw["why"] as? String ?? "", header: header,
                        dataBytes: raw["data_bytes"] as? Int ?? 0, accepted: raw["verdict"] as? String == "accept",
                        message: raw["message"] as? String ?? "", tensors: tensors, metadata: raw["metadata"] as? [String: String])
        }
    }()

    private static func hexBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16) }
    }

    @Test func theTableIsThere() {
        #expect(Self.table.count > 100)
        #expect(Set(Self.table.map(\.name)).count == Self.table.count)
        #expect(Self.knownDivergences.keys.allSatisfy { name in Self.table.contains { $0.name == name } })
    }

    @Test(arguments: table) func sameVerdictAsTheReference(_ reference: Case) throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/case.safetensors"
        let length = UInt64(reference.header.count)
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + reference.header
            + [UInt8](repeating: 0, count: reference.dataBytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(path: path)
        } catch let error as CheckpointError {
            if let expected = Self.knownDivergences[reference.name] {
                #expect(reference.accepted, "\(reference.name) is listed as a divergence, but the reference refuses it too")
                #expect(error.withPath("") == expected)
                #expect(error.withPath("") != error, "the refusal names the file")
                return
            }
            guard case .safetensors(let errorPath, let problem) = error else {
                Issue.record("not a safetensors problem: \(error)")
                return
            }
            #expect(errorPath == path)
            #expect(!reference.accepted, "ckptforget refuses what the reference accepts: \(problem)")
            return
        }
        #expect(Self.knownDivergences[reference.name] == nil, "\(reference.name) is listed as a divergence but ckptforget accepts it")
        #expect(reference.accepted, "ckptforget accepts what the reference refuses (\(reference.message))")
        guard reference.accepted else { return }
        let tensors = file.tensors.map { "\($0.name) \($0.dtype.rawValue) [\($0.shape.map(String.init).joined(separator: ", "))]" }.sorted()
        #expect(tensors == reference.tensors.sorted())
        #expect(file.metadata.stringMetadata == (reference.metadata ?? [:]))
    }
}

private extension CheckpointError {
    /// The same error about another path, to compare errors about a scratch file with expectations.
    func withPath(_ path: String) -> CheckpointError {
        switch self {
        case .safetensors(_, let problem): .safetensors(path: path, problem)
        case .ambiguousNames(_, let first, let second): .ambiguousNames(path: path, first: first, second: second)
        default: self
        }
    }
}
