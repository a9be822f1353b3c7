import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Faults from outside the process: a disk that fills while the output is written, a directory
/// that cannot be written, signals at random moments of a large run (SIGKILL included), and an
/// input replaced while it is read. Each time: no output, no temporary file, the input unchanged,
/// and a message that says what happened. The small filesystems are tmpfs mounts the test makes
/// where it may mount (root with CAP_SYS_ADMIN); elsewhere the fallback each test names.
@Suite(.serialized) struct FaultTests {
    static let key = SignedRecordsTests.signing + "/p256.pem"

    /// A tmpfs of `bytes` mounted on a fresh directory (read-only if asked), or nil where the
    /// test may not mount.
    final class SmallFilesystem {
        let path: String
        init?(bytes: Int, readOnly: Bool = false) {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("ckptforget-fs-\(UUID().uuidString)").path
            guard (try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)) != nil else { return nil }
            let options = "size=\(bytes)" + (readOnly ? ",ro" : "")
            guard let run = try? Run.run("mount", ["-t", "tmpfs", "-o", options, "tmpfs", path]), run.status == 0 else {
                rmdir(path)
                return nil
            }
        }
        func file(_ name: String) -> String { "\(path)/\(name)" }
        var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
        deinit {
            _ = try? Run.run("umount", [path])
            rmdir(path)
        }
    }

    /// A safetensors file of `megabytes` MB of zeros in one tensor `head.weight` of 10 rows (sparse,
    /// so making it is instant), long enough to copy that a run can be caught in the middle.
    static func largeSafetensors(in scratch: Scratch, megabytes: Int) throws -> String {
        let columns = megabytes * 1_000_000 / 40
        let header = #"{"head.weight":{"dtype":"F32","shape":[10,\#(columns)],"data_offsets":[0,\#(columns * 40)]}}"#
        let input = scratch.file("big.safetensors")
        #expect(FileManager.default.createFile(atPath: input, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: input))
        try handle.write(contentsOf: Data(BadDataTests.littleEndian([UInt64(header.utf8.count)]) + Array(header.utf8)))
        try handle.truncate(atOffset: UInt64(8 + header.utf8.count + columns * 40))
        try handle.close()
        return input
    }

    static func digest(_ path: String) throws -> String {
        let run = try Run.run("openssl", ["dgst", "-sha256", "-r", path])
        return String(run.stdout.prefix(64))
    }

    static func start(_ arguments: [String], errors: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Run.binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { _, new in new }
        process.standardError = errors ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits until `process` has a file open under `directory` (named or not).
    static func waitUntilWriting(_ process: Process, in directory: String) -> Bool {
        while process.isRunning {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/fd")) ?? []
            if fds.contains(where: { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process.processIdentifier)/fd/\($0)"))?.hasPrefix(directory + "/") == true }) {
                return true
            }
            usleep(500)
        }
        return false
    }

    /// Fills the filesystem at `directory` with one file until no byte more fits.
    static func fill(_ directory: String) {
        let fd = open(directory + "/filler", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let block = [UInt8](repeating: 0xAB, count: 4096)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        var one: UInt8 = 1
        while write(fd, &one, 1) > 0 {}
    }

    /// The disk fills while the output is written (the run is stopped once it writes, the disk is
    /// filled, the run continues): nothing of the output is left and the input is unchanged. Our
    /// own writers (safetensors) exit 1 naming the output and the cause; libhdf5 1.10 may instead
    /// crash inside H5Ocopy when a write fails (man page, BUGS), and then the temporary file is
    /// removed by the crash handler. (A disk already too full is refused before any work.)
    @Test(arguments: [("safetensors/mlp.safetensors", "out.safetensors"), ("keras/mnist_mlp.h5", "out.h5")])
    func theDiskFillsWhileTheOutputIsWritten(input: String, output: String) throws {
        guard let disk = SmallFilesystem(bytes: 8 << 20) else {
            // Where mounting is not allowed, a file-size limit plays the full disk (NothingLostTests).
            let run = try Run.run("sh", ["-c", "ulimit -f 16; exec \"$0\" \"$@\"", Run.binary, Run.fixture(input), "-p", "zero", "-c", "1", "-q", "--no-sign", "-o", "/tmp/\(UUID().uuidString)-\(output)"])
            #expect(run.status == 1 && run.stderr.contains("the file-size limit (ulimit -f)"), "\(run.stderr)")
            return
        }
        let before = try Self.digest(Run.fixture(input))
        let errors = Pipe()
        let process = try Self.start([Run.fixture(input), "-p", "zero", "-c", "1", "--sign-key", Self.key, "-o", disk.file(output)], errors: errors)
        #expect(Self.waitUntilWriting(process, in: disk.path))
        kill(process.processIdentifier, SIGSTOP)
        Self.fill(disk.path)
        kill(process.processIdentifier, SIGCONT)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let crashedInLibHDF5 = output.hasSuffix(".h5") && process.terminationReason == .uncaughtSignal
            && [SIGSEGV, SIGBUS, SIGABRT].contains(process.terminationStatus)
        if !crashedInLibHDF5 {
            #expect(process.terminationReason == .exit && process.terminationStatus == 1, "\(message)")
            #expect(message.contains(disk.file(output)) && message.contains("No space left on device"), "\(message)")
        }
        #expect(disk.contents == ["filler"], "left behind: \(disk.contents)")
        #expect(try Self.digest(Run.fixture(input)) == before)
    }

    /// A directory nothing can be created in (a read-only tmpfs; without mounting, /proc/self):
    /// exit 1 naming the output and the cause, before any work.
    @Test func anUnwritableDirectoryIsNamed() throws {
        let disk = SmallFilesystem(bytes: 1 << 20, readOnly: true)
        let output = disk?.file("out.safetensors") ?? "/proc/self/out.safetensors"
        let run = try Run.ckptforget(Run.fixture("safetensors/mlp.safetensors"), "-p", "zero", "-c", "1", "-q", "--sign-key", Self.key, "-o", output)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains(output) && (run.stderr.contains("Read-only file system") || run.stderr.contains("denied")
            || run.stderr.contains("No such file")), "\(run.stderr)")
        #expect(disk?.contents ?? [] == [])
    }

    /// SIGTERM and SIGKILL at random moments of a signed run on a 120 MB input: the directory
    /// holds nothing or the model with both its records, never a temporary file (a file being
    /// written has no name until it is committed, so even SIGKILL leaves none), and the input is
    /// unchanged. (A SIGKILL inside the commit's renames, a window of microseconds, could leave
    /// the first files renamed, as a power loss could; see OutputTransaction.)
    @Test(arguments: [SIGTERM, SIGKILL])
    func signalsAtRandomMomentsLeaveNothingOrEverything(signalNumber: Int32) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = try Self.largeSafetensors(in: scratch, megabytes: 120)
        let before = try Self.digest(input)
        // How long a whole run takes here, to spread the signals over it.
        let start = Date()
        let timed = try Run.ckptforget(input, "-p", "dampen:0.5", "-c", "1", "-q", "--sign-key", Self.key, "-o", scratch.file("timed.safetensors"))
        #expect(timed.status == 0, "\(timed.stderr)")
        let duration = Date().timeIntervalSince(start)
        var random = SystemRandomNumberGenerator()
        var outcomes: [String: Int] = [:]
        for attempt in 0..<6 {
            let directory = scratch.file("run\(attempt)")
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            let process = try Self.start([input, "-p", "dampen:0.5", "-c", "1", "-q", "--sign-key", Self.key, "-o", directory + "/out.safetensors"])
            usleep(UInt32(Double.random(in: 0...duration, using: &random) * 1_000_000))
            kill(process.processIdentifier, signalNumber)
            process.waitUntilExit()
            let left = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            if left.isEmpty {
                outcomes["nothing", default: 0] += 1
            } else {
                #expect(left == ["out.safetensors", "out.safetensors.manifest.json", "out.safetensors.sig"], "attempt \(attempt) left \(left)")
                outcomes["everything", default: 0] += 1
            }
        }
        #expect(outcomes.values.reduce(0, +) == 6, "\(outcomes)")
        #expect(try Self.digest(input) == before)
    }

    /// The input replaced (renamed over) or written to while the run reads it: exit 2 naming it,
    /// nothing written, for a streamed input (safetensors) and one libhdf5 and the digests read
    /// separately (HDF5).
    @Test(arguments: [("safetensors/mlp.safetensors", "replace"), ("safetensors/mlp.safetensors", "append"),
                      ("keras/mnist_mlp.h5", "replace"), ("keras/mnist_mlp.h5", "append")])
    func anInputChangedDuringTheRunIsRefused(fixture: String, change: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let name = URL(fileURLWithPath: fixture).lastPathComponent
        let input = scratch.file(name)
        try FileManager.default.copyItem(atPath: Run.fixture(fixture), toPath: input)
        let outputs = try Scratch()
        defer { outputs.remove() }
        let output = outputs.file("out-" + name)
        let errors = Pipe()
        let process = try Self.start([input, "-p", "zero", "-c", "1", "--sign-key", Self.key, "-o", output], errors: errors)
        #expect(Self.waitUntilWriting(process, in: outputs.path))
        kill(process.processIdentifier, SIGSTOP)
        if change == "replace" {
            try FileManager.default.copyItem(atPath: Run.fixture(fixture), toPath: scratch.file("other"))
            #expect(rename(scratch.file("other"), input) == 0)
        } else {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: input))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data([0]))
            try handle.close()
        }
        kill(process.processIdentifier, SIGCONT)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2, "\(message)")
        #expect(message.contains("\(input) changed while the run read it") && message.contains("nothing was written"), "\(message)")
        #expect(outputs.contents.isEmpty, "left behind: \(outputs.contents)")
    }
}
