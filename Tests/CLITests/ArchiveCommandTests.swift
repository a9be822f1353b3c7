import Foundation
import Testing

/// `.keras` archives and torch.save state dicts end to end: hostile files exit 2 naming what they
/// hold and leave nothing behind; edits verify against signed records; the engine runs `.keras`
/// models as it runs their legacy `.h5` copies.
@Suite struct ArchiveCommandTests {
    /// A torch.save-like archive around `pickle`, with storage `0` holding `record`.
    private func torch(_ pickle: [UInt8], record: [UInt8], names: [String]? = nil) -> [UInt8] {
        let members = names ?? ["model/data.pkl", "model/byteorder", "model/data/0", "model/version"]
        return StoredZip.bytes(zip(members, [pickle, Array("little".utf8), record, Array("3\n".utf8)]).map { ($0, $1) })
    }

    /// Pickle opcodes, as torch.save writes them or an attacker would.
    private enum P {
        static func string(_ s: String) -> [UInt8] { [0x58] + withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian, Array.init) + Array(s.utf8) }
        static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
        static let mark: [UInt8] = [0x28], tuple: [UInt8] = [0x74], reduce: [UInt8] = [0x52], stop: [UInt8] = [0x2E]
        static func int(_ n: UInt8) -> [UInt8] { [0x4B, n] }
        /// {"fc.weight": _rebuild_tensor_v2(storage 0 of `numel` floats, offset, (count,), (1,), False, OrderedDict())}
        static func stateDict(numel: UInt8, offset: UInt8, count: UInt8) -> [UInt8] {
            let storage = mark + string("storage") + global("torch", "FloatStorage") + string("0") + string("cpu") + int(numel) + tuple + [0x51]
            let hooks = global("collections", "OrderedDict") + [0x29] + reduce
            let tensor = global("torch._utils", "_rebuild_tensor_v2") + mark + storage + int(offset) + mark + int(count) + tuple
                + mark + int(1) + tuple + [0x89] + hooks + tuple + reduce
            return [0x80, 0x02, 0x7D] + string("fc.weight") + tensor + [0x73] + stop
        }
    }

    /// Each hostile file exits 2 before any work, says what it holds, and leaves no file behind.
    @Test func hostileFilesAreRefusedBeforeAnyWork() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let floats = [UInt8](repeating: 0, count: 16)
        let osSystem = [0x80, 0x02] + P.global("os", "system") + P.string("touch \(scratch.file("owned"))") + [0x85] + P.reduce + P.stop
        let reduceStorage = [0x80, 0x02] + P.global("torch", "FloatStorage") + [0x29] + P.reduce + P.stop
        var bomb = StoredZip.bytes([("model.weights.h5", [UInt8](repeating: 0, count: 64))])
        bomb[8] = 8  // method: deflated; declared size (field 22) raised to 1 GiB in both headers
        let central = bomb.count - 22 - 46 - "model.weights.h5".utf8.count
        bomb[central + 10] = 8
        for offset in [22, central + 24] { bomb.replaceSubrange(offset..<(offset + 4), with: [0, 0, 0, 0x40]) }
        let cases: [(String, [UInt8], [String])] = [
            ("os_system.pt", torch(osSystem, record: floats), ["model/data.pkl: GLOBAL os.system at byte 2 is not one a state dict needs"]),
            ("reduce.pt", torch(reduceStorage, record: floats), ["call of GLOBAL torch.FloatStorage at byte 23"]),
            ("short.pt", torch(P.stateDict(numel: 4, offset: 0, count: 4), record: Array(floats.prefix(12))),
             ["storage member 'model/data/0' holds 12 bytes, but the pickle's numel × itemsize is 16"]),
            ("offset.pt", torch(P.stateDict(numel: 4, offset: 3, count: 2), record: floats), ["reaches element 4 of storage '0', which has 4"]),
            ("climb.pt", torch(P.stateDict(numel: 4, offset: 0, count: 4), record: floats,
                               names: ["model/data.pkl", "model/byteorder", "model/../data/0", "model/version"]), ["member name 'model/../data/0': climbs out with '..'"]),
            ("bomb.keras", bomb, ["member 'model.weights.h5' declares 1073741824 bytes from 64 compressed, a ratio over 100:1"]),
        ]
        for (name, bytes, messages) in cases {
            let input = try scratch.write(bytes, to: name)
            let run = try Run.ckptforget(input, "--pass", "zero", "--class", "0", "-o", scratch.file("out." + (name as NSString).pathExtension))
            #expect(run.status == 2, "\(name): exit \(run.status): \(run.stderr)")
            for message in messages { #expect(run.stderr.contains(input + ": ") && run.stderr.contains(message), "\(name): \(run.stderr)") }
            #expect(!scratch.contents.contains { $0.hasPrefix("out") || $0.hasPrefix(".out") } && !scratch.contents.contains("owned"), "\(scratch.contents)")
        }
    }

    @Test func inspectNamesTheFormatAndTheHead() throws {
        let torch = try Run.ckptforget("inspect", Run.fixture("torch/gcn.pt"))
        #expect(torch.status == 0 && torch.stdout.contains("gcn.pt: PyTorch, state-dict layout, 4 tensors"))
        #expect(torch.stdout.contains("output layer: conv2.lin (3 classes)"))
        let keras = try Run.ckptforget("inspect", Run.fixture("keras/mnist_cnn.keras"))
        #expect(keras.status == 0 && keras.stdout.contains("mnist_cnn.keras: Keras archive, keras3-weights layout"))
        #expect(keras.stdout.contains("output layer: dense_1 (10 classes)"))
    }

    /// The output keeps the input's format: a .pt is not written as .h5, nor a .keras as .weights.h5.
    @Test func outputNamesFollowTheFormat() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        for (input, output, hint) in [("torch/mnist_cnn.pt", "out.h5", "give it a .pt, .pth or .bin name"),
                                      ("keras/mnist_mlp.keras", "out.weights.h5", "give it a .keras name")] {
            let run = try Run.ckptforget(Run.fixture(input), "-p", "zero", "-c", "1", "-o", scratch.file(output))
            #expect(run.status == 2 && run.stderr.contains(hint), "\(run.stderr)")
        }
    }

    /// Signed records of edited archives verify: the digests streamed while a .pt was rewritten, and
    /// those hashed after a .keras was, are the files' own.
    @Test(arguments: [("torch/mnist_cnn.pt", "out.pt"), ("keras/mnist_mlp.keras", "out.keras"), ("torch/sharded", "sharded/")])
    func signedRecordsVerify(input: String, output: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        if output.hasSuffix("/") { try FileManager.default.createDirectory(atPath: scratch.file(output), withIntermediateDirectories: false) }
        let key = SignedRecordsTests.signing + "/p256.pem"
        let run = try Run.ckptforget(Run.fixture(input), "-p", "suppress", "-c", "2", "-q", "-o", scratch.file(output), "--sign-key", key)
        #expect(run.status == 0, "\(run.stderr)")
        let model = output.hasSuffix("/") ? scratch.file("sharded") : scratch.file(output)
        for record in [model + ".manifest.json", model + ".sig"] {
            let verify = try Run.ckptforget("verify", record, "--key", SignedRecordsTests.signing + "/p256.pub.pem")
            #expect(verify.status == 0, "\(record): \(verify.stdout) \(verify.stderr)")
        }
    }

    /// The engine runs a .keras archive exactly as the legacy .h5 it was saved from.
    @Test func theEngineRunsKerasArchivesAsLegacyFiles() throws {
        let data = Run.fixture("engine/test_data.h5")
        let legacy = try Run.ckptforget("eval", Run.fixture("engine/mnist_cnn.h5"), "--data", data, "--class", "2", "--json")
        let archive = try Run.ckptforget("eval", Run.fixture("keras/mnist_cnn.keras"), "--data", data, "--class", "2", "--json")
        #expect(legacy.status == 0 && archive.status == 0, "\(archive.stderr)")
        #expect(!archive.stdout.isEmpty && archive.stdout.replacingOccurrences(of: "keras/mnist_cnn.keras", with: "engine/mnist_cnn.h5")
            == legacy.stdout.replacingOccurrences(of: "keras/mnist_cnn.keras", with: "engine/mnist_cnn.h5"))
    }

    /// A model pass runs on a .keras model and the output loads back as one.
    @Test func modelPassesRunOnKerasArchives() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget(Run.fixture("keras/mnist_mlp.keras"), "--data", Run.fixture("engine/test_data.h5") + ":x_flat,y", "--class", "2",
                                     "-p", "ascent", "-q", "--no-sign", "-o", scratch.file("out.keras"))
        #expect(run.status == 0, "\(run.stderr)")
        let inspect = try Run.ckptforget("inspect", scratch.file("out.keras"))
        #expect(inspect.status == 0 && inspect.stdout.contains("Keras archive"))
    }
}
