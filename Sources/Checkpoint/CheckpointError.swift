/// Why a checkpoint could not be read or written. Every message names the file and, where there
/// is one, the tensor, and says what was expected.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case notFound(path: String)
    case unreadable(path: String, reason: String)
    /// An input that is a FIFO, a directory, a device or a socket where a file was expected (exit 2).
    case notRegularFile(path: String, kind: String)
    case unrecognizedFormat(path: String, detail: String)
    /// A format ckptforget recognises and does not read (exit 2): what it is and how to re-save it.
    case refusedFormat(path: String, format: String, hint: String)
    case safetensors(path: String, SafetensorsProblem)
    /// A zip archive (`.keras`, `torch.save`) breaks a rule of the format (exit 2).
    case zip(path: String, ZipProblem)
    /// A `.keras` archive's layout is not what Keras writes (exit 2).
    case keras(path: String, KerasProblem)
    /// A `torch.save` archive's layout is not what torch writes (exit 2).
    case torch(path: String, TorchProblem)
    /// A `torch.save` pickle holds something a state dict does not (exit 2); `member` is the pickle's name.
    case pickle(path: String, member: String, PickleProblem)
    case shardIndex(path: String, problem: ShardIndexProblem)
    case hdf5(path: String, call: String, message: String)
    case unsupported(path: String, tensor: String, reason: String)
    /// A tensor too large to hold in memory (exit 2).
    case tooLarge(path: String, tensor: String, shape: [Int], bytes: Int, limit: Int)
    /// An object of the file is damaged (exit 2): refused before anything is copied.
    case damaged(path: String, object: String, reason: String)
    case writeFailed(path: String, reason: String)
    /// Two tensor names equal under Unicode canonical equivalence but not as bytes.
    case ambiguousNames(path: String, first: String, second: String)
    /// The output may not be written where it was asked for (bad usage, exit 2).
    case writeRefused(path: String, reason: String)

    /// True when the input itself is at fault (exit 2); false for failures while writing (exit 1).
    public var isBadInput: Bool {
        if case .writeFailed = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .notFound(let path): "\(path): no such file or directory"
        case .unreadable(let path, let reason): "\(path): cannot read: \(reason)"
        case .notRegularFile(let path, let kind): "\(path): it is \(kind), not a regular file; give a checkpoint file or a model directory"
        case .unrecognizedFormat(let path, let detail):
            "\(path): not a checkpoint ckptforget can read (\(detail)); expected HDF5 (.h5, .weights.h5, .nir), a Keras .keras archive, a torch.save state dict (.pt, .pth, .bin), safetensors, or a shard index (model.safetensors.index.json, pytorch_model.bin.index.json)"
        case .refusedFormat(let path, let format, let hint): "\(path): \(format); \(hint)"
        case .safetensors(let path, let problem): "\(path): \(problem)"
        case .zip(let path, let problem): "\(path): \(problem)"
        case .torch(let path, let problem): "\(path): \(problem)"
        case .keras(let path, let problem): "\(path): \(problem)"
        case .pickle(let path, let member, let problem): "\(path): \(member): \(problem)"
        case .shardIndex(let path, let problem): "\(path): \(problem)"
        case .hdf5(let path, let call, let message): "\(path): HDF5 \(call) failed\(message.isEmpty ? "" : ": \(message)")"
        case .unsupported(let path, let tensor, let reason): "\(path): tensor '\(tensor)': \(reason)"
        case .tooLarge(let path, let tensor, let shape, let bytes, let limit):
            "\(path): tensor '\(tensor)' of shape \(shape) needs \(bytes) bytes in memory, more than this machine's \(limit); refusing to read it (a damaged or hostile file?)"
        case .damaged(let path, let object, let reason): "\(path): '\(object)' is damaged: \(reason) (the file cannot be copied safely)"
        case .writeFailed(let path, let reason): "\(path): cannot write: \(reason)"
        case .ambiguousNames(let path, let first, let second):
            "\(path): tensors '\(first)' (UTF-8 \(Self.hex(first))) and '\(second)' (UTF-8 \(Self.hex(second))) have names that differ only in "
                + "Unicode normalization, which ckptforget cannot keep apart; rename one (nothing was read further)"
        case .writeRefused(let path, let reason): "\(path): refusing to write: \(reason)"
        }
    }

    /// A string's UTF-8 bytes in hex, for names that look alike.
    static func hex(_ text: String) -> String { text.utf8.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ") }
}
