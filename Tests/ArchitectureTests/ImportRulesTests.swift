import Foundation
import Testing

/// `make test` fails when a C module is imported outside its door or a module imports one it must not.
@Suite struct ImportRulesTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    @Test func theSourcesKeepTheirDoorsAndLayers() throws {
        let problems = try ImportRules.project.violations(in: Self.sources)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    /// The check is not vacuous: the same rules find each kind of violation in a tree that has one.
    @Test func aForbiddenImportMakesTheCheckFail() throws {
        let tree = FileManager.default.temporaryDirectory.appendingPathComponent("imports-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tree) }
        let files = [
            "Checkpoint/Tensor.swift": "import Foundation\n",  // allowed
            "Checkpoint/HDF5/HDF5File.swift": "internal import CHDF5\n",  // the door
            "Checkpoint/Layout.swift": "import Engine\n",  // Checkpoint imports none of ours
            "Forgetting/Pass.swift": "@preconcurrency internal import CHDF5\n",  // outside the door
            "Manifest/Records.swift": "import Engine\n",  // Manifest may not import Engine
            "Engine/Data/Loader.swift": "import ckptforget\n",  // nothing imports the command line
            "Engine/LinearAlgebra/GEMM.swift": "internal import CBLAS\n",  // the door
            "Engine/Layers/Dense.swift": "import CBLAS\n",  // outside the door
            "Jobs/ForgetJob.swift": "import struct Manifest.RecordWriter\n",  // allowed
        ]
        for (path, text) in files {
            let url = tree.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let problems = try ImportRules.project.violations(in: tree)
        #expect(problems == [
            "Checkpoint/Layout.swift:1: Checkpoint may not import Engine",
            "Engine/Data/Loader.swift:1 imports the command-line target",
            "Engine/Layers/Dense.swift:1 imports CBLAS, whose only door is Engine/LinearAlgebra/GEMM.swift",
            "Forgetting/Pass.swift:1 imports CHDF5, whose only door is Checkpoint/HDF5/",
            "Manifest/Records.swift:1: Manifest may not import Engine",
        ])
    }
}
