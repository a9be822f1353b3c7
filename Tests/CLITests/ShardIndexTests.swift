import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A sharded checkpoint's index may only name regular files beside it: every other shard name,
/// and every shard that is not a regular file, is refused (exit 2) before it is opened, naming
/// the index, the shard and what is wrong.
@Suite struct ShardIndexTests {
    static let shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    static let torchShards = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]

    /// A copy of the sharded fixture in `scratch/model`, with `edit` applied to its index text.
    private func model(in scratch: Scratch, index edit: (String) -> String = { $0 }) throws -> String {
        try copy("safetensors/sharded", shards: Self.shards, index: "model.safetensors.index.json", in: scratch, edit: edit)
    }

    /// A copy of the sharded `torch.save` fixture in `scratch/model`.
    private func torchModel(in scratch: Scratch) throws -> String {
        try copy("torch/sharded", shards: Self.torchShards, index: "pytorch_model.bin.index.json", in: scratch, edit: { $0 })
    }

    private func copy(_ fixture: String, shards: [String], index name: String, in scratch: Scratch, edit: (String) -> String) throws -> String {
        let directory = scratch.file("model")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        for shard in shards {
            try FileManager.default.copyItem(atPath: Run.fixture("\(fixture)/\(shard)"), toPath: "\(directory)/\(shard)")
        }
        let index = try String(contentsOfFile: Run.fixture("\(fixture)/\(name)"), encoding: .utf8)
        try edit(index).write(toFile: "\(directory)/\(name)", atomically: false, encoding: .utf8)
        return directory
    }

    /// Runs a forgetting job on `directory` and expects exit 2 with every text in `expected`, and no output.
    private func expectRefusal(_ directory: String, scratch: Scratch, mentions expected: [String],
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        try FileManager.default.createDirectory(atPath: scratch.file("out"), withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: scratch.file("out")) }
        guard let run = try Run.ckptforget([directory, "-p", "zero", "-c", "1", "-q", "--no-sign", "-o", scratch.file("out") + "/"], timeout: 120) else {
            Issue.record("ckptforget did not finish within 120 s (blocked opening a shard?)", sourceLocation: sourceLocation)
            return
        }
        #expect(run.status == 2, "exit \(run.status): \(run.stderr)", sourceLocation: sourceLocation)
        for text in expected {
            #expect(run.stderr.contains(text), "stderr lacks '\(text)': \(run.stderr)", sourceLocation: sourceLocation)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.file("out")).isEmpty, sourceLocation: sourceLocation)
    }

    @Test func theFixtureItselfIsRead() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try model(in: scratch)
        let run = try Run.ckptforget("inspect", directory)
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test func aShardThatIsNotARegularFileIsRefusedBeforeItIsOpened() throws {
        let kinds: [(String, (String) throws -> Void)] = [
            ("a FIFO", { path in #expect(mkfifo(path, 0o644) == 0) }),
            ("a directory", { path in try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) }),
            ("a character device", { path in try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/null") }),
            ("a socket", { path in try Self.bindSocket(at: path) }),
        ]
        for (kind, make) in kinds {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let directory = try model(in: scratch)
            let shard = "\(directory)/\(Self.shards[1])"
            try FileManager.default.removeItem(atPath: shard)
            try make(shard)
            try expectRefusal(directory, scratch: scratch,
                              mentions: ["\(directory)/model.safetensors.index.json: ", "shard '\(Self.shards[1])'", "is \(kind), not a regular file"])
        }
    }

    /// The same rule for a sharded `torch.save` checkpoint, whose shards are zips opened the same way.
    @Test func aTorchShardThatIsAFIFOIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try torchModel(in: scratch)
        let shard = "\(directory)/\(Self.torchShards[1])"
        try FileManager.default.removeItem(atPath: shard)
        #expect(mkfifo(shard, 0o644) == 0)
        try expectRefusal(directory, scratch: scratch,
                          mentions: ["\(directory)/pytorch_model.bin.index.json: ", "shard '\(Self.torchShards[1])'", "is a FIFO, not a regular file"])
    }

    /// A TorchScript archive given as a shard is refused as it is given alone: what it is and how to
    /// re-save its weights under the shard's name (it was called a torch.save file missing data.pkl).
    @Test func aTorchScriptShardIsNamedAsOne() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try torchModel(in: scratch)
        let shard = "\(directory)/\(Self.torchShards[1])"
        try Data(StoredZip.bytes([("scripted/data.pkl", [0x2E]), ("scripted/constants.pkl", [0x2E]), ("scripted/code/m.py", [])]))
            .write(to: URL(fileURLWithPath: shard))
        try expectRefusal(directory, scratch: scratch,
                          mentions: ["\(shard): a TorchScript archive (torch.jit.save), not a state dict",
                                     "torch.save(model.state_dict(), \"\(Self.torchShards[1])\")"])
    }

    /// An index that is a FIFO is refused too (it was read with a blocking open).
    @Test func anIndexThatIsAFIFOIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = try model(in: scratch)
        let index = "\(directory)/model.safetensors.index.json"
        try FileManager.default.removeItem(atPath: index)
        #expect(mkfifo(index, 0o644) == 0)
        try expectRefusal(directory, scratch: scratch, mentions: ["\(index): it is a FIFO, not a regular file"])
    }

    @Test func shardNamesThatAreNotPlainFileNamesBesideTheIndexAreRefused() throws {
        let real = Self.shards[1]
        let names: [(written: String, shown: String)] = [
            // open(2) would stop at the NUL and read the real shard, and the output would be written under the cut name.
            // Messages show control characters as \xHH.
            ("\(real)\\u0000.txt", "\(real)\\x00.txt"),
            ("../model/\(real)", "../model/\(real)"),
            ("..", ".."),
            (".", "."),
            ("", ""),
            ("sub/\(real)", "sub/\(real)"),
        ]
        for (written, shown) in names {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let directory = try model(in: scratch) { $0.replacingOccurrences(of: ": \"\(real)\"", with: ": \"\(written)\"") }
            try expectRefusal(directory, scratch: scratch,
                              mentions: ["\(directory)/model.safetensors.index.json: ", "shard '\(shown)' for 'fc2.bias' must be a plain file name beside the index"])
        }
        // An absolute path, even to the shard itself.
        let scratch = try Scratch()
        defer { scratch.remove() }
        let absolute = scratch.file("model/\(real)")
        let directory = try model(in: scratch) { $0.replacingOccurrences(of: ": \"\(real)\"", with: ": \"\(absolute)\"") }
        try expectRefusal(directory, scratch: scratch, mentions: ["shard '\(absolute)' for 'fc2.bias' must be a plain file name beside the index"])
    }

    /// Binds a Unix-domain socket at `path` (and closes it; the socket file stays).
    static func bindSocket(at path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        try #require(bytes.count < MemoryLayout.size(ofValue: address.sun_path))
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0, "bind \(path): \(String(cString: strerror(errno)))")
    }
}
