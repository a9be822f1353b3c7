@testable import Checkpoint

/// Pickles assembled opcode by opcode, as `torch.save` writes them (protocol 2) or as an attacker
/// would, for the pickle reader's tests.
struct PickleBytes {
    var bytes: [UInt8] = [0x80, 0x02]

    mutating func op(_ code: UInt8) { bytes.append(code) }
    mutating func mark() { op(0x28) }
    mutating func stop() { op(0x2E) }
    mutating func emptyDict() { op(0x7D) }
    mutating func emptyTuple() { op(0x29) }
    mutating func emptyList() { op(0x5D) }
    mutating func tuple() { op(0x74) }
    mutating func reduce() { op(0x52) }
    mutating func setItems() { op(0x75) }
    mutating func setItem() { op(0x73) }
    mutating func newFalse() { op(0x89) }
    mutating func put(_ index: UInt8) { bytes += [0x71, index] }
    mutating func get(_ index: UInt8) { bytes += [0x68, index] }

    mutating func string(_ text: String) {
        let utf8 = Array(text.utf8)
        op(0x58)
        bytes += (0..<4).map { UInt8(truncatingIfNeeded: utf8.count >> (8 * $0)) } + utf8
    }

    mutating func int(_ value: Int) {
        if (0..<256).contains(value) {
            bytes += [0x4B, UInt8(value)]
        } else if !(Int(Int32.min)...Int(Int32.max)).contains(value) {
            bytes += [0x8A, 8] + (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }  // LONG1, as pickle writes 2^31 and up
        } else {
            op(0x4A)
            bytes += (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        }
    }

    mutating func global(_ module: String, _ name: String) {
        op(0x63)
        bytes += Array("\(module)\n\(name)\n".utf8)
    }

    mutating func ints(_ values: [Int]) {
        mark()
        values.forEach { int($0) }
        tuple()
    }

    /// `OrderedDict()` as torch writes it: GLOBAL, EMPTY_TUPLE, REDUCE.
    mutating func orderedDict() {
        global("collections", "OrderedDict")
        emptyTuple()
        reduce()
    }

    /// `persistent_load(('storage', torch.<type>, key, 'cpu', numel))`.
    mutating func storage(_ key: String, type: String = "FloatStorage", numel: Int) {
        mark()
        string("storage")
        global(type == "UntypedStorage" ? "torch.storage" : "torch", type)
        string(key)
        string("cpu")
        int(numel)
        tuple()
        op(0x51)
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`.
    mutating func tensor(_ key: String, type: String = "FloatStorage", numel: Int, offset: Int = 0, size: [Int], stride: [Int]) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        storage(key, type: type, numel: numel)
        int(offset)
        ints(size)
        ints(stride)
        newFalse()
        orderedDict()
        tuple()
        reduce()
    }

    /// A state dict `{name: tensor}` of float32 tensors (each its own storage, keys "0", "1", ...),
    /// as an OrderedDict with SETITEMS, ended with STOP.
    static func stateDict(_ tensors: [(name: String, size: [Int])]) -> [UInt8] {
        var pickle = PickleBytes()
        pickle.orderedDict()
        pickle.mark()
        for (index, (name, size)) in tensors.enumerated() {
            pickle.string(name)
            let strides = size.indices.map { size[($0 + 1)...].reduce(1, *) }
            pickle.tensor(String(index), numel: size.reduce(1, *), size: size, stride: strides)
        }
        pickle.setItems()
        pickle.stop()
        return pickle.bytes
    }
}
