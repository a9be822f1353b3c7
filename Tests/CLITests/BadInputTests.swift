import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Every kind of bad input exits 2 with a message naming the file and the problem, and leaves no
/// output file (nor a temporary one) behind.
@Suite struct BadInputTests {
    /// Runs ckptforget with `arguments` (the output goes to `out.*` in `scratch`) and checks the failure.
    private func expectRefusal(_ arguments: [String], scratch: Scratch, mentions expected: [String],
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let run = try Run.run(Run.binary, arguments)
        #expect(run.status == 2, "exit \(run.status): \(run.stderr)", sourceLocation: sourceLocation)
        #expect(run.stdout.isEmpty, sourceLocation: sourceLocation)
        #expect(run.stderr.hasPrefix("ckptforget: error: "), sourceLocation: sourceLocation)
        for text in expected {
            #expect(run.stderr.contains(text), "stderr lacks '\(text)': \(run.stderr)", sourceLocation: sourceLocation)
        }
        #expect(!scratch.contents.contains { $0.hasPrefix("out") || $0.hasPrefix(".out") }, "left: \(scratch.contents)", sourceLocation: sourceLocation)
    }

    /// The bytes of a safetensors file with `header` and `data` zero bytes.
    private func safetensors(_ header: String, data: Int, length: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        let n = length ?? UInt64(json.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + json + [UInt8](repeating: 0, count: data)
    }

    private let header = #"{"fc.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},"fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]}}"#

    @Test func malformedSafetensorsFiles() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Run.fixture("safetensors/mlp.safetensors"))))
        let cases: [(String, [UInt8], [String])] = [
            ("truncated.safetensors", Array(original.prefix(original.count / 2)), ["tensor '", "data buffer", "truncated"]),
            ("badjson.safetensors", safetensors(#"{"fc.weight": {"dtype": "F32", "#, data: 0), ["header is not valid JSON"]),
            ("pastend.safetensors", safetensors(header, data: 36, length: 1 << 20), ["header length 1048576 runs past the end"]),
            ("overlap.safetensors", safetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: 12),
             ["tensor 'b': data_offsets overlap those of 'a'"]),
            ("dtype.safetensors", safetensors(#"{"a":{"dtype":"F24","shape":[1],"data_offsets":[0,3]}}"#, data: 3), ["tensor 'a': unknown dtype 'F24'"]),
            ("shape.safetensors", safetensors(#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, data: 12),
             ["tensor 'a': shape and dtype need 16 bytes but data_offsets span 12"]),
            ("short.safetensors", [7, 0, 0], ["file is 3 bytes; a safetensors file starts with an 8-byte header length"]),
            // What the reference reader (safetensors 0.8.0) refuses, ckptforget refuses too.
            ("comma.safetensors", safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},}"#, data: 4),
             ["header is not valid JSON: trailing comma at line 1, column 55"]),
            ("float.safetensors", safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0.0,4.0]}}"#, data: 4),
             ["tensor 'a': 'data_offsets' holds 0.0, expected a non-negative integer"]),
            ("field.safetensors", safetensors(#"{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 4),
             ["tensor 'a': 'dtype' appears twice"]),
            ("metadata.safetensors", safetensors(#"{"__metadata__":{},"__metadata__":{}}"#, data: 0), ["__metadata__ more than once"]),
            ("utf8.safetensors", { var bytes = safetensors(#"{"a?":{}}"#, data: 0); bytes[8 + 3] = 0x80; return bytes }(),
             ["header is not UTF-8: byte 3"]),
        ]
        for (name, bytes, messages) in cases {
            let input = try scratch.write(bytes, to: name)
            try expectRefusal([input, "--pass", "zero", "--class", "0", "-o", scratch.file("out.safetensors")],
                              scratch: scratch, mentions: [input + ": "] + messages)
        }
    }

    @Test func truncatedHDF5File() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Run.fixture("keras/mnist_mlp.h5"))))
        let input = try scratch.write(Array(original.prefix(4096)), to: "cut.h5")
        try expectRefusal([input, "--pass", "zero", "--class", "0", "-o", scratch.file("out.h5")], scratch: scratch,
                          mentions: [input + ": HDF5 H5Fopen failed"])
    }

    /// A checkpoint named on the command line that is a FIFO is refused at once (it used to block
    /// in open(2) until something wrote to it), as is a character device.
    @Test func aCheckpointThatIsNotARegularFileIsRefusedWithoutBlocking() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        #expect(mkfifo(scratch.file("fifo.safetensors"), 0o600) == 0)
        for (input, kind) in [(scratch.file("fifo.safetensors"), "a FIFO"), ("/dev/zero", "a character device")] {
            guard let run = try Run.ckptforget([input, "-p", "zero", "-c", "0", "-o", scratch.file("out.safetensors")], timeout: 120) else {
                Issue.record("ckptforget \(input) did not finish within 120 s")
                continue
            }
            #expect(run.status == 2 && run.stderr.contains("\(input): it is \(kind), not a regular file"), "exit \(run.status): \(run.stderr)")
        }
        #expect(scratch.contents == ["fifo.safetensors"])
    }

    @Test func missingOutputLayerAndClassOutOfRange() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let noKernel = try scratch.write(safetensors(#"{"norm.bias":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#, data: 12), to: "nokernel.safetensors")
        try expectRefusal([noKernel, "--pass", "zero", "--class", "0", "-o", scratch.file("out.safetensors")], scratch: scratch,
                          mentions: [noKernel + ": no layer with a weight matrix"])
        let mlp = Run.fixture("safetensors/mlp.safetensors")
        try expectRefusal([mlp, "--pass", "dampen:0.1", "--class", "10", "-o", scratch.file("out.safetensors")], scratch: scratch,
                          mentions: [mlp + ": --class 10 is out of range: output layer 'fc2' has 10 units (classes 0...9)"])
        try expectRefusal([mlp, "--pass", "zero", "--class", "1", "--output-layer", "fc7", "-o", scratch.file("out.safetensors")], scratch: scratch,
                          mentions: [mlp + ": no layer named 'fc7'", "fc1 (32 units), fc2 (10 units)"])
        let heads = try scratch.write(safetensors(#"{"proj.weight":{"dtype":"F32","shape":[3,4],"data_offsets":[0,48]},"z.dense.weight":{"dtype":"F32","shape":[4,4],"data_offsets":[48,112]}}"#, data: 112), to: "heads.safetensors")
        try expectRefusal([heads, "--pass", "zero", "--class", "1", "-o", scratch.file("out.safetensors")], scratch: scratch,
                          mentions: [heads + ": cannot tell which layer is the output layer", "proj (3 units)", "--output-layer NAME"])
    }

    @Test func badPassesAndArguments() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let mlp = Run.fixture("safetensors/mlp.safetensors")
        let out = scratch.file("out.safetensors")
        let cases: [([String], [String])] = [
            ([mlp, "--pass", "forget:1", "--class", "1", "-o", out], ["unknown pass 'forget'", "dampen, zero, randomize"]),
            ([mlp, "--pass", "dampen:lots", "--class", "1", "-o", out], ["--pass dampen:lots: alpha 'lots' is not a number"]),
            ([mlp, "--pass", "dampen:1.5", "--class", "1", "-o", out], ["alpha '1.5' is not a number in 0.0...1.0"]),
            ([mlp, "--pass", "dampen:0.1,speed=2", "--class", "1", "-o", out], ["unknown parameter 'speed'; accepted: alpha, bias, margin"]),
            ([mlp, "--pass", "dampen:0.1", "-o", out], ["pass 'dampen' forgets a class: give it with --class C"]),
            ([mlp, "--pass", "zero", "--class", "-1", "-o", out], ["--class -1: expected a class index"]),
            ([mlp, "--class", "1", "-o", out], ["no --pass given"]),
            ([mlp, "--pass", "zero", "--class", "1"], ["no output given: -o OUTPUT"]),
            ([mlp, "--pass", "zero", "--class", "1", "--colour", "-o", out], ["unknown option '--colour'"]),
            ([mlp, "--pass", "zero", "--class", "1", "-o", scratch.file("out.h5")], ["written in the input's format (safetensors)"]),
            ([scratch.file("absent.h5"), "--pass", "zero", "--class", "1", "-o", out], [scratch.file("absent.h5") + ": no such file"]),
            ([mlp, "--pass", "zero", "--class", "1", "-o", scratch.file("missing-dir/out.safetensors")], ["directory", "does not exist"]),
        ]
        for (arguments, messages) in cases {
            try expectRefusal(arguments, scratch: scratch, mentions: messages)
        }
    }

    @Test func refusesToOverwriteTheInput() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = try scratch.write(try [UInt8](Data(contentsOf: URL(fileURLWithPath: Run.fixture("safetensors/mlp.safetensors")))), to: "m.safetensors")
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        try FileManager.default.createSymbolicLink(atPath: scratch.file("link.safetensors"), withDestinationPath: input)
        for target in [input, scratch.path + "/./m.safetensors", scratch.file("link.safetensors"), scratch.path] {
            let run = try Run.ckptforget(input, "--pass", "zero", "--class", "1", "-o", target)
            #expect(run.status == 2 && run.stderr.contains("refusing to write: it is the input"), "\(target): \(run.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before)
        #expect(scratch.contents == ["link.safetensors", "m.safetensors"])
    }

    /// Legacy pickled `.pt` files, TorchScript archives and other zips are refused by name (exit 2)
    /// with what they are and how to re-save them; a damaged zip says what is wrong with it.
    @Test func refusedFormatsAreNamed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let legacy: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E, 0x80, 0x02]
        let damaged = StoredZip.bytes([("model/data.pkl", [0x80, 0x02, 0x7D, 0x2E])]).dropLast(5)
        let cases: [(String, [UInt8], [String])] = [
            ("scripted.pt", StoredZip.bytes([("scripted/data.pkl", [0x2E]), ("scripted/constants.pkl", [0x2E]), ("scripted/code/m.py", [])]),
             ["a TorchScript archive (torch.jit.save), not a state dict", "torch.save(model.state_dict()"]),
            ("other.zip", StoredZip.bytes([("readme.txt", Array("hi".utf8))]), ["a zip archive (readme.txt) that is neither a Keras .keras archive nor a torch.save file"]),
            ("old.pt", legacy + [UInt8](repeating: 0, count: 64), ["a legacy (pre-1.6) PyTorch pickle file", "torch.save(torch.load(\"old.pt\", weights_only=True)"]),
            ("cut.pt", Array(damaged), ["no zip end-of-central-directory record"]),
        ]
        for (name, bytes, messages) in cases {
            let input = try scratch.write(bytes, to: name)
            try expectRefusal([input, "--pass", "zero", "--class", "0", "-o", scratch.file("out.pt")],
                              scratch: scratch, mentions: [input + ": "] + messages)
            let inspect = try Run.ckptforget("inspect", input)
            #expect(inspect.status == 2 && inspect.stderr.contains(messages[0]), "\(inspect.stderr)")
        }
    }

    @Test func helpAndVersion() throws {
        let help = try Run.ckptforget("--help")
        #expect(help.status == 0 && help.stdout.contains("usage: ckptforget INPUT --pass SPEC") && help.stderr.isEmpty)
        for pass in ["suppress[:margin=M]", "dampen:ALPHA", "zero", "randomize[:seed=N"] { #expect(help.stdout.contains(pass)) }
        let inspect = try Run.ckptforget("inspect", "--help")
        #expect(inspect.status == 0 && inspect.stdout.contains("usage: ckptforget inspect FILE"))
        let version = try Run.ckptforget("--version")
        #expect(version.status == 0 && version.stdout.hasPrefix("ckptforget "))
        let none = try Run.ckptforget()
        #expect(none.status == 2 && none.stderr.contains("usage:"))
    }
}
