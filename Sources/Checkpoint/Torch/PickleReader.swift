/// A storage as `torch.save` records it in a persistent id: `('storage', StorageType, key,
/// location, numel)`; its bytes are the archive member `<prefix>/data/<key>`.
struct TorchStorage: Equatable, Sendable {
    let key: String
    /// The element type of a typed storage (`torch.FloatStorage`, ...); nil for `UntypedStorage`.
    let dtype: DType?
    /// Elements for a typed storage, bytes for an untyped one (as torch counts them).
    let count: Int
    let location: String
    /// Bytes the record must hold: count × itemsize (checked for overflow when read).
    let byteCount: Int
}

/// One tensor of the state dict: a view into a storage.
struct TorchTensorRecord: Equatable, Sendable {
    let storage: Int
    let dtype: DType
    /// In elements of `dtype`, from the start of the storage.
    let offset: Int
    let shape: [Int]
    let stride: [Int]
    let isParameter: Bool
    var count: Int { shape.reduce(1, *) }
}

/// The globals a state dict needs, and nothing else.
enum PickleGlobal: Equatable, Sendable {
    case orderedDict, rebuildTensorV2, rebuildTensorV3, rebuildParameter
    case storageType(DType), untypedStorage, dtype(DType)
}

/// A value on the interpreter's stack. Containers live in the reader's heap and are referred to by
/// index, so that nothing the pickle builds (however deep or cyclic) is freed recursively.
enum PickleValue: Equatable, Sendable {
    case none, bool(Bool), int(Int), bigInt, float(Double), string(String), set
    case tuple(Int), list(Int), dict(Int)
    case global(PickleGlobal)
    case storage(Int), tensor(Int)
}

/// A small interpreter for the pickles `torch.save` writes of a state dict: only the opcodes
/// torch's own weights-only unpickler allows, only the globals a state dict needs (OrderedDict,
/// the tensor and parameter rebuild functions, storage types and dtypes), and no code from the
/// file is ever run: "calling" an allowed global builds a description of the tensor. Memo, stack,
/// marks, strings and containers have limits; every rule broken is a `PickleProblem` naming the
/// byte offset. The result is the tensors by state-dict key (nested dictionaries joined with `.`).
struct PickleReader {
    struct Limits: Sendable {
        var memo = 4_000_000
        var stack = 4_000_000
        var marks = 10_000
        var text = 64 << 20
        /// Elements in all containers together, and each container itself (an empty dict costs
        /// memory too: a pickle of EMPTY_DICT, BUILD pairs made millions of them).
        var heap = 16_000_000
        /// Tensors rebuilt, and tensors named in the result (a memoized tensor appended to a list
        /// again and again is named once per element).
        var tensors = 1_000_000
        var nesting = 64
        var rank = 64
        /// UTF-8 bytes of one key, of one joined name, and of all tensor names together: one long
        /// memoized key joined into every name of a list (or of 64 nested levels) would otherwise
        /// grow a small file into gigabytes of names.
        var keyBytes = 4 << 10
        var nameBytes = 16 << 10
        var allNameBytes = 256 << 20
    }

    struct Result: Sendable {
        var tensors: [(name: String, record: TorchTensorRecord)]
        var storages: [TorchStorage]
        /// Names of the dictionaries that are an optimizer's state (`Optimizer.state_dict()`: `state`
        /// and `param_groups`), such as a training checkpoint's `optimizer`; their tensors are moments.
        var optimizerGroups: [String] = []
    }

    /// Bytes a tensor's elements may take (2^48, 256 TiB): beyond it a shape is a hostile file's,
    /// and sizes computed from it could overflow.
    static let maximumTensorBytes = 1 << 48

    static let allowedGlobalNames = "collections.OrderedDict, torch._utils._rebuild_tensor_v2/_v3, torch._utils._rebuild_parameter, torch.*Storage, torch.storage.UntypedStorage and torch dtypes"

    private struct Dict {
        var keys: [PickleValue] = []
        var values: [PickleValue] = []
        var index: [Key: Int] = [:]
    }

    /// Dictionary keys as Python hashes them (True == 1). Strings are keyed by their UTF-8 bytes, as
    /// Python compares them: Swift's `String` equality would make `'café'` (U+00E9) and `'cafe\u{301}'`
    /// one key, keeping the first spelling with the second value.
    private enum Key: Hashable { case none, int(Int), string([UInt8]), float(UInt64) }

    private let bytes: [UInt8]
    private let limits: Limits
    private var position = 0
    private var opcodeOffset = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var tuples: [[PickleValue]] = []
    private var lists: [[PickleValue]] = []
    private var dicts: [Dict] = []
    private var heapCount = 0
    private var buildWork = 0
    private var storages: [TorchStorage] = []
    private var storageOfKey: [String: Int] = [:]
    private var tensors: [TorchTensorRecord] = []

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

    // MARK: Reading operands

    private mutating func byte() throws(PickleProblem) -> UInt8 {
        guard position < bytes.count else { throw .truncated(offset: position) }
        position += 1
        return bytes[position - 1]
    }

    private mutating func take(_ count: Int) throws(PickleProblem) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else { throw .truncated(offset: bytes.count) }
        position += count
        return bytes[(position - count)..<position]
    }

    private mutating func uint16() throws(PickleProblem) -> UInt16 {
        let b = try take(2)
        return UInt16(b[b.startIndex]) | UInt16(b[b.startIndex + 1]) << 8
    }

    private mutating func uint32() throws(PickleProblem) -> UInt32 {
        try take(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// LONG1: a little-endian two's complement integer of n bytes; more than 8 is kept opaque.
    private mutating func long1() throws(PickleProblem) -> PickleValue {
        let n = Int(try byte())
        let digits = try take(n)
        guard n <= 8 else { return .bigInt }
        guard n > 0 else { return .int(0) }
        var value = digits.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if n < 8, digits.last! & 0x80 != 0 { value |= ~UInt64(0) << (8 * UInt64(n)) }  // sign-extend
        return .int(Int(Int64(bitPattern: value)))
    }

    private mutating func text(count: Int) throws(PickleProblem) -> String {
        guard count <= limits.text else { throw .tooLarge(what: "a string", limit: limits.text, offset: opcodeOffset) }
        let raw = try take(count)
        guard let string = String(validating: raw, as: UTF8.self) else { throw .badText(reason: "not valid UTF-8", offset: opcodeOffset) }
        return string
    }

    /// GLOBAL's two lines, `module\n` and `name\n`, checked against the list.
    private mutating func global() throws(PickleProblem) -> PickleGlobal {
        let module = try line(), name = try line()
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor_v3"): return .rebuildTensorV3
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch.storage", "UntypedStorage"): return .untypedStorage
        case ("torch", let name):
            if let dtype = Self.storageTypes[name] { return .storageType(dtype) }
            if let dtype = Self.dtypes[name] { return .dtype(dtype) }
        default: break
        }
        throw .globalNotAllowed(module: module, name: name, offset: opcodeOffset)
    }

    private mutating func line() throws(PickleProblem) -> String {
        var characters: [UInt8] = []
        while true {
            let c = try byte()
            if c == 0x0A { break }
            guard characters.count < 256, (0x21...0x7E).contains(c) else {
                throw .badText(reason: "GLOBAL names are printable ASCII lines of at most 256 characters", offset: opcodeOffset)
            }
            characters.append(c)
        }
        return String(decoding: characters, as: UTF8.self)
    }

    // MARK: The stack

    private mutating func push(_ value: PickleValue) throws(PickleProblem) {
        guard stack.count < limits.stack else { throw .tooLarge(what: "the stack", limit: limits.stack, offset: opcodeOffset) }
        stack.append(value)
    }

    private mutating func pop(_ opcode: String) throws(PickleProblem) -> PickleValue {
        guard stack.count > (marks.last ?? 0), let value = stack.popLast() else { throw .stackUnderflow(opcode: opcode, offset: opcodeOffset) }
        return value
    }

    private mutating func popMark(_ opcode: String) throws(PickleProblem) -> [PickleValue] {
        guard let mark = marks.popLast() else { throw .noMark(opcode: opcode, offset: opcodeOffset) }
        let items = Array(stack[mark...])
        stack.removeLast(stack.count - mark)
        return items
    }

    private mutating func memoValue(_ index: Int) throws(PickleProblem) -> PickleValue {
        guard let value = memo[index] else { throw .memoMissing(index: index, offset: opcodeOffset) }
        return value
    }

    private mutating func grow(by count: Int) throws(PickleProblem) {
        heapCount += count
        guard heapCount <= limits.heap else { throw .tooLarge(what: "containers", limit: limits.heap, offset: opcodeOffset) }
    }

    private func countTensor() throws(PickleProblem) {
        guard tensors.count < limits.tensors else { throw .tooLarge(what: "tensors", limit: limits.tensors, offset: opcodeOffset) }
    }

    private mutating func makeTuple(_ items: [PickleValue]) throws(PickleProblem) -> PickleValue {
        try grow(by: items.count + 1)
        tuples.append(items)
        return .tuple(tuples.count - 1)
    }

    private mutating func append(_ items: [PickleValue], opcode: String) throws(PickleProblem) {
        guard case .list(let index)? = stack.last, stack.count > (marks.last ?? 0) else {
            throw .wrongOperand(opcode: opcode, expected: "a list", found: stack.last.map(describe) ?? "nothing", offset: opcodeOffset)
        }
        try grow(by: items.count)
        lists[index] += items
    }

    private mutating func setItems(_ items: [PickleValue], opcode: String) throws(PickleProblem) {
        guard case .dict(let index)? = stack.last, stack.count > (marks.last ?? 0) else {
            throw .wrongOperand(opcode: opcode, expected: "a dict", found: stack.last.map(describe) ?? "nothing", offset: opcodeOffset)
        }
        guard items.count % 2 == 0 else { throw .stackUnderflow(opcode: opcode, offset: opcodeOffset) }
        try grow(by: items.count)
        for pair in stride(from: 0, to: items.count, by: 2) {
            let key: Key
            switch items[pair] {
            case .none: key = .none
            case .bool(let value): key = .int(value ? 1 : 0)
            case .int(let value): key = .int(value)
            case .string(let value): key = .string(Array(value.utf8))
            case .float(let value): key = value == value.rounded() && abs(value) < 9e15 ? .int(Int(value)) : .float(value.bitPattern)
            case let other:
                throw .wrongOperand(opcode: opcode, expected: "a string, number or None as key", found: describe(other), offset: opcodeOffset)
            }
            if let existing = dicts[index].index[key] {
                dicts[index].values[existing] = items[pair + 1]
            } else {
                dicts[index].index[key] = dicts[index].keys.count
                dicts[index].keys.append(items[pair])
                dicts[index].values.append(items[pair + 1])
            }
        }
    }

    // MARK: The risky opcodes, interpreted

    /// REDUCE: `callable(*args)` for the allowed callables only, computed here, never run.
    private mutating func reduce() throws(PickleProblem) {
        let arguments = try pop("REDUCE")
        let callable = try pop("REDUCE")
        guard case .global(let function) = callable, [.orderedDict, .rebuildTensorV2, .rebuildTensorV3, .rebuildParameter].contains(function) else {
            throw .callNotAllowed(callable: describe(callable), offset: opcodeOffset)
        }
        guard case .tuple(let index) = arguments else {
            throw .badArguments(callable: describe(callable), reason: "arguments are \(describe(arguments)), not a tuple", offset: opcodeOffset)
        }
        let args = tuples[index]
        switch function {
        case .orderedDict:
            guard args.isEmpty else { throw .badArguments(callable: "OrderedDict", reason: "expected no arguments", offset: opcodeOffset) }
            try grow(by: 1)
            dicts.append(Dict())
            try push(.dict(dicts.count - 1))
        case .rebuildTensorV2, .rebuildTensorV3:
            try push(try rebuildTensor(args, v3: function == .rebuildTensorV3))
        default:
            let name = "torch._utils._rebuild_parameter"
            guard args.count == 3, case .tensor(let tensor) = args[0], case .bool = args[1], isEmptyDict(args[2]) else {
                throw .badArguments(callable: name, reason: "expected (tensor, requires_grad, OrderedDict())", offset: opcodeOffset)
            }
            let record = tensors[tensor]
            try countTensor()
            tensors.append(TorchTensorRecord(storage: record.storage, dtype: record.dtype, offset: record.offset, shape: record.shape,
                                             stride: record.stride, isParameter: true))
            try push(.tensor(tensors.count - 1))
        }
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])` and
    /// `_v3(..., hooks, dtype[, metadata])`: the view's numbers checked, its extent within the storage.
    private mutating func rebuildTensor(_ args: [PickleValue], v3: Bool) throws(PickleProblem) -> PickleValue {
        let name = v3 ? "torch._utils._rebuild_tensor_v3" : "torch._utils._rebuild_tensor_v2"
        let fixed = v3 ? 7 : 6
        func fail(_ reason: String) -> PickleProblem { .badArguments(callable: name, reason: reason, offset: opcodeOffset) }
        guard args.count == fixed || args.count == fixed + 1 else { throw fail("expected \(fixed) or \(fixed + 1) arguments, found \(args.count)") }
        guard case .storage(let storageIndex) = args[0] else { throw fail("its first argument is \(describe(args[0])), not a storage") }
        guard case .int(let offset) = args[1], offset >= 0 else { throw fail("storage offset \(describe(args[1])) is not a non-negative integer") }
        let shape = try integers(args[2], what: "size", fail: fail)
        let stride = try integers(args[3], what: "stride", fail: fail)
        guard shape.count == stride.count else { throw fail("size \(shape) and stride \(stride) differ in length") }
        guard shape.count <= limits.rank else { throw fail("\(shape.count) dimensions") }
        guard case .bool = args[4] else { throw fail("requires_grad is \(describe(args[4])), not a bool") }
        guard isEmptyDict(args[5]) else { throw fail("backward hooks must be an empty OrderedDict") }
        if args.count == fixed + 1, !isEmptyDict(args[fixed]), args[fixed] != .none {
            throw fail("tensor metadata (\(describe(args[fixed]))) is not understood")
        }
        let storage = storages[storageIndex]
        var dtype: DType
        if v3 {
            guard case .global(.dtype(let declared)) = args[6] else { throw fail("dtype \(describe(args[6])) is not a torch dtype") }
            dtype = declared
            if let typed = storage.dtype, typed != declared { throw fail("a \(declared.rawValue) view of a \(typed.rawValue) storage") }
        } else {
            guard let typed = storage.dtype else { throw fail("an untyped storage needs _rebuild_tensor_v3 and a dtype") }
            dtype = typed
        }
        // The last element the view touches must lie inside the storage.
        let elements = storage.dtype == nil ? storage.count / (dtype.bits / 8) : storage.count  // torch dtypes are whole bytes
        var count = 1, last = offset
        for (size, step) in zip(shape, stride) {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw fail("size \(shape) overflows") }
            count = product
            guard size > 0 else { continue }
            let (reach, o1) = (size - 1).multipliedReportingOverflow(by: step)
            let (sum, o2) = last.addingReportingOverflow(reach)
            guard !o1, !o2 else { throw fail("size \(shape) and stride \(stride) overflow") }
            last = sum
        }
        if count > 0, last >= elements {
            throw fail("the view (offset \(offset), size \(shape), stride \(stride)) reaches element \(last) of storage '\(storage.key)', which has \(elements)")
        }
        if count == 0, offset > elements { throw fail("offset \(offset) is past the end of storage '\(storage.key)' (\(elements) elements)") }
        try countTensor()
        tensors.append(TorchTensorRecord(storage: storageIndex, dtype: dtype, offset: offset, shape: shape, stride: stride, isParameter: false))
        return .tensor(tensors.count - 1)
    }

    private func integers(_ value: PickleValue, what: String, fail: (String) -> PickleProblem) throws(PickleProblem) -> [Int] {
        guard case .tuple(let index) = value else { throw fail("\(what) is \(describe(value)), not a tuple") }
        var result: [Int] = []
        for item in tuples[index] {
            guard case .int(let n) = item, n >= 0, n < 1 << 48 else { throw fail("\(what) holds \(describe(item)), not a non-negative integer") }
            result.append(n)
        }
        return result
    }

    private func isEmptyDict(_ value: PickleValue) -> Bool {
        if case .dict(let index) = value { return dicts[index].keys.isEmpty }
        return false
    }

    /// NEWOBJ: only `OrderedDict.__new__(OrderedDict)`.
    private mutating func newObject() throws(PickleProblem) {
        let arguments = try pop("NEWOBJ")
        let callable = try pop("NEWOBJ")
        guard callable == .global(.orderedDict), case .tuple(let index) = arguments, tuples[index].isEmpty else {
            throw .callNotAllowed(callable: describe(callable), offset: opcodeOffset)
        }
        try grow(by: 1)
        dicts.append(Dict())
        try push(.dict(dicts.count - 1))
    }

    /// BUILD: only an OrderedDict given a dict of attributes, which is kept in the pickle and
    /// otherwise ignored. `torch.load(weights_only=True)` sets them on the dict it returns, so a
    /// tensor there would be loaded but never listed or edited: `_metadata` (what torch writes, a
    /// module's versions) may hold only dicts, strings and integers, and no other attribute may hold
    /// a tensor or storage.
    private mutating func build() throws(PickleProblem) {
        let state = try pop("BUILD")
        guard case .dict? = stack.last, stack.count > (marks.last ?? 0), case .dict(let index) = state else {
            throw .wrongOperand(opcode: "BUILD", expected: "an OrderedDict and a dict of attributes",
                                found: "\(stack.last.map(describe) ?? "nothing") and \(describe(state))", offset: opcodeOffset)
        }
        for (key, value) in zip(dicts[index].keys, dicts[index].values) {
            if Self.text(of: key).map({ Array($0.utf8) }) == Array("_metadata".utf8) {
                if let found = try first(in: value, where: { value in
                    switch value {
                    case .dict, .string, .int, .bool: false
                    default: true
                    }
                }) {
                    throw .badMetadata(found: describe(found), offset: opcodeOffset)
                }
            } else if try first(in: value, where: { value in
                switch value {
                case .tensor, .storage: true
                default: false
                }
            }) != nil {
                throw .tensorInAttribute(attribute: Self.text(of: key) ?? describe(key), offset: opcodeOffset)
            }
        }
    }

    private static func text(of value: PickleValue) -> String? {
        if case .string(let text) = value { return text }
        return nil
    }

    /// The first value reachable from `value` through tuples, lists and dicts (keys and values)
    /// for which `isFound` holds. Each value visited is charged to `buildWork`, bounded by the
    /// container limit, so that BUILD repeated on one large state cannot take quadratic time.
    private mutating func first(in value: PickleValue, where isFound: (PickleValue) -> Bool) throws(PickleProblem) -> PickleValue? {
        var work = [value]
        var dictsSeen = Set<Int>(), listsSeen = Set<Int>(), tuplesSeen = Set<Int>()
        while let next = work.popLast() {
            buildWork += 1
            guard buildWork <= limits.heap else { throw .tooLarge(what: "values checked in BUILD states", limit: limits.heap, offset: opcodeOffset) }
            if isFound(next) { return next }
            switch next {
            case .dict(let i) where dictsSeen.insert(i).inserted: work += dicts[i].keys + dicts[i].values
            case .list(let i) where listsSeen.insert(i).inserted: work += lists[i]
            case .tuple(let i) where tuplesSeen.insert(i).inserted: work += tuples[i]
            default: break
            }
        }
        return nil
    }

    /// BINPERSID: `('storage', StorageType, key, location, numel)`; a key seen before must agree.
    private mutating func persistentID() throws(PickleProblem) {
        let id = try pop("BINPERSID")
        func fail(_ reason: String) -> PickleProblem { .badPersistentID(reason: reason, offset: opcodeOffset) }
        guard case .tuple(let index) = id, tuples[index].count == 5 else { throw fail("expected ('storage', type, key, location, numel), found \(describe(id))") }
        let fields = tuples[index]
        guard fields[0] == .string("storage") else { throw fail("only storages are loaded, found \(describe(fields[0]))") }
        let dtype: DType?
        switch fields[1] {
        case .global(.storageType(let type)): dtype = type
        case .global(.untypedStorage): dtype = nil
        default: throw fail("\(describe(fields[1])) is not a storage type")
        }
        guard case .string(let key) = fields[2], !key.isEmpty, key.count <= 64,
              key.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x5F }) else {
            throw fail("storage key \(describe(fields[2])) is not a short name of letters, digits and '_'")
        }
        guard case .string(let location) = fields[3] else { throw fail("location \(describe(fields[3])) is not a string") }
        guard case .int(let count) = fields[4], count >= 0 else { throw fail("numel \(describe(fields[4])) is not a non-negative integer") }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: (dtype?.bits ?? 8) / 8)
        guard !overflow else { throw fail("storage '\(key)' of \(count) elements overflows") }
        let storage = TorchStorage(key: key, dtype: dtype, count: count, location: location, byteCount: byteCount)
        if let existing = storageOfKey[key] {
            guard storages[existing] == storage else { throw fail("storage '\(key)' is declared again with another type, size or location") }
            try push(.storage(existing))
        } else {
            storageOfKey[key] = storages.count
            storages.append(storage)
            try push(.storage(storages.count - 1))
        }
    }

    // MARK: The result

    /// The tensors of the top-level dictionary, named by their keys; nested dictionaries (a
    /// training checkpoint's `{"model": state_dict, "epoch": 3}`) and lists join names with `.`.
    /// A name is joined only for a tensor, and all of them together are limited: one long key,
    /// reused through the memo at every level of nesting, would otherwise make names a thousand
    /// times the pickle's size (a 15 KB pickle made 630 MB of them).
    private func stateDict(_ top: PickleValue) throws(PickleProblem) -> Result {
        guard case .dict = top else { throw .notAStateDict(found: describe(top)) }
        var named: [(String, TorchTensorRecord)] = []
        var optimizerGroups: [String] = []
        var allNameBytes = 0
        var seen = Set<[UInt8]>()  // by UTF-8 bytes: canonically equivalent names are CheckpointFormats.checkDistinctNames's to refuse
        var visitedDicts = Set<Int>(), visitedLists = Set<Int>(), visitedTuples = Set<Int>()
        func walk(_ value: PickleValue, name: String, depth: Int) throws(PickleProblem) {
            guard depth <= limits.nesting else { throw .tooLarge(what: "nesting of '\(Self.clip(name, 200))'", limit: limits.nesting, offset: bytes.count) }
            func child(_ key: String) throws(PickleProblem) -> String {
                let keyBytes = key.utf8.count
                guard keyBytes <= limits.keyBytes else {
                    throw .tooLarge(what: "key '\(Self.clip(key, 40))' (\(keyBytes) bytes) in '\(Self.clip(name, 80))'", limit: limits.keyBytes, offset: bytes.count)
                }
                guard name.utf8.count + 1 + keyBytes <= limits.nameBytes else {
                    throw .tooLarge(what: "the name '\(Self.clip(name, 80))' joined with key '\(Self.clip(key, 40))'", limit: limits.nameBytes, offset: bytes.count)
                }
                return name.isEmpty ? key : "\(name).\(key)"
            }
            switch value {
            case .tensor(let index):
                guard named.count < limits.tensors else { throw .tooLarge(what: "named tensors", limit: limits.tensors, offset: bytes.count) }
                allNameBytes += name.utf8.count
                guard allNameBytes <= limits.allNameBytes else { throw .tooLarge(what: "tensor names together", limit: limits.allNameBytes, offset: bytes.count) }
                guard seen.insert(Array(name.utf8)).inserted else { throw .duplicateName(name) }
                let record = tensors[index]
                let (byteCount, overflow) = record.count.multipliedReportingOverflow(by: record.dtype.bits / 8)  // the count was checked when rebuilt
                guard !overflow, byteCount <= Self.maximumTensorBytes else {
                    throw .tensorTooLarge(name: name, shape: record.shape, limit: Self.maximumTensorBytes)
                }
                named.append((name, tensors[index]))
            case .dict(let index):
                guard visitedDicts.insert(index).inserted else { return }
                if Self.isOptimizerState(dicts[index]) { optimizerGroups.append(name.isEmpty ? "state" : name) }
                for (key, item) in zip(dicts[index].keys, dicts[index].values) {
                    switch key {
                    case .string(let text): try walk(item, name: try child(text), depth: depth + 1)
                    case .int(let number) where depth > 0: try walk(item, name: try child(String(number)), depth: depth + 1)
                    default: throw .unsupportedKey(path: name, found: describe(key))
                    }
                }
            case .list(let index):
                guard visitedLists.insert(index).inserted else { return }
                for (i, item) in lists[index].enumerated() { try walk(item, name: try child(String(i)), depth: depth + 1) }
            case .tuple(let index):
                guard visitedTuples.insert(index).inserted else { return }
                for (i, item) in tuples[index].enumerated() { try walk(item, name: try child(String(i)), depth: depth + 1) }
            default:
                return
            }
        }
        try walk(top, name: "", depth: 0)
        return Result(tensors: named, storages: storages, optimizerGroups: optimizerGroups)
    }

    /// `torch.optim.Optimizer.state_dict()`: a dict with `state` (moments by parameter index) and
    /// `param_groups`. At the top of the file its tensors are named `state.<i>.<moment>`.
    private static func isOptimizerState(_ dict: Dict) -> Bool {
        dict.index[.string(Array("state".utf8))] != nil && dict.index[.string(Array("param_groups".utf8))] != nil
    }

    /// The first `count` characters of a name, and "..." when there were more.
    private static func clip(_ text: String, _ count: Int) -> String {
        text.count > count ? String(text.prefix(count)) + "..." : text
    }

    private func describe(_ value: PickleValue) -> String {
        switch value {
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let n): "the integer \(n)"
        case .bigInt: "a large integer"
        case .float(let x): "the float \(x)"
        case .string(let s): "the string '\(s.prefix(40))'"
        case .set: "a set"
        case .tuple: "a tuple"
        case .list: "a list"
        case .dict: "a dict"
        case .global(let g): "GLOBAL \(Self.name(of: g))"
        case .storage: "a storage"
        case .tensor: "a tensor"
        }
    }

    private static func name(of global: PickleGlobal) -> String {
        switch global {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildTensorV3: "torch._utils._rebuild_tensor_v3"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .untypedStorage: "torch.storage.UntypedStorage"
        case .storageType(let dtype): "torch." + (storageTypes.first { $0.value == dtype }?.key ?? "?")
        case .dtype(let dtype): "torch." + (dtypes.first { $0.value == dtype }?.key ?? "?")
        }
    }

    static let storageTypes: [String: DType] = [
        "FloatStorage": .float32, "DoubleStorage": .float64, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16, "CharStorage": .int8, "ByteStorage": .uint8, "BoolStorage": .bool,
    ]

    static let dtypes: [String: DType] = [
        "float32": .float32, "float64": .float64, "float16": .float16, "bfloat16": .bfloat16, "int64": .int64, "int32": .int32,
        "int16": .int16, "int8": .int8, "uint8": .uint8, "bool": .bool, "uint16": .uint16, "uint32": .uint32, "uint64": .uint64,
        "float8_e4m3fn": .float8e4m3, "float8_e5m2": .float8e5m2,
    ]

    /// Every pickle opcode by byte, for naming the ones refused.
    static let opcodeNames: [UInt8: String] = [
        0x28: "MARK", 0x2E: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT", 0x4A: "BININT",
        0x4B: "BININT1", 0x4C: "LONG", 0x4D: "BININT2", 0x4E: "NONE", 0x50: "PERSID", 0x51: "BINPERSID", 0x52: "REDUCE",
        0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING", 0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND",
        0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT", 0x7D: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET",
        0x69: "INST", 0x6A: "LONG_BINGET", 0x6C: "LIST", 0x5D: "EMPTY_LIST", 0x6F: "OBJ", 0x70: "PUT", 0x71: "BINPUT",
        0x72: "LONG_BINPUT", 0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT",
        0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3",
        0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8A: "LONG1", 0x8B: "LONG4", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES",
        0x8C: "SHORT_BINUNICODE", 0x8D: "BINUNICODE8", 0x8E: "BINBYTES8", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET",
        0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
        0x98: "READONLY_BUFFER",
    ]
}
