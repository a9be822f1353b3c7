import Checkpoint
import Forgetting

/// `ckptforget diff A B [--json]`: what changed, tensor by tensor.
enum DiffCommand: Subcommand {
    static var help: String { Help.diff }

    static let options: [Arguments.Option] = [.flag("--json"), .flag("--all", "-a")]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        guard arguments.operands.count == 2 else { throw UsageError.invalid("diff takes two checkpoints (usage: ckptforget diff A B [--json])") }
        let (first, second) = (try openCheckpoint(arguments.operands[0]), try openCheckpoint(arguments.operands[1]))
        let comparisons = try CheckpointDiff.compare(first, second)
        let changed = comparisons.filter { $0.status == .changed }
        let elements = changed.reduce(0) { $0 + ($1.edit?.elementsChanged ?? 0) }
        let onlyFirst = comparisons.filter { $0.status == .onlyInFirst }.count
        let onlySecond = comparisons.filter { $0.status == .onlyInSecond }.count
        let summary = "\(changed.count) of \(comparisons.count) tensors changed (\(elements) elements); "
            + "\(comparisons.filter { $0.status == .identical }.count) identical; \(onlyFirst) only in \(first.path); \(onlySecond) only in \(second.path)"

        if arguments.has("--json") {
            let object: JSONValue = [
                "first": .string(first.path), "second": .string(second.path),
                "tensors": .array(comparisons.map(json)),
                "summary": ["tensors": .integer(comparisons.count), "changed": .integer(changed.count), "elements_changed": .integer(elements),
                            "only_in_first": .integer(onlyFirst), "only_in_second": .integer(onlySecond)],
            ]
            Console.output(object.pretty)
            return .success
        }
        let shown = arguments.has("--all") ? comparisons : comparisons.filter { $0.status != .identical }
        var rows = [["TENSOR", "STATUS", "CHANGED", "L2", "MAX|Δ|", "ZEROS"]]
        // A top-level HDF5 group present in one file only (optimizer state left out) is one line.
        let missing = wholeGroups(comparisons, status: .onlyInFirst).union(wholeGroups(comparisons, status: .onlyInSecond))
        var listedGroups = Set<String>()
        for comparison in shown {
            if let group = topGroup(comparison.name), missing.contains(group) {
                if listedGroups.insert(group).inserted {
                    let count = comparisons.filter { topGroup($0.name) == group }.count
                    rows.append([group + "/ (" + English.count(count, "tensor") + ")", status(comparison.status), "", "", "", ""])
                }
                continue
            }
            rows.append([comparison.name, status(comparison.status),
                         comparison.edit.map { String($0.elementsChanged) } ?? "",
                         comparison.edit.map { Format.number($0.l2) } ?? "",
                         comparison.edit.map { Format.number($0.maxAbs) } ?? "",
                         comparison.zerosBefore.map { "\(percent($0)) → \(percent(comparison.zerosAfter ?? 0))" } ?? ""])
        }
        Console.output((rows.count > 1 ? Format.columns(rows) + [""] : []).joined(separator: "\n") + summary)
        return .success
    }

    private static func status(_ status: TensorComparison.Status) -> String {
        switch status {
        case .identical: "same"
        case .changed: "changed"
        case .onlyInFirst: "only in first"
        case .onlyInSecond: "only in second"
        case .notCompared(let reason): "not compared: \(reason)"
        }
    }

    /// "group" of "group/rest" (HDF5 paths); nil for a name without a group.
    private static func topGroup(_ name: String) -> String? {
        guard let slash = name.firstIndex(of: "/") else { return nil }
        return String(name[..<slash])
    }

    /// The top-level groups all of whose tensors have `status` (absent from the other file).
    private static func wholeGroups(_ comparisons: [TensorComparison], status: TensorComparison.Status) -> Set<String> {
        let byGroup = Dictionary(grouping: comparisons.filter { topGroup($0.name) != nil }, by: { topGroup($0.name)! })
        return Set(byGroup.filter { $0.value.count > 1 && $0.value.allSatisfy { $0.status == status } }.keys)
    }

    private static func percent(_ share: Double) -> String { Format.number(share * 100) + "%" }

    private static func json(_ comparison: TensorComparison) -> JSONValue {
        var members: [(String, JSONValue)] = [("tensor", .string(comparison.name)), ("status", .string(status(comparison.status)))]
        if let edit = comparison.edit {
            members += [("elements_changed", .integer(edit.elementsChanged)), ("l2", .number(edit.l2)), ("max_abs", .number(edit.maxAbs))]
        }
        if let zeros = comparison.zerosBefore { members.append(("zeros_before", .number(zeros))) }
        if let zeros = comparison.zerosAfter { members.append(("zeros_after", .number(zeros))) }
        return .object(members)
    }
}
