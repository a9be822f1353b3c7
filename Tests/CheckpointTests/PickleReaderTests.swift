import Testing
@testable import Checkpoint

/// One test per rule of the pickle subset, each pickle built opcode by opcode (`PickleBytes`).
@Suite struct PickleReaderTests {
    private func problem(_ bytes: [UInt8], limits: PickleReader.Limits = PickleReader.Limits()) -> PickleProblem? {
        do {
            _ = try PickleReader.read(bytes, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    /// A pickle of `body` (after PROTO 2), then STOP.
    private func pickle(_ body: (inout PickleBytes) -> Void) -> [UInt8] {
        var p = PickleBytes()
        body(&p)
        p.stop()
        return p.bytes
    }

    @Test func readsWhatTorchSaveWrites() throws {
        // {"fc.weight": (3, 2) view, "fc.bias": Parameter, "steps": int64} with a module's _metadata BUILD.
        var p = PickleBytes()
        p.orderedDict()
        p.put(0)
        p.mark()
        p.string("fc.weight")
        p.tensor("0", numel: 6, size: [3, 2], stride: [2, 1])
        p.string("fc.bias")
        p.global("torch._utils", "_rebuild_parameter")
        p.mark()
        p.tensor("1", numel: 3, size: [3], stride: [1])
        p.op(0x88)  // requires_grad True
        p.orderedDict()
        p.tuple()
        p.reduce()
        p.string("steps")
        p.tensor("2", type: "LongStorage", numel: 1, size: [], stride: [])
        p.setItems()
        p.emptyDict()
        p.string("_metadata")
        p.orderedDict()
        p.setItem()
        p.op(0x62)  // BUILD
        p.stop()
        let result = try PickleReader.read(p.bytes)
        #expect(result.tensors.map(\.name) == ["fc.weight", "fc.bias", "steps"])
        #expect(result.tensors[0].record == TorchTensorRecord(storage: 0, dtype: .float32, offset: 0, shape: [3, 2], stride: [2, 1], isParameter: false))
        #expect(result.tensors[1].record.isParameter)
        #expect(result.tensors[2].record.dtype == .int64 && result.tensors[2].record.shape.isEmpty)
        #expect(result.storages.map(\.key) == ["0", "1", "2"] && result.storages[2].byteCount == 8)
    }

    @Test func readsUntypedStoragesWithADtypeAndNestedDictionaries() throws {
        // {"model": {"u": uint16 tensor through _rebuild_tensor_v3}, "epoch": 3, "history": [1.5]}
        let bytes = pickle { p in
            p.emptyDict()
            p.mark()
            p.string("model")
            p.emptyDict()
            p.string("u")
            p.global("torch._utils", "_rebuild_tensor_v3")
            p.mark()
            p.storage("0", type: "UntypedStorage", numel: 6)
            p.int(0)
            p.ints([3])
            p.ints([1])
            p.newFalse()
            p.orderedDict()
            p.global("torch", "uint16")
            p.tuple()
            p.reduce()
            p.setItem()
            p.string("epoch")
            p.int(3)
            p.string("history")
            p.emptyList()
            p.op(0x47)  // BINFLOAT 1.5, big-endian
            p.bytes += [0x3F, 0xF8, 0, 0, 0, 0, 0, 0]
            p.op(0x61)  // APPEND
            p.setItems()
        }
        let result = try PickleReader.read(bytes)
        #expect(result.tensors.map(\.name) == ["model.u"])
        #expect(result.tensors[0].record.dtype == .uint16 && result.storages[0].dtype == nil && result.storages[0].byteCount == 6)
    }

    @Test func refusesOpcodesOutsideTheWeightsOnlyList() {
        // INST builds an instance of any class: pickle's classic way to run code.
        #expect(problem([0x80, 0x02, 0x69] + Array("os\nsystem\n".utf8) + [0x2E]) == .opcodeNotAllowed(opcode: 0x69, name: "INST", offset: 2))
        #expect(problem([0x80, 0x02, 0x93, 0x2E]) == .opcodeNotAllowed(opcode: 0x93, name: "STACK_GLOBAL", offset: 2))
    }

    /// The classic payload: GLOBAL os system, then REDUCE with a command.
    @Test func refusesGlobalsAStateDictDoesNotNeed() {
        let bytes = pickle { p in
            p.global("os", "system")
            p.string("echo owned")
            p.op(0x85)
            p.reduce()
        }
        #expect(problem(bytes) == .globalNotAllowed(module: "os", name: "system", offset: 2))
        #expect(problem(pickle { $0.global("torch", "ComplexFloatStorage") }) == .globalNotAllowed(module: "torch", name: "ComplexFloatStorage", offset: 2))
        #expect(problem(pickle { $0.global("__main__", "Net") }) == .globalNotAllowed(module: "__main__", name: "Net", offset: 2))
    }

    /// REDUCE on an allowed global that is not a callable (a storage type), and on a string.
    @Test func refusesCallsOfAnythingButTheRebuildFunctions() {
        let storageType = pickle { p in
            p.global("torch", "FloatStorage")
            p.emptyTuple()
            p.reduce()
        }
        #expect(problem(storageType) == .callNotAllowed(callable: "GLOBAL torch.FloatStorage", offset: 23))
        let string = pickle { p in
            p.string("eval")
            p.emptyTuple()
            p.reduce()
        }
        #expect(problem(string) == .callNotAllowed(callable: "the string 'eval'", offset: 12))
        let newObject = pickle { p in
            p.global("torch._utils", "_rebuild_parameter")
            p.emptyTuple()
            p.op(0x81)
        }
        guard case .callNotAllowed = problem(newObject) else { Issue.record("NEWOBJ of a rebuild function"); return }
    }

    @Test func refusesRebuildArgumentsOfTheWrongKind() {
        let missing = pickle { p in
            p.global("torch._utils", "_rebuild_tensor_v2")
            p.mark()
            p.storage("0", numel: 4)
            p.int(0)
            p.tuple()
            p.reduce()
        }
        guard case .badArguments(callable: "torch._utils._rebuild_tensor_v2", reason: "expected 6 or 7 arguments, found 2", _) = problem(missing) else {
            Issue.record("\(String(describing: problem(missing)))"); return
        }
        let hooks = pickle { p in
            p.global("torch._utils", "_rebuild_tensor_v2")
            p.mark()
            p.storage("0", numel: 4)
            p.int(0)
            p.ints([4])
            p.ints([1])
            p.newFalse()
            p.emptyDict()
            p.string("hook")
            p.string("x")
            p.setItem()
            p.tuple()
            p.reduce()
        }
        guard case .badArguments(_, reason: "backward hooks must be an empty OrderedDict", _) = problem(hooks) else { Issue.record("hooks"); return }
    }

    /// A view whose last element lies past its storage's numel (an out-of-bounds read in torch).
    @Test func refusesAViewOutsideItsStorage() {
        var p = PickleBytes()
        p.emptyDict()
        p.string("w")
        p.tensor("0", numel: 6, offset: 4, size: [3], stride: [1])
        p.setItem()
        p.stop()
        guard case .badArguments(_, let reason, _) = problem(p.bytes), reason.contains("reaches element 6 of storage '0', which has 6") else {
            Issue.record("\(String(describing: problem(p.bytes)))"); return
        }
    }

    @Test func refusesOpcodesOnValuesOfTheWrongKind() {
        let appendToDict = pickle { p in
            p.emptyDict()
            p.int(1)
            p.op(0x61)
        }
        #expect(problem(appendToDict) == .wrongOperand(opcode: "APPEND", expected: "a list", found: "a dict", offset: 5))
        let setItemOnList = pickle { p in
            p.emptyList()
            p.int(1)
            p.int(2)
            p.setItem()
        }
        #expect(problem(setItemOnList) == .wrongOperand(opcode: "SETITEM", expected: "a dict", found: "a list", offset: 7))
        let buildOnTuple = pickle { p in
            p.emptyTuple()
            p.emptyDict()
            p.op(0x62)
        }
        guard case .wrongOperand(opcode: "BUILD", _, _, offset: 4) = problem(buildOnTuple) else { Issue.record("BUILD"); return }
    }

    @Test func refusesAnEmptyStack() {
        #expect(problem([0x80, 0x02, 0x2E]) == .stackUnderflow(opcode: "STOP", offset: 2))
        #expect(problem(pickle { $0.reduce() }) == .stackUnderflow(opcode: "REDUCE", offset: 2))
    }

    @Test func refusesAMarkThatIsNotThere() {
        #expect(problem(pickle { $0.tuple() }) == .noMark(opcode: "TUPLE", offset: 2))
    }

    @Test func refusesAMemoEntryNeverStored() {
        #expect(problem(pickle { $0.get(7) }) == .memoMissing(index: 7, offset: 2))
    }

    @Test func refusesPersistentIDsThatAreNotStorages() {
        let module = pickle { p in
            p.mark()
            p.string("module")
            p.string("x")
            p.string("0")
            p.string("cpu")
            p.int(1)
            p.tuple()
            p.op(0x51)
        }
        guard case .badPersistentID(reason: "only storages are loaded, found the string 'module'", _) = problem(module) else { Issue.record("module"); return }
        let path = pickle { $0.storage("../x", numel: 1) }
        guard case .badPersistentID(let reason, _) = problem(path), reason.contains("not a short name") else { Issue.record("key"); return }
        let twice = pickle { p in
            p.storage("0", numel: 1)
            p.storage("0", numel: 2)
        }
        guard case .badPersistentID(let again, _) = problem(twice), again.contains("declared again") else { Issue.record("twice"); return }
    }

    @Test func refusesTextThatIsNotUTF8() {
        #expect(problem([0x80, 0x02, 0x58, 2, 0, 0, 0, 0xC3, 0x28, 0x2E]) == .badText(reason: "not valid UTF-8", offset: 2))
        guard case .badText = problem([0x80, 0x02, 0x63] + Array("os sys\n".utf8)) else { Issue.record("GLOBAL with a space"); return }
    }

    @Test func refusesUnknownProtocols() {
        #expect(problem([0x80, 0x09, 0x4E, 0x2E]) == .badProtocol(9, offset: 0))
    }

    @Test func enforcesItsLimits() {
        var limits = PickleReader.Limits()
        limits.memo = 2
        #expect(problem(pickle { p in p.int(1); p.put(0); p.put(1); p.put(2) }, limits: limits) == .tooLarge(what: "memo", limit: 2, offset: 8))
        limits = PickleReader.Limits()
        limits.stack = 3
        #expect(problem(pickle { p in (0..<4).forEach { p.int($0) } }, limits: limits) == .tooLarge(what: "the stack", limit: 3, offset: 8))
        limits = PickleReader.Limits()
        limits.marks = 2
        #expect(problem(pickle { p in p.mark(); p.mark(); p.mark() }, limits: limits) == .tooLarge(what: "MARK nesting", limit: 2, offset: 4))
        limits = PickleReader.Limits()
        limits.text = 3
        #expect(problem(pickle { $0.string("four") }, limits: limits) == .tooLarge(what: "a string", limit: 3, offset: 2))
        limits = PickleReader.Limits()
        limits.heap = 2
        #expect(problem(pickle { p in p.ints([1, 2, 3]) }, limits: limits) == .tooLarge(what: "containers", limit: 2, offset: 9))
        limits = PickleReader.Limits()
        limits.nesting = 2
        let deep = pickle { p in
            p.emptyDict()
            p.string("a")
            p.emptyDict()
            p.string("b")
            p.emptyDict()
            p.string("c")
            p.tensor("0", numel: 1, size: [1], stride: [1])
            p.setItem()
            p.setItem()
            p.setItem()
        }
        guard case .tooLarge(what: "nesting of 'a.b.c'", limit: 2, _) = problem(deep, limits: limits) else { Issue.record("nesting"); return }
    }

    /// `{k: {k: ... {0: t, 1: t, ...}}}`: one key of `keyLength` bytes, stored in the memo once and
    /// reused at each of 63 levels, over `tensors` names for one tensor.
    private func nestedNames(keyLength: Int, tensors: Int) -> [UInt8] {
        var p = PickleBytes()
        p.emptyDict()
        p.string(String(repeating: "k", count: keyLength))
        p.put(1)
        p.emptyDict()
        for _ in 1..<63 {
            p.get(1)
            p.emptyDict()
        }
        p.mark()
        p.int(0)
        p.tensor("0", numel: 1, size: [1], stride: [1])
        p.put(2)
        for i in 1..<tensors {
            p.int(i)
            p.get(2)
        }
        p.setItems()
        for _ in 0..<63 { p.setItem() }
        p.stop()
        return p.bytes
    }

    /// Names are joined only for tensors, and limited together: such a pickle of 15 KB (a key of
    /// 10,000 bytes, 1,000 names) made 630 MB of names, 20 s and 1 GB under the fuzzer's ASan build;
    /// a key of 1 MB and 10,000 names would have asked for 630 GB.
    @Test func limitsTheBytesOfAllTensorNames() throws {
        var limits = PickleReader.Limits()
        limits.allNameBytes = 1000
        let one = try PickleReader.read(nestedNames(keyLength: 10, tensors: 1), limits: limits)  // 63 × 11 + 1 = 694 bytes
        #expect(one.tensors.map(\.name) == [Array(repeating: String(repeating: "k", count: 10), count: 63).joined(separator: ".") + ".0"])
        let two = nestedNames(keyLength: 10, tensors: 2)
        #expect(problem(two, limits: limits) == .tooLarge(what: "tensor names together", limit: 1000, offset: two.count))
        let huge = nestedNames(keyLength: 2 << 20, tensors: 2)  // 126 MiB for the first name alone: its first key is refused
        #expect(problem(huge) == .tooLarge(what: "key '\(String(repeating: "k", count: 40))...' (\(2 << 20) bytes) in ''", limit: 4 << 10, offset: huge.count))
    }

    /// Messages name a deep path by its first 200 characters.
    @Test func shortensLongPathsInMessages() {
        var limits = PickleReader.Limits()
        limits.nesting = 10
        guard case .tooLarge(let what, limit: 10, _) = problem(nestedNames(keyLength: 100, tensors: 1), limits: limits) else {
            Issue.record("nesting"); return
        }
        #expect(what == "nesting of '\(String(Array(repeating: String(repeating: "k", count: 100), count: 11).joined(separator: ".").prefix(200)))...'")
    }

    /// A million TUPLE1s nest a million tuples: no limit needed, and nothing is freed recursively.
    @Test func survivesDeepNestingWithoutRecursion() {
        var p = PickleBytes()
        p.emptyTuple()
        p.bytes += [UInt8](repeating: 0x85, count: 1_000_000)
        p.stop()
        #expect(problem(p.bytes) == .notAStateDict(found: "a tuple"))
    }

    @Test func refusesAPickleCutShort() {
        #expect(problem([0x80, 0x02, 0x58, 9, 0, 0, 0, 0x61]) == .truncated(offset: 8))
        #expect(problem([0x80, 0x02, 0x7D]) == .truncated(offset: 3))
    }

    /// A second pickle after STOP, where a scanner reading only the first would never look.
    @Test func refusesBytesAfterStop() {
        var p = PickleBytes()
        p.emptyDict()
        p.stop()
        let hidden = p.bytes + [0x63] + Array("os\nsystem\n".utf8) + [0x2E]
        #expect(problem(hidden) == .trailingBytes(offset: 4, count: 12))
    }

    @Test func refusesAnythingButADictionaryOfTensors() {
        #expect(problem(pickle { $0.emptyList() }) == .notAStateDict(found: "a list"))
    }

    @Test func refusesKeysThatAreNotNames() {
        let bytes = pickle { p in
            p.emptyDict()
            p.int(0)
            p.tensor("0", numel: 1, size: [1], stride: [1])
            p.setItem()
        }
        #expect(problem(bytes) == .unsupportedKey(path: "", found: "the integer 0"))
    }

    @Test func refusesTwoTensorsOfOneName() {
        let bytes = pickle { p in
            p.emptyDict()
            p.mark()
            p.string("a.b")
            p.tensor("0", numel: 1, size: [1], stride: [1])
            p.string("a")
            p.emptyDict()
            p.string("b")
            p.tensor("1", numel: 1, size: [1], stride: [1])
            p.setItem()
            p.setItems()
        }
        #expect(problem(bytes) == .duplicateName("a.b"))
    }

    /// Python keeps 'café.weight' (U+00E9) and 'cafe\u0301.weight' as two keys; so must the reader,
    /// each with its own value, for the pair to reach the rule that refuses it (not a decoy's value
    /// under the real tensor's spelling).
    @Test func keepsKeysThatDifferOnlyInNormalizationApart() throws {
        let nfc = "caf\u{E9}.weight", nfd = "cafe\u{301}.weight"
        let bytes = pickle { p in
            p.orderedDict()
            p.mark()
            p.string(nfc)
            p.tensor("0", numel: 1, size: [1], stride: [1])
            p.string(nfd)
            p.tensor("1", numel: 1, size: [1], stride: [1])
            p.setItems()
        }
        let result = try PickleReader.read(bytes)
        #expect(result.tensors.map { Array($0.name.utf8) } == [Array(nfc.utf8), Array(nfd.utf8)])
        #expect(result.tensors.map(\.record.storage) == [0, 1])
    }

    /// An expanded view (stride 0) of one element can declare any shape: (2^31, 2^31) float32 is
    /// 2^64 bytes, which overflowed the byte counts of `inspect` and the progress line (a trap), and
    /// (2^24, 2^24) is 2^50 bytes, past the 2^48 any checkpoint needs. Both are refused by name.
    @Test func refusesATensorTooLargeToCount() {
        for (name, size) in [("fc.weight", [1 << 31, 1 << 31]), ("fc.bias", [1 << 24, 1 << 24])] {
            let bytes = pickle { p in
                p.orderedDict()
                p.string(name)
                p.tensor("0", numel: 1, size: size, stride: [0, 0])
                p.setItem()
            }
            #expect(problem(bytes) == .tensorTooLarge(name: name, shape: size, limit: 1 << 48))
        }
        let fits = pickle { p in
            p.orderedDict()
            p.string("w")
            p.tensor("0", numel: 1, size: [1 << 23, 1 << 23], stride: [0, 0])  // 2^48 bytes exactly
            p.setItem()
        }
        #expect(problem(fits) == nil)
    }

    /// One memoized key joined into every name of a list grew a 1 MB file into 3 GB of names: a
    /// key, a joined name and all names together have limits (4 KiB, 16 KiB, 256 MiB by default).
    @Test func limitsTheBytesOfNames() {
        #expect(PickleReader.Limits().keyBytes == 4096 && PickleReader.Limits().nameBytes == 16384)
        // {"kkkk": [t, t, t]}: one key, three names "kkkk.0", "kkkk.1", "kkkk.2" (6 bytes each).
        func listOfOneTensor(key: String) -> [UInt8] {
            pickle { p in
                p.orderedDict()
                p.string(key)
                p.emptyList()
                p.mark()
                p.tensor("0", numel: 1, size: [1], stride: [1])
                p.put(1)
                p.get(1)
                p.get(1)
                p.op(0x65)  // APPENDS
                p.setItem()
            }
        }
        var limits = PickleReader.Limits()
        limits.keyBytes = 3
        guard case .tooLarge(what: let what, limit: 3, _)? = problem(listOfOneTensor(key: "kkkk"), limits: limits), what.hasPrefix("key 'kkkk'") else {
            Issue.record("a long key"); return
        }
        limits = PickleReader.Limits()
        limits.nameBytes = 5
        guard case .tooLarge(what: let joined, limit: 5, _)? = problem(listOfOneTensor(key: "kkkk"), limits: limits), joined.hasPrefix("the name 'kkkk'") else {
            Issue.record("a long name"); return
        }
        limits = PickleReader.Limits()
        limits.allNameBytes = 17
        #expect(problem(listOfOneTensor(key: "kkkk"), limits: limits) == .tooLarge(what: "tensor names together", limit: 17, offset: listOfOneTensor(key: "kkkk").count))
        limits.allNameBytes = 18
        #expect(problem(listOfOneTensor(key: "kkkk"), limits: limits) == nil)
    }

    /// `sd.hidden = tensor; torch.save(sd)` puts the tensor in BUILD's state: torch.load returns it
    /// on the dict, but it is none of the dict's keys, so it would be neither listed nor edited.
    @Test func refusesTensorsInTheStateDictsAttributes() {
        /// {"w": tensor} with BUILD state {attribute: value}.
        func withAttribute(_ attribute: String, _ value: (inout PickleBytes) -> Void) -> [UInt8] {
            pickle { p in
                p.orderedDict()
                p.string("w")
                p.tensor("0", numel: 1, size: [1], stride: [1])
                p.setItem()
                p.emptyDict()
                p.string(attribute)
                value(&p)
                p.setItem()
                p.op(0x62)  // BUILD
            }
        }
        guard case .tensorInAttribute(attribute: "hidden", _)? = problem(withAttribute("hidden") { $0.tensor("1", numel: 1, size: [1], stride: [1]) }) else {
            Issue.record("a tensor attribute"); return
        }
        // Inside a container, or a bare storage, is refused the same way.
        guard case .tensorInAttribute(attribute: "cache", _)? = problem(withAttribute("cache") { p in
            p.emptyList()
            p.storage("1", numel: 1)
            p.op(0x61)  // APPEND
        }) else { Issue.record("a storage in a list attribute"); return }
        // _metadata as torch writes it ({"": {"version": 1}}) is read; anything else there is refused.
        #expect(problem(withAttribute("_metadata") { p in
            p.orderedDict()
            p.string("")
            p.emptyDict()
            p.string("version")
            p.int(1)
            p.setItem()
            p.setItem()
        }) == nil)
        guard case .badMetadata(found: "a tensor", _)? = problem(withAttribute("_metadata") { $0.tensor("1", numel: 1, size: [1], stride: [1]) }) else {
            Issue.record("a tensor in _metadata"); return
        }
        guard case .badMetadata(found: "a list", _)? = problem(withAttribute("_metadata") { $0.emptyList() }) else { Issue.record("a list in _metadata"); return }
        // An attribute without tensors (a note) is kept in the pickle and ignored.
        #expect(problem(withAttribute("note") { $0.string("trained on MNIST") }) == nil)
    }

    /// Empty containers cost memory too: EMPTY_DICT, BUILD pairs made millions of dicts under the
    /// container limit, which counted only elements. And tensors, rebuilt or named, are counted.
    @Test func chargesEveryContainerAndCountsTensors() {
        var limits = PickleReader.Limits()
        limits.heap = 3
        // OrderedDict() (an empty tuple and a dict: 2), then EMPTY_DICT BUILD (3), EMPTY_DICT at byte 31 (4).
        let dicts = pickle { p in
            p.orderedDict()
            for _ in 0..<3 { p.emptyDict(); p.op(0x62) }
        }
        #expect(problem(dicts, limits: limits) == .tooLarge(what: "containers", limit: 3, offset: 31))
        limits = PickleReader.Limits()
        limits.tensors = 2
        // One tensor rebuilt, named three times ("l.0", "l.1", "l.2").
        let named = pickle { p in
            p.orderedDict()
            p.string("l")
            p.emptyList()
            p.mark()
            p.tensor("0", numel: 1, size: [1], stride: [1])
            p.put(1)
            p.get(1)
            p.get(1)
            p.op(0x65)  // APPENDS
            p.setItem()
        }
        guard case .tooLarge(what: "named tensors", limit: 2, _)? = problem(named, limits: limits) else { Issue.record("named tensors"); return }
        let rebuilt = PickleBytes.stateDict([("a", [1]), ("b", [1]), ("c", [1])])
        guard case .tooLarge(what: "tensors", limit: 2, _)? = problem(rebuilt, limits: limits) else { Issue.record("tensors rebuilt"); return }
        #expect(PickleReader.Limits().tensors == 1_000_000)
    }

    @Test func messagesNameTheOffsetAndWhatToDo() {
        #expect("\(PickleProblem.globalNotAllowed(module: "os", name: "system", offset: 2))".hasPrefix("GLOBAL os.system at byte 2 is not one a state dict needs"))
        #expect("\(PickleProblem.notAStateDict(found: "a list"))".contains("save model.state_dict()"))
    }
}
