/// One case per rule of the pickle subset `PickleReader` interprets (offsets are byte offsets in
/// the pickle, as `python -m pickletools` prints them).
public enum PickleProblem: Error, Equatable, CustomStringConvertible, Sendable {
    /// An opcode outside torch's weights-only list (GLOBAL, REDUCE, ... are in it; INST, OBJ,
    /// STACK_GLOBAL, EXT*, ... are not).
    case opcodeNotAllowed(opcode: UInt8, name: String, offset: Int)
    /// A GLOBAL that a state dict does not need (`os system`, a model class, ...).
    case globalNotAllowed(module: String, name: String, offset: Int)
    /// REDUCE or NEWOBJ applied to something that is not one of the allowed callables.
    case callNotAllowed(callable: String, offset: Int)
    /// An allowed callable given arguments of the wrong kind or number.
    case badArguments(callable: String, reason: String, offset: Int)
    /// An opcode that needs a value of one kind found another (APPEND to a dict, SETITEM on a list, BUILD on a tensor).
    case wrongOperand(opcode: String, expected: String, found: String, offset: Int)
    case stackUnderflow(opcode: String, offset: Int)
    case noMark(opcode: String, offset: Int)
    case memoMissing(index: Int, offset: Int)
    case badPersistentID(reason: String, offset: Int)
    case badText(reason: String, offset: Int)
    case badProtocol(Int, offset: Int)
    case tooLarge(what: String, limit: Int, offset: Int)
    /// The bytes end inside an opcode or before STOP.
    case truncated(offset: Int)
    /// Bytes after STOP (a second pickle that a reader of the first would never look at).
    case trailingBytes(offset: Int, count: Int)
    /// The pickle is not a dictionary of tensors (a whole pickled model, a list, ...).
    case notAStateDict(found: String)
    case unsupportedKey(path: String, found: String)
    case duplicateName(String)
    /// BUILD's state sets an attribute holding a tensor or storage: `torch.load` returns it on the
    /// state dict, but it is not one of the dict's keys, so it would be neither listed nor edited.
    case tensorInAttribute(attribute: String, offset: Int)
    /// BUILD's `_metadata` holds something other than the dicts, strings and integers torch writes.
    case badMetadata(found: String, offset: Int)
    /// A view whose elements × itemsize overflow or pass `PickleReader.maximumTensorBytes` (an
    /// expanded view of one element can declare any shape).
    case tensorTooLarge(name: String, shape: [Int], limit: Int)

    public var description: String {
        switch self {
        case .opcodeNotAllowed(let opcode, let name, let offset):
            "opcode \(name) (0x\(String(opcode, radix: 16))) at byte \(offset) is not one a state dict needs; nothing from the file is run"
        case .globalNotAllowed(let module, let name, let offset):
            "GLOBAL \(module).\(name) at byte \(offset) is not one a state dict needs (allowed: \(PickleReader.allowedGlobalNames)); nothing from the file is run. A whole pickled model? Save model.state_dict() instead"
        case .callNotAllowed(let callable, let offset):
            "call of \(callable) at byte \(offset): only OrderedDict and torch's tensor and parameter rebuild functions are called"
        case .badArguments(let callable, let reason, let offset):
            "\(callable) at byte \(offset): \(reason)"
        case .wrongOperand(let opcode, let expected, let found, let offset):
            "\(opcode) at byte \(offset) needs \(expected), found \(found)"
        case .stackUnderflow(let opcode, let offset):
            "\(opcode) at byte \(offset) finds too few values on the stack"
        case .noMark(let opcode, let offset):
            "\(opcode) at byte \(offset) has no MARK before it"
        case .memoMissing(let index, let offset):
            "memo entry \(index) read at byte \(offset) was never stored"
        case .badPersistentID(let reason, let offset):
            "persistent id at byte \(offset): \(reason)"
        case .badText(let reason, let offset):
            "text at byte \(offset): \(reason)"
        case .badProtocol(let version, let offset):
            "pickle protocol \(version) at byte \(offset); expected 2 to 5"
        case .tooLarge(let what, let limit, let offset):
            "\(what) at byte \(offset) exceeds the limit of \(limit)"
        case .truncated(let offset):
            "the pickle ends at byte \(offset), inside an opcode or before STOP"
        case .trailingBytes(let offset, let count):
            "\(count) bytes after STOP at byte \(offset) (a second pickle hidden behind the first?)"
        case .notAStateDict(let found):
            "the pickle holds \(found), not a state dict (a dictionary of tensors); save model.state_dict()"
        case .unsupportedKey(let path, let found):
            "key \(found) in \(path.isEmpty ? "the state dict" : "'\(path)'"): keys must be strings (integers inside nested dictionaries)"
        case .duplicateName(let name):
            "two tensors are both named '\(name)' once nested keys are joined with '.'"
        case .tensorInAttribute(let attribute, let offset):
            "BUILD at byte \(offset): attribute '\(attribute)' of a state dict holds a tensor outside the state dict's keys, which ckptforget would not edit"
        case .badMetadata(let found, let offset):
            "BUILD at byte \(offset): the state dict's _metadata holds \(found); torch writes only dicts, strings and integers there"
        case .tensorTooLarge(let name, let shape, let limit):
            "tensor '\(name)' of shape \(shape) would take more than \(limit) bytes (2^48); no checkpoint holds such a tensor"
        }
    }
}
