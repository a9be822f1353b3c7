import Checkpoint
import Engine
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

        let graph = checkpoint.metadata.nirGraph.map { Self.graph($0, checkpoint: checkpoint) }

        if arguments.has("--json") {
            let object: JSONValue = [
                "path": .string(checkpoint.path),
                "format": .string(checkpoint.format.name),
                "layout": .string(layout.kind.rawValue),
                "output_layer": JSONValue(outputLayer?.name),
                "output_layer_problem": JSONValue(outputProblem),
                "optimizer_groups": JSONValue(layout.optimizerGroups),
                "damaged_layers": .object(layout.damage.sorted { $0.key < $1.key }.map { ($0.key, JSONValue($0.value)) }),
                "graph": graph.map { graph in
                    [
                        "nodes": .array(graph.nodes.map { node in
                            ["name": .string(node.name), "type": .string(node.type), "inputs": JSONValue(node.inputs),
                             "input_shape": node.inputShape.map { JSONValue($0) } ?? .null, "output_shape": node.outputShape.map { JSONValue($0) } ?? .null,
                             "output_layer": .bool(node.name == outputLayer?.name)]
                        }),
                        "edges": .array(graph.edges.map { JSONValue([$0.source, $0.target]) }),
                        "problem": JSONValue(graph.problem),
                    ]
                } ?? .null,
                "tensors": .array(rows.map { info, entry in
                    [
                        "name": .string(info.name), "dtype": .string(info.dtype.rawValue), "shape": JSONValue(info.shape),
                        "bytes": .integer(info.byteCount), "layer": .string(entry?.layer ?? ""), "role": .string(entry?.role.rawValue ?? "other"),
                        "class_axis": JSONValue(entry?.classAxis), "output": .bool(outputTensors.contains(info.name)),
                        "editable": .bool(info.dtype.isEditable),
                    ]
                }),
            ]
            Console.output(object.pretty)
            return .success
        }

        // Checked: views of one element may each declare up to 2^48 bytes, and many of them more than Int holds.
        let total = checkpoint.tensors.reduce(0) { sum, info in
            let (next, overflow) = sum.addingReportingOverflow(info.byteCount)
            return overflow ? Int.max : next
        }
        var lines = ["\(checkpoint.path): \(checkpoint.format.name), \(layout.kind.rawValue) layout, \(checkpoint.tensors.count) tensors, \(Format.bytes(total))"]
        lines.append(outputLayer.map { "output layer: \($0.name) (\(English.count($0.outputUnits ?? 0, "class", plural: "classes"))), marked *" }
            ?? "output layer: \(outputProblem ?? "none")")
        let header = ["  TENSOR", "DTYPE", "SHAPE", "LAYER", "ROLE"]
        let table = [header] + rows.map { info, entry in
            [(outputTensors.contains(info.name) ? "* " : "  ") + info.name, info.dtype.shortName, Format.shape(info.shape),
             entry?.layer ?? "", entry?.role.rawValue ?? "other"]
        }
        lines += Format.columns(table)
        if let graph {
            lines.append("graph: \(English.count(graph.nodes.count, "node")) in the order they run, \(English.count(graph.edges.count, "edge"))"
                + (graph.problem.map { "; not simulated: \($0)" } ?? ""))
            let rows = [["  NODE", "TYPE", "INPUT", "OUTPUT", "FROM"]] + graph.nodes.map { node in
                [(node.name == outputLayer?.name ? "* " : "  ") + node.name, node.type, node.inputShape.map(Format.shape) ?? "",
                 node.outputShape.map(Format.shape) ?? "", node.inputs.joined(separator: ", ")]
            }
            lines += Format.columns(rows)
        }
        Console.output(lines.joined(separator: "\n"))
        return .success
    }

    /// A NIR graph's nodes in the order the simulator runs them, with their shapes; when it cannot
    /// run the graph, the nodes in the file's order and why.
    static func graph(_ graph: NIRGraph, checkpoint: any CheckpointFile)
        -> (nodes: [(name: String, type: String, inputs: [String], inputShape: [Int]?, outputShape: [Int]?)], edges: [NIRGraph.Edge], problem: String?) {
        do {
            let network = try SpikingNetwork(checkpoint: checkpoint)
            return (network.graphNodes.map { ($0.name, $0.type, $0.inputs, $0.type == "Input" ? nil : $0.inputShape, $0.outputShape) }, graph.edges, nil)
        } catch {
            let inbound = graph.inbound
            return (graph.nodes.map { ($0.name, $0.type, inbound[$0.name] ?? [], nil, nil) }, graph.edges, "\(error)")
        }
    }
}
