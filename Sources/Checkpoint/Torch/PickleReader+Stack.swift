/// The machine's operands and stack: bytes read with bounds checks, the stack, marks, memo and the
/// heap of containers, each within its limit.
extension PickleReader {
    // MARK: Reading operands

    mutating func byte() throws(PickleProblem) -> UInt8 {
        guard position < bytes.count else { throw .truncated(offset: position) }
        position += 1
        return bytes[position - 1]
    }

    mutating func take(_ count: Int) throws(PickleProblem) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else { throw .truncated(offset: bytes.count) }
        position += count
        return bytes[(position - count)..<position]
    }

    mutating func uint16() throws(PickleProblem) -> UInt16 {
        let b = try take(2)
        return UInt16(b[b.startIndex]) | UInt16(b[b.startIndex + 1]) << 8
    }

    mutating func uint32() throws(PickleProblem) -> UInt32 {
        try take(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// LONG1: a little-endian two's complement integer of n bytes; more than 8 is kept opaque.
    mutating func long1() throws(PickleProblem) -> PickleValue {
        let n = Int(try byte())
        let digits = try take(n)
        guard n <= 8 else { return .bigInt }
        guard n > 0 else { return .int(0) }
        var value = digits.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if n < 8, digits.last! & 0x80 != 0 { value |= ~UInt64(0) << (8 * UInt64(n)) }  // sign-extend
        return .int(Int(Int64(bitPattern: value)))
    }

    mutating func text(count: Int) throws(PickleProblem) -> String {
        guard count <= limits.text else { throw .tooLarge(what: "a string", limit: limits.text, offset: opcodeOffset) }
        let raw = try take(count)
        guard let string = String(validating: raw, as: UTF8.self) else { throw .badText(reason: "not valid UTF-8", offset: opcodeOffset) }
        return string
    }

    /// GLOBAL's two lines, `module\n` and `name\n`, checked against the list.
    mutating func global() throws(PickleProblem) -> PickleGlobal {
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

    mutating func line() throws(PickleProblem) -> String {
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

    mutating func push(_ value: PickleValue) throws(PickleProblem) {
        guard stack.count < limits.stack else { throw .tooLarge(what: "the stack", limit: limits.stack, offset: opcodeOffset) }
        stack.append(value)
    }

    mutating func pop(_ opcode: String) throws(PickleProblem) -> PickleValue {
        guard stack.count > (marks.last ?? 0), let value = stack.popLast() else { throw .stackUnderflow(opcode: opcode, offset: opcodeOffset) }
        return value
    }

    mutating func popMark(_ opcode: String) throws(PickleProblem) -> [PickleValue] {
        guard let mark = marks.popLast() else { throw .noMark(opcode: opcode, offset: opcodeOffset) }
        let items = Array(stack[mark...])
        stack.removeLast(stack.count - mark)
        return items
    }

    mutating func memoValue(_ index: Int) throws(PickleProblem) -> PickleValue {
        guard let value = memo[index] else { throw .memoMissing(index: index, offset: opcodeOffset) }
        return value
    }

    mutating func grow(by count: Int) throws(PickleProblem) {
        heapCount += count
        guard heapCount <= limits.heap else { throw .tooLarge(what: "containers", limit: limits.heap, offset: opcodeOffset) }
    }

    func countTensor() throws(PickleProblem) {
        guard tensors.count < limits.tensors else { throw .tooLarge(what: "tensors", limit: limits.tensors, offset: opcodeOffset) }
    }

    mutating func makeTuple(_ items: [PickleValue]) throws(PickleProblem) -> PickleValue {
        try grow(by: items.count + 1)
        tuples.append(items)
        return .tuple(tuples.count - 1)
    }

    mutating func append(_ items: [PickleValue], opcode: String) throws(PickleProblem) {
        guard case .list(let index)? = stack.last, stack.count > (marks.last ?? 0) else {
            throw .wrongOperand(opcode: opcode, expected: "a list", found: stack.last.map(describe) ?? "nothing", offset: opcodeOffset)
        }
        try grow(by: items.count)
        lists[index] += items
    }

    mutating func setItems(_ items: [PickleValue], opcode: String) throws(PickleProblem) {
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
}
