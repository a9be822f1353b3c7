import Foundation

/// Paths and scratch space shared by the tests.
enum Fixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ relative: String) -> String {
        root.appendingPathComponent("Fixtures").appendingPathComponent(relative).path
    }

    /// A new empty directory, removed by the caller's `defer`.
    static func scratch() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ckptforget-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// A safetensors file made of `header` (JSON text) and `dataBytes` zero bytes, with the true
    /// header length unless `lengthOverride` says otherwise.
    static func safetensors(header: String, dataBytes: Int, lengthOverride: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        let length = lengthOverride ?? UInt64(json.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + json + [UInt8](repeating: 0, count: dataBytes)
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs anywhere in these bytes.
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        let first = needle[0]
        var i = 0
        while i <= count - needle.count {
            if self[i] == first, self[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
