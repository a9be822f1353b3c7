import Foundation

/// The architecture as rules over `import` lines: each C library has one door (the files that may
/// import it), and each module imports only the modules below it.
struct ImportRules {
    /// A C module and the source paths (relative to Sources/, a file or a folder ending in /) that may import it.
    let doors: [String: [String]]
    /// Each of our modules and the modules of ours it may import.
    let allowed: [String: Set<String>]

    static let project = ImportRules(
        doors: [
            "CHDF5": ["Checkpoint/HDF5/"],
            "CCrypto": ["Manifest/Crypto/"],
            "CBLAS": ["Engine/LinearAlgebra/GEMM.swift"],
            "CZlib": ["Checkpoint/Zip/Inflate.swift", "Checkpoint/Zip/Deflate.swift"],
            "CMalloc": ["Engine/Model/AllocatorTuning.swift"],
        ],
        allowed: [
            "Checkpoint": [],
            "Engine": ["Checkpoint"],
            "Forgetting": ["Checkpoint", "Engine"],
            "Evaluation": ["Checkpoint", "Engine"],
            "Manifest": ["Checkpoint", "Forgetting"],
            "Report": ["Checkpoint", "Evaluation", "Manifest"],
            "Jobs": ["Checkpoint", "Engine", "Forgetting", "Evaluation", "Manifest", "Report"],
            "EngineBench": ["Checkpoint", "Engine"],
            "ckptforget": ["Checkpoint", "Engine", "Forgetting", "Evaluation", "Manifest", "Jobs"],
        ])

    /// The module a source folder builds (Sources/EngineBench builds `engine-bench`, named here by its folder).
    static let ourModules: Set<String> = ["Checkpoint", "Engine", "Forgetting", "Evaluation", "Manifest", "Report", "Jobs", "EngineBench", "ckptforget"]

    /// Every rule broken under `sources` (a Sources/ folder), one line each.
    func violations(in sources: URL) throws -> [String] {
        var problems: [String] = []
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        for file in files.sorted(by: { $0.path < $1.path }) {
            let relative = String(file.path.dropFirst(sources.path.count + 1))
            let module = String(relative.prefix { $0 != "/" })
            for (number, line) in try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                guard let imported = Self.importedModule(line) else { continue }
                let place = "\(relative):\(number + 1)"
                if let door = doors[imported] {
                    if !door.contains(where: { $0.hasSuffix("/") ? relative.hasPrefix($0) : relative == $0 }) {
                        problems.append("\(place) imports \(imported), whose only door is \(door.joined(separator: ", "))")
                    }
                } else if Self.ourModules.contains(imported) {
                    if imported == "ckptforget" {
                        problems.append("\(place) imports the command-line target")
                    } else if !(allowed[module]?.contains(imported) ?? false) {
                        problems.append("\(place): \(module) may not import \(imported)")
                    }
                }
            }
        }
        return problems
    }

    /// The module an `import` line names (with any access modifier or attribute before it).
    static func importedModule(_ line: Substring) -> String? {
        var words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        while let first = words.first, first.hasPrefix("@") || ["public", "internal", "private", "fileprivate", "package"].contains(first) {
            words.removeFirst()
        }
        guard words.count >= 2, words[0] == "import" else { return nil }
        // `import struct Foo.Bar` and `import Foo.Bar` name module Foo.
        let name = words.count >= 3 && ["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"].contains(words[1]) ? words[2] : words[1]
        return String(name.prefix { $0 != "." })
    }
}
