/// Why a NIR graph cannot be simulated, or simulation options cannot apply (exit 2).
public enum SpikingGraphError: Error, Equatable, CustomStringConvertible {
    /// A node type the simulator does not run.
    case unsupportedNode(path: String, node: String, type: String)
    /// A node, or the graph around it, that cannot be built as it is.
    case node(path: String, node: String, problem: String)
    /// A parameter tensor missing, of the wrong size, or of impossible values.
    case parameter(path: String, node: String, tensor: String, problem: String)
    /// Simulation options given with a model that is not a spiking graph.
    case notSpiking(path: String)

    public var description: String {
        switch self {
        case .unsupportedNode(let path, let node, let type):
            "\(path): node '\(node)' is \(type == "NIRGraph" ? "a nested NIRGraph" : "of type \(type)"), which the simulator does not run "
                + "(it runs \(SpikingNetwork.supported.joined(separator: ", ")))"
        case .node(let path, let node, let problem):
            "\(path): node '\(node)': \(problem)"
        case .parameter(let path, let node, let tensor, let problem):
            "\(path): node '\(node)': \(tensor): \(problem)"
        case .notSpiking(let path):
            "\(path): --steps, --dt, --reset and --encoding apply to spiking networks (NIR graphs), and this file is not one"
        }
    }
}
