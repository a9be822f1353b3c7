import Checkpoint
import Foundation

/// Runs the built `ckptforget` (and other tools) the way a user or a Makefile does, capturing
/// stdout, stderr and the exit status.
struct Run {
    let status: Int32
    let stdout: String
    let stderr: String

    /// The `ckptforget` binary beside the test bundle (both live in SwiftPM's products directory).
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["CKPTFORGET"] { return path }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if directory.path.hasSuffix(".xctest/Contents/MacOS") { directory = directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
        return directory.appendingPathComponent("ckptforget").path
    }()

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ relative: String) -> String {
        repository.appendingPathComponent("Fixtures").appendingPathComponent(relative).path
    }

    /// `ckptforget ARGS...`
    static func ckptforget(_ arguments: String..., in directory: String? = nil) throws -> Run {
        try run(binary, arguments, in: directory)
    }

    /// `ckptforget ARGS...`, given up on after `seconds`: the process is killed (SIGTERM, then
    /// SIGKILL) and nil returned, so that a run that blocks fails its test instead of hanging it.
    static func ckptforget(_ arguments: [String], timeout seconds: Double) throws -> Run? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let (out, err) = (Pipe(), Pipe())
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        let group = DispatchGroup()
        nonisolated(unsafe) var outputData = Data(), errorData = Data()
        DispatchQueue.global().async(group: group) { outputData = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errorData = err.fileHandleForReading.readDataToEndOfFile() }
        guard finished.wait(timeout: .now() + seconds) == .success else {
            process.terminate()
            if finished.wait(timeout: .now() + 5) == .timedOut { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            group.wait()
            return nil
        }
        group.wait()
        return Run(status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
                   stderr: String(decoding: errorData, as: UTF8.self))
    }

    /// Any program, found on PATH when not absolute.
    static func run(_ program: String, _ arguments: [String], in directory: String? = nil) throws -> Run {
        let process = Process()
        if program.hasPrefix("/") {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [program] + arguments
        }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let (out, err) = (Pipe(), Pipe())
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes to the end before waiting, so a chatty child cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errorData = Data()
        DispatchQueue.global().async(group: group) { errorData = err.fileHandleForReading.readDataToEndOfFile() }
        let outputData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
                   stderr: String(decoding: errorData, as: UTF8.self))
    }
}

/// A scratch directory for one test.
struct Scratch {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("ckptforget-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Every entry, hidden ones included (temporary outputs start with a dot).
    var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    func write(_ bytes: [UInt8], to name: String) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: file(name)))
        return file(name)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// The files process `pid` has open in this directory, as `/proc/PID/fd` shows them: a file
    /// without a name (an output being written) reads `DIR/#INODE (deleted)`.
    func openFiles(of pid: Int32) -> [String] {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
            .filter { $0.hasPrefix(path + "/") }
    }

    /// Waits until process `pid` writes a file in this directory (or ends); true if it does, and
    /// that file has no name here.
    func waitForUnnamedOutput(of process: Process) -> Bool {
        while process.isRunning {
            let open = openFiles(of: process.processIdentifier)
            if !open.isEmpty { return open.allSatisfy { $0.hasSuffix(" (deleted)") } && contents.isEmpty }
            usleep(1000)
        }
        return false
    }
}

/// A zip of stored members with their CRCs, for tests that need an archive of given members.
enum StoredZip {
    static func bytes(_ members: [(name: String, content: [UInt8])]) -> [UInt8] {
        func le(_ value: Int, _ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        var out: [UInt8] = [], directory: [UInt8] = []
        for (name, content) in members {
            let nameBytes = Array(name.utf8), crc = Int(CRC32.of(content))
            let fields = le(0, 2) + le(0, 2) + le(0, 2) + le(0x21, 2) + le(crc, 4) + le(content.count, 4) + le(content.count, 4) + le(nameBytes.count, 2) + le(0, 2)
            directory += le(0x0201_4B50, 4) + le(0x0314, 2) + le(20, 2) + fields + le(0, 6) + le(0, 4) + le(out.count, 4) + nameBytes
            out += le(0x0403_4B50, 4) + le(20, 2) + fields + nameBytes + content
        }
        let end = le(0x0605_4B50, 4) + le(0, 4) + le(members.count, 2) + le(members.count, 2) + le(directory.count, 4) + le(out.count, 4) + le(0, 2)
        return out + directory + end
    }
}
