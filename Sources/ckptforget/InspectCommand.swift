import Checkpoint
import Foundation

/// `ckptforget inspect FILE [--json] [--output-layer NAME]`: tensors, dtypes, shapes, layers, roles.
enum InspectCommand: Subcommand {
    static var help: String { Help.inspect }

    static let options: [Arguments.Option] = [.flag("--json"), .value("--output-layer")]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        guard arguments.operands.count == 1 else { throw UsageError.invalid("inspect takes one checkpoint (usage: ckptforget inspect FILE [--json])") }
        let checkpoint = try openCheckpoint(arguments.operands[0])
        let layout = Layout(of: checkpoint)
        var outputLayer: Layer?, outputProblem: String?
        do { outputLayer = try layout.outputLayer(named: arguments.value("--output-layer")) } catch {
            if arguments.value("--output-layer") != nil { throw error }
            outputProblem = error.description
        }
        let outputTensors = Set(outputLayer?.unitTensors.map(\.info.name) ?? [])
        let rows = checkpoint.tensors.map { info in (info, layout.tensors[info.name]) }

        if arguments.has("--json") {
            let object: [String: Any] = [
                "path": checkpoint.path,
                "format": checkpoint.format.rawValue,
                "layout": layout.kind.rawValue,
                "output_layer": outputLayer?.name as Any? ?? NSNull(),
                "output_layer_problem": outputProblem as Any? ?? NSNull(),
                "optimizer_groups": layout.optimizerGroups,
                "tensors": rows.map { info, entry in
                    [
                        "name": info.name, "dtype": info.dtype.rawValue, "shape": info.shape, "bytes": info.byteCount,
                        "layer": entry?.layer ?? "", "role": entry?.role.rawValue ?? "other",
                        "class_axis": entry?.classAxis as Any? ?? NSNull(), "output": outputTensors.contains(info.name),
                        "editable": info.dtype.isEditable,
                    ] as [String: Any]
                },
            ]
            Console.output(Summary.jsonText(object))
            return .success
        }

        let total = checkpoint.tensors.reduce(0) { $0 + $1.byteCount }
        var lines = ["\(checkpoint.path): \(checkpoint.format.rawValue), \(layout.kind.rawValue) layout, \(checkpoint.tensors.count) tensors, \(Format.bytes(total))"]
        lines.append(outputLayer.map { "output layer: \($0.name) (\($0.outputUnits ?? 0) classes), marked *" } ?? "output layer: \(outputProblem ?? "none")")
        let header = ["  TENSOR", "DTYPE", "SHAPE", "LAYER", "ROLE"]
        let table = [header] + rows.map { info, entry in
            [(outputTensors.contains(info.name) ? "* " : "  ") + info.name, info.dtype.shortName, Format.shape(info.shape),
             entry?.layer ?? "", entry?.role.rawValue ?? "other"]
        }
        lines += Format.columns(table)
        Console.output(lines.joined(separator: "\n"))
        return .success
    }
}
