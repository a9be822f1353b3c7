import Engine
import Manifest

/// Option values that several subcommands read the same way.
enum SharedOptions {
    /// `--class 2 --class 5` or `--class 2,5`: non-negative integers, each once, in the order given.
    static func classes(_ values: [String]) throws(UsageError) -> [Int] {
        var classes: [Int] = []
        for value in values {
            for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                guard let c = Int(part), c >= 0 else {
                    throw .invalid("--class \(value): expected a class index (a non-negative integer)")
                }
                if !classes.contains(c) { classes.append(c) }
            }
        }
        return classes
    }

    /// `--class 2 --class dog` or `--class 2,dog`: indices, and names for the file's own class labels
    /// (resolved once the file is open), each once, in the order given.
    static func classesOrNames(_ values: [String]) throws(UsageError) -> (indices: [Int], names: [String]) {
        var indices: [Int] = [], names: [String] = []
        for value in values {
            for part in value.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                if let c = Int(part) {
                    guard c >= 0 else { throw .invalid("--class \(value): expected a class index (a non-negative integer) or a class name") }
                    if !indices.contains(c) { indices.append(c) }
                } else {
                    guard !part.isEmpty else { throw .invalid("--class \(value): an empty class name") }
                    if !names.contains(part) { names.append(part) }
                }
            }
        }
        return (indices, names)
    }

    /// `--relearn N`: a positive number of steps.
    static func relearnLimit(_ text: String) throws(UsageError) -> Int {
        guard let steps = Int(text), (1...1_000_000).contains(steps) else { throw .invalid("--relearn \(text): expected a number of steps from 1 to 1000000") }
        return steps
    }

    /// `--fisher exact` or `--fisher batch:B`.
    static func fisherMode(_ text: String) throws(UsageError) -> FisherMode {
        if text == "exact" { return .exact }
        if text.hasPrefix("batch:"), let size = Int(text.dropFirst(6)), size > 0 { return .batch(size) }
        throw .invalid("--fisher \(text): expected exact or batch:B (B a positive batch size)")
    }

    /// `--key PUB` (repeatable) and/or `--keys DIR`; at least one. A .pem in DIR that holds no
    /// public key is named on stderr.
    static func trustedKeys(_ arguments: Arguments) throws -> [TrustedKey] {
        var keys = try arguments.all("--key").map { TrustedKey(name: $0, key: try PublicKey(pemFile: $0)) }
        if let directory = arguments.value("--keys") {
            let found = try TrustedKey.all(in: directory)
            for skipped in found.skipped { Console.warning("\(skipped.path) is not used as a trusted key: \(skipped.reason)") }
            keys += found.keys
        }
        guard !keys.isEmpty else { throw UsageError.invalid("no trusted key: give --key PUB.pem or --keys DIR") }
        return keys
    }
}
