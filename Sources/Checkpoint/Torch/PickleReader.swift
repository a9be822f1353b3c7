/// A small interpreter for the pickles `torch.save` writes of a state dict: only the opcodes
/// torch's own weights-only unpickler allows, only the globals a state dict needs (OrderedDict,
/// the tensor and parameter rebuild functions, storage types and dtypes), and no code from the
/// file is ever run: "calling" an allowed global builds a description of the tensor. Memo, stack,
/// marks, strings and containers have limits; every rule broken is a `PickleProblem` naming the
/// byte offset. The result is the tensors by state-dict key (nested dictionaries joined with `.`).
struct PickleReader {
    struct Result: Sendable {
        var tensors: [(name: String, record: TorchTensorRecord)]
        var storages: [TorchStorage]
        /// Names of the dictionaries that are an optimizer's state (`Optimizer.state_dict()`: `state`
        /// and `param_groups`), such as a training checkpoint's `optimizer`; their tensors are moments.
        var optimizerGroups: [String] = []
    }

    struct Dict {
        var keys: [PickleValue] = []
        var values: [PickleValue] = []
        var index: [Key: Int] = [:]
    }

    /// Dictionary keys as Python hashes them (True == 1). Strings are keyed by their UTF-8 bytes, as
    /// Python compares them: Swift's `String` equality would make `'café'` (U+00E9) and `'cafe\u{301}'`
    /// one key, keeping the first spelling with the second value.
    enum Key: Hashable { case none, int(Int), string([UInt8]), float(UInt64) }

    // The machine's state, shared by the reader's files (the stack and operands, the tensor calls,
    // the state dict); nothing outside them touches it.
    let bytes: [UInt8]
    let limits: Limits
    var position = 0
    var opcodeOffset = 0
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]
    var tuples: [[PickleValue]] = []
    var lists: [[PickleValue]] = []
    var dicts: [Dict] = []
    var heapCount = 0
    var buildWork = 0
    var storages: [TorchStorage] = []
    var storageOfKey: [String: Int] = [:]
    var tensors: [TorchTensorRecord] = []

    /// Interprets `bytes` (a whole `data.pkl`) and returns its tensors.
    static func read(_ bytes: [UInt8], limits: Limits = Limits()) throws(PickleProblem) -> Result {
        var reader = PickleReader(bytes: bytes, limits: limits)
        let top = try reader.run()
        return try reader.stateDict(top)
    }

    private init(bytes: [UInt8], limits: Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    // MARK: The loop

    private mutating func run() throws(PickleProblem) -> PickleValue {
        while true {
            opcodeOffset = position
            let opcode = try byte()
            switch opcode {
            case 0x80:  // PROTO
                let version = Int(try byte())
                guard (2...5).contains(version) else { throw .badProtocol(version, offset: opcodeOffset) }
            case 0x2E:  // STOP
                let result = try pop("STOP")
                guard position == bytes.count else { throw .trailingBytes(offset: position, count: bytes.count - position) }
                return result
            case 0x28:  // MARK
                guard marks.count < limits.marks else { throw .tooLarge(what: "MARK nesting", limit: limits.marks, offset: opcodeOffset) }
                marks.append(stack.count)
            case 0x63: try push(.global(try global()))  // GLOBAL
            case 0x52: try reduce()  // REDUCE
            case 0x81: try newObject()  // NEWOBJ
            case 0x62: try build()  // BUILD
            case 0x51: try persistentID()  // BINPERSID
            case 0x61:  // APPEND
                let item = try pop("APPEND")
                try append([item], opcode: "APPEND")
            case 0x65: try append(try popMark("APPENDS"), opcode: "APPENDS")  // APPENDS
            case 0x73:  // SETITEM
                let value = try pop("SETITEM"), key = try pop("SETITEM")
                try setItems([key, value], opcode: "SETITEM")
            case 0x75: try setItems(try popMark("SETITEMS"), opcode: "SETITEMS")  // SETITEMS
            case 0x74: try push(try makeTuple(try popMark("TUPLE")))  // TUPLE
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                let n = Int(opcode - 0x84)
                guard stack.count - (marks.last ?? 0) >= n else { throw .stackUnderflow(opcode: "TUPLE\(n)", offset: opcodeOffset) }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                try push(try makeTuple(items))
            case 0x29: try push(try makeTuple([]))  // EMPTY_TUPLE
            case 0x5D:  // EMPTY_LIST
                try grow(by: 1)
                lists.append([])
                try push(.list(lists.count - 1))
            case 0x7D:  // EMPTY_DICT
                try grow(by: 1)
                dicts.append(Dict())
                try push(.dict(dicts.count - 1))
            case 0x8F:  // EMPTY_SET
                try grow(by: 1)
                try push(.set)
            case 0x4E: try push(.none)  // NONE
            case 0x88: try push(.bool(true))  // NEWTRUE
            case 0x89: try push(.bool(false))  // NEWFALSE
            case 0x4A: try push(.int(Int(Int32(bitPattern: try uint32()))))  // BININT
            case 0x4B: try push(.int(Int(try byte())))  // BININT1
            case 0x4D: try push(.int(Int(try uint16())))  // BININT2
            case 0x8A: try push(try long1())  // LONG1
            case 0x47: try push(.float(Double(bitPattern: try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))  // BINFLOAT, big-endian
            case 0x58: try push(.string(try text(count: Int(try uint32()))))  // BINUNICODE
            case 0x55: try push(.string(try text(count: Int(try byte()))))  // SHORT_BINSTRING, decoded as UTF-8 as torch.load does
            case 0x68: try push(try memoValue(Int(try byte())))  // BINGET
            case 0x6A: try push(try memoValue(Int(try uint32())))  // LONG_BINGET
            case 0x71, 0x72:  // BINPUT, LONG_BINPUT
                let index = opcode == 0x71 ? Int(try byte()) : Int(try uint32())
                guard let top = stack.last, stack.count > (marks.last ?? 0) else { throw .stackUnderflow(opcode: "BINPUT", offset: opcodeOffset) }
                guard memo[index] != nil || memo.count < limits.memo else { throw .tooLarge(what: "memo", limit: limits.memo, offset: opcodeOffset) }
                memo[index] = top
            default:
                throw .opcodeNotAllowed(opcode: opcode, name: Self.opcodeNames[opcode] ?? "unknown", offset: opcodeOffset)
            }
        }
    }
}
