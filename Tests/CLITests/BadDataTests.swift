import Checkpoint
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Data, keys and signals that once trapped or misled: each must end in a clear exit 2 (or the
/// documented signal status) naming the file and what was expected, and leave nothing behind.
@Suite struct BadDataTests {
    static let model = Run.fixture("keras/mnist_mlp.h5")
    static let samples = Run.fixture("engine/x_small.npy")  // (50, 784) float32

    /// A `.npy` file: version 1.0 header for `descr` and `shape` text, then `payload`.
    static func npy(descr: String, shape: String, payload: [UInt8]) -> [UInt8] {
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let length = UInt16(header.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8) + payload
    }

    static func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { value in (0..<T.bitWidth / 8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    }

    static func doubles(_ values: [Double]) -> [UInt8] { littleEndian(values.map(\.bitPattern)) }

    /// 50 int64 labels, all 1 but `bad` at position 7.
    static func labels(with bad: Int64) -> [UInt8] {
        npy(descr: "<i8", shape: "(50,)", payload: littleEndian((0..<50).map { $0 == 7 ? bad : Int64($0 % 3) }))
    }

    private func expectBadInput(_ run: Run, mentions expected: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(run.status == 2, "exit \(run.status): \(run.stderr)", sourceLocation: sourceLocation)
        #expect(run.stderr.hasPrefix("ckptforget: error: "), "\(run.stderr)", sourceLocation: sourceLocation)
        for text in expected {
            #expect(run.stderr.contains(text), "stderr lacks '\(text)': \(run.stderr)", sourceLocation: sourceLocation)
        }
    }

    /// A label outside the model's classes (or negative) is named on every path that reads labels.
    @Test(arguments: [Int64(10), Int64(-1)]) func labelsOutsideTheModelsClasses(bad: Int64) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let badLabels = try scratch.write(Self.labels(with: bad), to: "y_bad.npy")
        let goodLabels = try scratch.write(Self.labels(with: 2), to: "y_good.npy")
        let data = "\(Self.samples):\(badLabels)"
        let expected = ["y_bad.npy", "label \(bad)", "10 classes"]
        expectBadInput(try Run.ckptforget("eval", Self.model, "--data", data), mentions: expected)
        expectBadInput(try Run.ckptforget("eval", Self.model, "--data", data, "--class", "2"), mentions: expected)
        expectBadInput(try Run.ckptforget("eval", Self.model, "--data", "\(Self.samples):\(goodLabels)", "--class", "2",
                                          "--test-data", data, "--mia-feature", "confidence"), mentions: expected)
        let gated = try Run.ckptforget(Self.model, "-p", "dampen:0.5", "-c", "2", "--data", data, "--require", "forget_acc<=1",
                                       "--no-sign", "-o", scratch.file("out.h5"))
        expectBadInput(gated, mentions: expected)
        #expect(!scratch.contents.contains { $0.contains("out.h5") }, "\(scratch.contents)")
    }

    /// A data file (samples or labels) that is a FIFO is refused at once, naming it: `eval` used to
    /// block in open(2) until something wrote to it.
    @Test func dataThatIsAFIFOIsRefusedWithoutBlocking() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let goodLabels = try scratch.write(Self.labels(with: 2), to: "y.npy")
        for name in ["fifo.h5", "fifo_x.npy", "fifo_y.npy"] { #expect(mkfifo(scratch.file(name), 0o600) == 0) }
        for (data, named) in [(scratch.file("fifo.h5"), "fifo.h5"), ("\(scratch.file("fifo_x.npy")):\(goodLabels)", "fifo_x.npy"),
                              ("\(Self.samples):\(scratch.file("fifo_y.npy"))", "fifo_y.npy")] {
            guard let run = try Run.ckptforget(["eval", Self.model, "--data", data, "--class", "2"], timeout: 120) else {
                Issue.record("eval --data \(data) did not finish within 120 s")
                continue
            }
            expectBadInput(run, mentions: [named + ": it is a FIFO, not a regular file"])
        }
    }

    @Test func npyHeadersThatLie() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let goodLabels = try scratch.write(Self.labels(with: 2), to: "y.npy")
        let cases: [(String, [UInt8], [String])] = [
            ("negative.npy", Self.npy(descr: "<f4", shape: "(-1, 784)", payload: []), ["negative.npy", "negative dimension -1"]),
            ("overflow.npy", Self.npy(descr: "<f4", shape: "(4611686018427387904, 784)", payload: []), ["overflow.npy", "overflows"]),
            // No rows, but a row's size overflows: this one trapped.
            ("empty-overflow.npy", Self.npy(descr: "<f4", shape: "(0, 4294967296, 4294967296)", payload: []), ["empty-overflow.npy", "overflows"]),
        ]
        for (name, bytes, messages) in cases {
            let samples = try scratch.write(bytes, to: name)
            expectBadInput(try Run.ckptforget("eval", Self.model, "--data", "\(samples):\(goodLabels)"), mentions: messages)
        }
        for (name, value, words) in [("nan.npy", Double.nan, "nan"), ("inf.npy", Double.infinity, "inf"), ("half.npy", 2.5, "2.5")] {
            let labels = try scratch.write(Self.npy(descr: "<f8", shape: "(50,)", payload: Self.doubles((0..<50).map { $0 == 9 ? value : 1 })), to: name)
            expectBadInput(try Run.ckptforget("eval", Self.model, "--data", "\(Self.samples):\(labels)", "--class", "1"),
                           mentions: [name, "label \(words)", "sample 9", "whole number"])
        }
    }

    /// The `.npy` case's twin in HDF5: no samples, but a sample's size overflows. This one trapped.
    @Test func hdf5SampleSizeThatOverflows() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = scratch.file("empty.h5")
        let output = OutputTransaction()
        do {  // the writer closes the file when it goes
            let writer = try HDF5Writer(finalPath: path, in: output)
            try writer.write("x", [], shape: [0, 1 << 40, 1 << 40], asFloat32: true)
            try writer.write("y", [], shape: [0])
        }
        try output.commit()
        expectBadInput(try Run.ckptforget("eval", Self.model, "--data", path), mentions: ["empty.h5", "'x'", "overflows"])
    }

    @Test func idxSizesThatOverflow() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF]
        let images = try scratch.write([0, 0, 8, 3] + huge + huge + huge + [0, 0, 0, 0], to: "images.idx3-ubyte")
        let labels = try scratch.write([0, 0, 8, 1] + huge + [1, 2, 3], to: "labels.idx1-ubyte")
        expectBadInput(try Run.ckptforget("eval", Self.model, "--data", "\(images):\(labels)"),
                       mentions: ["images.idx3-ubyte", "overflows"])
    }

    /// A weight that is infinite makes an infinite change; --json says null, as the records do,
    /// instead of printing nothing.
    @Test func jsonWithNonFiniteNumbersWritesNull() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let header = #"{"fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}"#
        let values: [Float] = [.infinity, 1, 2, 3, 4, 5, 0.5, -0.5]
        let bytes = Self.littleEndian([UInt64(header.utf8.count)]) + Array(header.utf8) + Self.littleEndian(values.map(\.bitPattern))
        let input = try scratch.write(bytes, to: "inf.safetensors")
        let run = try Run.ckptforget(input, "-p", "zero", "-c", "0", "--json", "--no-sign", "--allow-nonfinite", "-o", scratch.file("out.safetensors"))
        #expect(run.status == 0, "\(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let tensors = ((report?["passes"] as? [[String: Any]])?.first?["tensors"] as? [[String: Any]]) ?? []
        let weight = tensors.first { $0["tensor"] as? String == "fc.weight" }
        #expect(weight?["l2"] is NSNull && weight?["max_abs"] is NSNull, "\(run.stdout)")
        #expect(weight?["elements_changed"] as? Int == 3)
        let diff = try Run.ckptforget("diff", input, scratch.file("out.safetensors"), "--json")
        #expect(diff.status == 0 && diff.stdout.contains("null"), "\(diff.stdout)")
        #expect((try? JSONSerialization.jsonObject(with: Data(diff.stdout.utf8))) != nil, "not JSON: \(diff.stdout)")
    }

    @Test func anUnreadableKeyInTheTrustedDirectoryIsNamed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget(Run.fixture("safetensors/mlp.safetensors"), "-p", "zero", "-c", "1", "-q",
                                     "--sign-key", SignedRecordsTests.signing + "/p256.pem", "-o", scratch.file("out.safetensors"))
        #expect(run.status == 0, "\(run.stderr)")
        let keys = scratch.file("trusted")
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: SignedRecordsTests.signing + "/p256.pub.pem", toPath: keys + "/good.pem")
        _ = try scratch.write(Array("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n".utf8), to: "trusted/broken.pem")
        for command in ["verify", "audit"] {
            let target = command == "verify" ? scratch.file("out.safetensors.manifest.json") : scratch.path
            let checked = try Run.ckptforget(command, target, "--keys", keys)
            #expect(checked.status == 0, "\(command): \(checked.stderr)")
            #expect(checked.stderr.contains(keys + "/broken.pem") && checked.stderr.contains("warning"), "\(command): \(checked.stderr)")
        }
    }

    /// Statistics computed from data stay in memory: the run creates nothing outside the output's
    /// directory (strace lists every file and directory it creates), so no signal can leave a
    /// temporary directory behind.
    @Test func statisticsFromDataCreateNoTemporaryFiles() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let temporary = scratch.file("tmp")
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        let trace = scratch.file("trace")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["TMPDIR=" + temporary, "strace", "-f", "-o", trace, "-e", "trace=mkdir,mkdirat,open,openat,creat",
                             Run.binary, Self.model, "-p", "ssd:alpha=1", "--data", Run.fixture("engine/test_data.h5") + ":x_flat,y",
                             "--scale", "1/255", "-c", "2", "-q", "--no-sign", "-o", scratch.file("out.h5")]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let created = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
            .filter { ($0.contains("mkdir") || $0.contains("O_CREAT")) && !$0.contains("= -1") }
        #expect(created.allSatisfy { !$0.contains(temporary) }, "\(created)")
        #expect(created.contains { $0.contains(".out.h5.ckptforget-") }, "\(created)")
        #expect(scratch.contents == ["out.h5", "tmp", "trace"])
    }

    /// Every output is flushed to disk before it is renamed into place (strace shows the order).
    @Test func outputsAreSyncedBeforeTheyAreRenamed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.file("sharded"), withIntermediateDirectories: false)
        for (input, output) in [("keras/mnist_mlp.h5", "out.h5"), ("safetensors/sharded", "sharded/")] {
            let trace = scratch.file("\(output.filter(\.isLetter)).trace")
            // The commit's fsync, not the write-behind thread's fdatasync (noise).
            let run = try Run.run("strace", ["-f", "-y", "-o", trace, "-e", "trace=fsync,rename,renameat,renameat2,linkat",
                                             Run.binary, Run.fixture(input), "-p", "zero", "-c", "1", "-q",
                                             "--sign-key", SignedRecordsTests.signing + "/p256.pem", "-o", scratch.file(output)])
            #expect(run.status == 0, "\(run.stderr)")
            let lines = Self.joinedCalls(try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n"))
            let renames = lines.enumerated().filter { $0.element.contains("rename") && $0.element.contains(".tmp\"") && $0.element.contains("= 0") }
            #expect(renames.count >= 3, "\(lines)")
            for (index, line) in renames {
                // rename("DIR/.NAME.ckptforget-PID-N.tmp", "DIR/NAME") = 0
                guard let start = line.range(of: "\""), let end = line[start.upperBound...].range(of: "\"") else { continue }
                let temporary = String(line[start.upperBound..<end.lowerBound])
                var synced = lines[..<index].contains { $0.contains("fsync(") && $0.contains("<\(temporary)>") && $0.hasSuffix("= 0") }
                // A file written without a name was named by linkat("/proc/self/fd/N", ..., "TEMPORARY"): fsync(N<...>) came first.
                if let link = lines[..<index].lastIndex(where: { $0.contains("linkat(") && $0.contains("\"\(temporary)\"") && $0.hasSuffix("= 0") }),
                   let fd = lines[link].split(separator: "\"").dropFirst().first?.split(separator: "/").last {
                    synced = lines[..<link].contains { $0.contains("fsync(\(fd)<") && $0.hasSuffix("= 0") }
                }
                #expect(synced, "\(temporary) renamed without fsync")
            }
        }
    }

    /// strace -f lines with each call whole, where it returned: a call another thread's call
    /// interrupts is split into "PID name(args <unfinished ...>" and, later, "PID <... name resumed>rest"
    /// (two files fsynced at once, say), and is joined back at the second.
    static func joinedCalls(_ lines: [Substring]) -> [String] {
        var started: [Substring: Substring] = [:]  // by PID
        var joined: [String] = []
        for line in lines {
            let pid = line.prefix { $0.isNumber }
            if line.hasSuffix(" <unfinished ...>") {
                started[pid] = line.dropLast(" <unfinished ...>".count)
            } else if line.contains("<... "), let resumed = line.range(of: " resumed>"), let start = started.removeValue(forKey: pid) {
                joined.append(String(start + line[resumed.upperBound...]))
            } else {
                joined.append(String(line))
            }
        }
        return joined
    }

    /// Two tensor names equal under Unicode canonical equivalence (Fixtures/hdf5/unicode_names.h5:
    /// `fc/café` with U+00E9 and with e + U+0301) once trapped a Swift dictionary in `diff` and in
    /// runs with `--pre`; now every command refuses the file, naming both names' bytes.
    @Test func namesEqualOnlyUnderUnicodeNormalizationAreRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let file = Run.fixture("hdf5/unicode_names.h5")
        for arguments in [["diff", file, file], ["inspect", file], [file, "--pre", file, "-p", "negate:1", "-o", scratch.file("out.h5")]] {
            let run = try Run.run(Run.binary, arguments)
            #expect(run.status == 2, "\(arguments): \(run.status) \(run.stderr)")
            #expect(run.stderr.contains("63 61 66 c3 a9") && run.stderr.contains("63 61 66 65 cc 81") && run.stderr.contains("Unicode normalization"), "\(run.stderr)")
        }
        #expect(scratch.contents.isEmpty)
    }

    /// The same rule for safetensors, whose header is read with names compared as bytes (before,
    /// the second `café` replaced the first and the run blamed a gap in the data buffer).
    @Test func safetensorsNamesEqualOnlyUnderUnicodeNormalizationAreRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let header = Array(#"{"caf\u00e9":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"cafe\u0301":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#.utf8)
        let file = try scratch.write(BadDataTests.littleEndian([UInt64(header.count)]) + header + [UInt8](repeating: 0, count: 16), to: "cafe.safetensors")
        for arguments in [["inspect", file], [file, "-p", "zero", "-c", "0", "-o", scratch.file("out.safetensors")]] {
            let run = try Run.run(Run.binary, arguments)
            #expect(run.status == 2, "\(arguments): \(run.status) \(run.stderr)")
            #expect(run.stderr.contains("\(file): tensors 'caf") && run.stderr.contains("63 61 66 c3 a9") && run.stderr.contains("63 61 66 65 cc 81")
                    && run.stderr.contains("Unicode normalization"), "\(run.stderr)")
        }
        #expect(scratch.contents == ["cafe.safetensors"])
    }

    /// A tensor named with a terminal escape sequence cannot drive the terminal through a message:
    /// control characters are written as \xHH on stderr (JSON escapes them itself).
    @Test func controlCharactersInNamesAreEscapedInMessages() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let header = Array(#"{"\u001b[31mred":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8)
        let file = try scratch.write(BadDataTests.littleEndian([UInt64(header.count)]) + header + [UInt8](repeating: 0, count: 8), to: "esc.safetensors")
        let run = try Run.ckptforget("inspect", file, "--output-layer", "\u{1B}[31mred")
        #expect(run.status == 2, "\(run.stderr)")
        #expect(!run.stderr.utf8.contains(0x1B) && run.stderr.contains("\\x1B[31mred"), "\(run.stderr)")
        let json = try Run.ckptforget("inspect", file, "--json")
        #expect(json.status == 0 && json.stdout.contains(#""\u001b[31mred""#) && !json.stdout.utf8.contains(0x1B), "\(json.stdout)")
    }

    /// A safetensors file of one (rows, 4) tensor `fc.weight` of `dtype` with these raw bytes, and a bias.
    static func safetensors(dtype: String, rows: Int, weight: [UInt8], bias: [UInt8]) -> [UInt8] {
        let header = #"{"fc.bias":{"dtype":"\#(dtype)","shape":[\#(rows)],"data_offsets":[0,\#(bias.count)]},"#
            + #""fc.weight":{"dtype":"\#(dtype)","shape":[\#(rows),4],"data_offsets":[\#(bias.count),\#(bias.count + weight.count)]}}"#
        return littleEndian([UInt64(header.utf8.count)]) + Array(header.utf8) + bias + weight
    }

    /// NaN and infinity in a tensor to edit stop the run (exit 2, counted, nothing written) unless
    /// --allow-nonfinite; a float16 result past 65504 is reported as an overflow.
    @Test func nonFiniteWeightsAreRefusedOrCountedAndOverflowIsReported() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var weight = [Float](repeating: 1, count: 12)
        (weight[1], weight[6], weight[7]) = (.nan, .infinity, -.infinity)
        let file = try scratch.write(Self.safetensors(dtype: "F32", rows: 3, weight: Self.littleEndian(weight.map(\.bitPattern)),
                                                      bias: Self.littleEndian([Float](repeating: 0, count: 3).map(\.bitPattern))), to: "nan.safetensors")
        let refused = try Run.ckptforget(file, "-p", "suppress", "-c", "1", "-o", scratch.file("out.safetensors"))
        #expect(refused.status == 2 && refused.stderr.contains("tensor 'fc.weight' holds 1 NaN and 2 infinite values"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("out.safetensors")))
        let allowed = try Run.ckptforget(file, "-p", "suppress", "-c", "1", "-o", scratch.file("out.safetensors"), "--allow-nonfinite")
        #expect(allowed.status == 0 && allowed.stderr.contains("fc.weight holds 1 NaN and 2 infinite values; edited anyway"), "\(allowed.stderr)")
        let record = try Run.ckptforget("show", scratch.file("out.safetensors.manifest.json"), "--json").stdout
        #expect(record.contains("fc.weight holds 1 NaN and 2 infinite values"), "\(record)")
        // float16: negate:-2 gives W + 2·ΔW = 60000 + 2·(60000 − 30000) = 120000, past float16's 65504.
        let half = Self.littleEndian([UInt16](repeating: 0x7B53, count: 12))  // 60000 in float16
        let pre = Self.littleEndian([UInt16](repeating: 0x7753, count: 12))   // 30000 in float16
        let zeros = Self.littleEndian([UInt16](repeating: 0, count: 3))
        let post16 = try scratch.write(Self.safetensors(dtype: "F16", rows: 3, weight: half, bias: zeros), to: "post16.safetensors")
        let pre16 = try scratch.write(Self.safetensors(dtype: "F16", rows: 3, weight: pre, bias: zeros), to: "pre16.safetensors")
        let overflow = try Run.ckptforget(post16, "--pre", pre16, "-p", "negate:-2", "-o", scratch.file("o16.safetensors"), "--json")
        #expect(overflow.status == 0 && overflow.stderr.contains("negate:-2: 12 values of fc.weight overflowed F16 and were stored as infinity"), "\(overflow.stderr)")
        let shown = try Run.ckptforget("show", scratch.file("o16.safetensors.manifest.json"), "--json").stdout
        #expect(shown.contains("\"overflowed\": 12"), "\(shown)")
    }
}
