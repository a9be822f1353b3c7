/// The state dict the pickle built: its tensors named by their keys, and how values are described
/// in messages.
extension PickleReader {
    // MARK: The result

    /// The tensors of the top-level dictionary, named by their keys; nested dictionaries (a
    /// training checkpoint's `{"model": state_dict, "epoch": 3}`) and lists join names with `.`.
    /// A name is joined only for a tensor, and all of them together are limited: one long key,
    /// reused through the memo at every level of nesting, would otherwise make names a thousand
    /// times the pickle's size (a 15 KB pickle made 630 MB of them).
    func stateDict(_ top: PickleValue) throws(PickleProblem) -> Result {
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
                let (byteCount, overflow) = record.shape.reduce(1, *).multipliedReportingOverflow(by: record.dtype.bits / 8)  // the count was checked when rebuilt
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
    static func isOptimizerState(_ dict: Dict) -> Bool {
        dict.index[.string(Array("state".utf8))] != nil && dict.index[.string(Array("param_groups".utf8))] != nil
    }

    /// The first `count` characters of a name, and "..." when there were more.
    static func clip(_ text: String, _ count: Int) -> String {
        text.count > count ? String(text.prefix(count)) + "..." : text
    }

    func describe(_ value: PickleValue) -> String {
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
}
