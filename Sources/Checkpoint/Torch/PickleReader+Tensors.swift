/// The opcodes that call or build (REDUCE, NEWOBJ, BUILD, BINPERSID), interpreted for the globals a
/// state dict needs: tensors and storages are described, never constructed by running anything.
extension PickleReader {
    // MARK: The risky opcodes, interpreted

    /// REDUCE: `callable(*args)` for the allowed callables only, computed here, never run.
    mutating func reduce() throws(PickleProblem) {
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
    mutating func rebuildTensor(_ args: [PickleValue], v3: Bool) throws(PickleProblem) -> PickleValue {
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

    func integers(_ value: PickleValue, what: String, fail: (String) -> PickleProblem) throws(PickleProblem) -> [Int] {
        guard case .tuple(let index) = value else { throw fail("\(what) is \(describe(value)), not a tuple") }
        var result: [Int] = []
        for item in tuples[index] {
            guard case .int(let n) = item, n >= 0, n < 1 << 48 else { throw fail("\(what) holds \(describe(item)), not a non-negative integer") }
            result.append(n)
        }
        return result
    }

    func isEmptyDict(_ value: PickleValue) -> Bool {
        if case .dict(let index) = value { return dicts[index].keys.isEmpty }
        return false
    }

    /// NEWOBJ: only `OrderedDict.__new__(OrderedDict)`.
    mutating func newObject() throws(PickleProblem) {
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
    mutating func build() throws(PickleProblem) {
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

    static func text(of value: PickleValue) -> String? {
        if case .string(let text) = value { return text }
        return nil
    }

    /// The first value reachable from `value` through tuples, lists and dicts (keys and values)
    /// for which `isFound` holds. Each value visited is charged to `buildWork`, bounded by the
    /// container limit, so that BUILD repeated on one large state cannot take quadratic time.
    mutating func first(in value: PickleValue, where isFound: (PickleValue) -> Bool) throws(PickleProblem) -> PickleValue? {
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
    mutating func persistentID() throws(PickleProblem) {
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
}
