import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Nothing a user holds may be lost or overwritten: every path a run reads is protected from every
/// path it writes, outputs replace only regular files, commits are all or nothing and say what they
/// did, and no crash leaves a temporary file.
@Suite struct NothingLostTests {
    static let model = Run.fixture("keras/mnist_mlp.h5")
    static let key = SignedRecordsTests.signing + "/p256.pem"

    /// Runs with an environment, returning the status and stderr.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        try Run.run("env", environment.map { "\($0.key)=\($0.value)" } + [Run.binary] + arguments)
    }

    @Test func theSigningKeyFromTheEnvironmentAndTheParentRecordAreNeverOverwritten() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let key = scratch.file("k.pem")
        try FileManager.default.copyItem(atPath: Self.key, toPath: key)
        chmod(key, 0o600)
        let keyBytes = try Data(contentsOf: URL(fileURLWithPath: key))
        for arguments in [["-o", key], ["-o", scratch.file("o.h5"), "--manifest", key]] {
            let run = try Self.run([Self.model, "-p", "suppress", "-c", "0", "-q"] + arguments, environment: ["CKPTFORGET_SIGNING_KEY": key])
            #expect(run.status == 2 && run.stderr.contains("refusing to write: it is the input"), "\(run.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) == keyBytes)
        // The input's own record, found as parent, is an input too.
        let signed = scratch.file("signed.h5")
        #expect(try Run.ckptforget(Self.model, "-p", "suppress", "-c", "0", "-q", "--sign-key", key, "-o", signed).status == 0)
        let record = try Data(contentsOf: URL(fileURLWithPath: signed + ".manifest.json"))
        let over = try Run.ckptforget(signed, "-p", "suppress", "-c", "1", "-q", "--no-sign", "-o", signed + ".manifest.json")
        #expect(over.status == 2 && over.stderr.contains("it is the input"), "\(over.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: signed + ".manifest.json")) == record)
        let empty = try Run.ckptforget(Self.model, "-p", "suppress", "-c", "0", "--manifest", "", "-o", scratch.file("e.h5"))
        #expect(empty.status == 2 && empty.stderr.contains("--manifest needs a path"), "\(empty.stderr)")
    }

    /// A symbolic link, a device, a FIFO or a directory under an output's name is refused, not replaced.
    @Test func onlyRegularFilesAreReplaced() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let target = try scratch.write([1, 2, 3], to: "target")
        try FileManager.default.createSymbolicLink(atPath: scratch.file("link.h5"), withDestinationPath: target)
        #expect(mkfifo(scratch.file("fifo.h5"), 0o600) == 0)
        try FileManager.default.createDirectory(atPath: scratch.file("dir.h5.manifest.json"), withIntermediateDirectories: false)
        let cases: [([String], String)] = [
            (["-o", scratch.file("link.h5")], "it is a symbolic link"), (["-o", scratch.file("fifo.h5")], "it is a FIFO"),
            (["-o", "/dev/null", "--no-sign"], "it is a device"), (["-o", scratch.file("dir.h5")], "it is a directory"),
        ]
        for (arguments, message) in cases {
            let run = try Run.run(Run.binary, [Self.model, "-p", "suppress", "-c", "0", "-q"] + arguments)
            #expect(run.status == 2 && run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data([1, 2, 3]))
        #expect(scratch.contents == ["dir.h5.manifest.json", "fifo.h5", "link.h5", "target"])
        var st = stat()
        #expect(stat("/dev/null", &st) == 0 && st.st_mode & S_IFMT == S_IFCHR)
    }

    /// Damaged files that crashed libhdf5 while it copied them are refused first, naming the object.
    @Test(arguments: [(116073, "model_weights/output/mnist_mlp/output/kernel", "a message of a type HDF5 does not know"),
                      (116673, "model_weights/output/mnist_mlp/output/bias", "a message of a type HDF5 does not know"),
                      (9944, "model_weights/hidden/mnist_mlp/hidden/kernel", "where its shape and datatype need 100352")])
    func damagedObjectHeadersAreRefused(offset: Int, object: String, reason: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.model)))
        bytes[offset] ^= 0xFF
        let input = try scratch.write(bytes, to: "damaged.h5")
        let run = try Run.ckptforget(input, "-p", "suppress", "-c", "1", "-q", "-o", scratch.file("out.h5"))
        #expect(run.status == 2 && run.stderr.contains("'\(object)' is damaged") && run.stderr.contains(reason), "\(run.stderr)")
        #expect(scratch.contents == ["damaged.h5"])
    }

    @Test func aTensorLargerThanMemoryIsRefusedBeforeAllocating() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget(Run.fixture("hdf5/unwritten_4tib.h5"), "--output-layer", "fc", "-p", "zero", "-c", "1", "-q", "-o", scratch.file("out.h5"))
        #expect(run.status == 2 && run.stderr.contains("tensor 'fc/weight' of shape [1048576, 1048576] needs 4398046511104 bytes"), "\(run.stderr)")
        #expect(scratch.contents.isEmpty)
    }

    /// A file-size limit too small for the output stops the run before libhdf5 writes (it crashed on
    /// a failed write); nothing is left behind.
    @Test func noRoomForTheOutputIsNamedBeforeWriting() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.run("sh", ["-c", "ulimit -f 200; exec \"$0\" \"$@\"", Run.binary, Self.model, "-p", "suppress", "-c", "1", "-q",
                                     "-o", scratch.file("out.h5")])
        #expect(run.status == 1 && run.stderr.contains("the file-size limit (ulimit -f) is 102400 bytes"), "\(run.stderr)")
        #expect(scratch.contents.isEmpty)
    }

    /// A fatal signal (here SIGSEGV sent while a large output is written) removes the temporary file
    /// before the process dies.
    @Test func aCrashLeavesNoTemporaryFile() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let count = 10 * 8_000_000
        let header = #"{"head.weight":{"dtype":"F32","shape":[10,8000000],"data_offsets":[0,\#(count * 4)]}}"#
        let input = scratch.file("big.safetensors")
        #expect(FileManager.default.createFile(atPath: input, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: input))
        try handle.write(contentsOf: Data(BadDataTests.littleEndian([UInt64(header.utf8.count)]) + Array(header.utf8)))
        try handle.truncate(atOffset: UInt64(8 + header.utf8.count + count * 4))
        try handle.close()
        let output = try Scratch()
        defer { output.remove() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Run.binary)
        process.arguments = [input, "-p", "dampen:0.5", "-c", "1", "-q", "--no-sign", "-o", output.file("out.safetensors")]
        process.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { _, new in new }
        process.standardError = FileHandle.nullDevice
        try process.run()
        #expect(output.waitForUnnamedOutput(of: process), "\(output.contents)")
        kill(process.processIdentifier, SIGSEGV)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGSEGV)
        #expect(output.contents.isEmpty, "left behind: \(output.contents)")
    }

    /// A signal at any moment of a signed run: either nothing was written and the message says so,
    /// or the model and both its records are all in place and the message (if any) says that.
    @Test func lateSignalsNeverLeaveAModelWithoutItsRecords() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var random = SystemRandomNumberGenerator()
        var outcomes: [String: Int] = [:]
        for attempt in 0..<60 {
            let directory = scratch.file("run\(attempt)")
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Run.binary)
            process.arguments = [Run.fixture("safetensors/mlp.safetensors"), "-p", "suppress", "-c", "1", "-q", "--sign-key", Self.key,
                                 "-o", directory + "/out.safetensors"]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            usleep(UInt32.random(in: 0...60_000, using: &random))
            kill(process.processIdentifier, SIGINT)
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let left = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            let complete = ["out.safetensors", "out.safetensors.manifest.json", "out.safetensors.sig"]
            if process.terminationStatus == 0 {
                #expect(left == complete, "exit 0 left \(left)")
                outcomes["finished", default: 0] += 1
            } else {
                #expect(process.terminationStatus == 130, "\(message)")
                if message.contains("no output written") {
                    #expect(left.isEmpty, "'no output written' but \(left)")
                    outcomes["nothing", default: 0] += 1
                } else {
                    #expect(message.contains("interrupted after the output was written") && left == complete, "\(message): \(left)")
                    outcomes["written", default: 0] += 1
                }
            }
        }
        #expect(outcomes.values.reduce(0, +) == 60, "\(outcomes)")
    }
}
