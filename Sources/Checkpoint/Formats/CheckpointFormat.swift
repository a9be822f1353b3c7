/// A file format as its backend declares it: its name, how outputs in it are named, whether the
/// model is one file or a directory of files, and what the layouts may assume about its names.
/// Adding a format is one backend file and one line in `CheckpointFormats.backends`.
public struct CheckpointFormat: Sendable, Equatable, CustomStringConvertible {
    /// As printed by `inspect` and recorded in reports ("HDF5", "safetensors", ...).
    public let name: String
    /// Output names this format accepts (suffixes), checked before any work; empty accepts any
    /// name that no other format's suffixes claim.
    public let outputSuffixes: [String]
    /// What to tell a user whose output name does not fit.
    public let outputHint: String
    /// The model is a directory of files (an index and its shards): records sit beside the
    /// directory and the model signature covers all of it.
    public let isDirectoryModel: Bool
    /// What separates a tensor name's layer from its role: "/" in HDF5 paths, "." in state-dict keys.
    public let nameSeparator: Character
    /// Whether Keras may have stored optimizer state in it (HDF5: `optimizer_weights/`, `optimizer/`).
    public let mayHoldKerasOptimizerState: Bool

    public init(name: String, outputSuffixes: [String], outputHint: String, isDirectoryModel: Bool = false,
                nameSeparator: Character, mayHoldKerasOptimizerState: Bool = false) {
        self.name = name
        self.outputSuffixes = outputSuffixes
        self.outputHint = outputHint
        self.isDirectoryModel = isDirectoryModel
        self.nameSeparator = nameSeparator
        self.mayHoldKerasOptimizerState = mayHoldKerasOptimizerState
    }

    public var description: String { name }

    public static func == (a: CheckpointFormat, b: CheckpointFormat) -> Bool { a.name == b.name }

    /// Why `destination` is not a name for an output in this format, or nil when it is.
    public func problem(withOutputName destination: String) -> String? {
        if outputSuffixes.isEmpty {
            let claimed = CheckpointFormats.all.filter { $0 != self }.flatMap(\.outputSuffixes)
            guard let suffix = claimed.first(where: destination.hasSuffix) else { return nil }
            return "\(destination): the output is written in the input's format (\(name)), not as \(suffix); \(outputHint)"
        }
        guard !outputSuffixes.contains(where: destination.hasSuffix) else { return nil }
        return "\(destination): the output is written in the input's format (\(name)); \(outputHint)"
    }

    /// The path records describe for a checkpoint at `path`: the file, or the directory of a
    /// directory model.
    public func model(at path: String) -> String {
        guard isDirectoryModel else { return path }
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return directory.isEmpty ? "." : directory
    }
}
