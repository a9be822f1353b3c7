/// A NIR graph as `nir.write` stores it (neuromorphs/NIR 1.0): `/node/type` = "NIRGraph",
/// `/node/edges` an (N, 2) dataset of node names `[source, target]`, and one group per node under
/// `/node/nodes/<name>` with a `type` and one dataset per parameter. Read by the HDF5 backend; the
/// layout names tensors by node and role, and the simulator runs it.
public struct NIRGraph: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public let name: String
        /// `Affine`, `LIF`, `Input`, ... as stored.
        public let type: String
        /// Integer parameters (shapes, strides, paddings), flattened, with their shapes.
        public let integers: [String: [Int]]
        public let integerShapes: [String: [Int]]

        public init(name: String, type: String, integers: [String: [Int]] = [:], integerShapes: [String: [Int]] = [:]) {
            self.name = name
            self.type = type
            self.integers = integers
            self.integerShapes = integerShapes
        }

        /// The path of a parameter's dataset in the file.
        public func tensor(_ parameter: String) -> String { NIRGraph.nodePrefix + name + "/" + parameter }
    }

    public struct Edge: Sendable, Equatable {
        public let source: String, target: String

        public init(source: String, target: String) {
            self.source = source
            self.target = target
        }
    }

    /// Where node groups live.
    public static let nodePrefix = "node/nodes/"

    public let nodes: [Node]
    public let edges: [Edge]

    public init(nodes: [Node], edges: [Edge]) {
        self.nodes = nodes
        self.edges = edges
    }

    public func node(_ name: String) -> Node? { nodes.first { $0.name == name } }

    /// The nodes feeding each node.
    public var inbound: [String: [String]] {
        edges.reduce(into: [:]) { $0[$1.target, default: []].append($1.source) }
    }

    /// The nodes each node feeds.
    public var outbound: [String: [String]] {
        edges.reduce(into: [:]) { $0[$1.source, default: []].append($1.target) }
    }

    /// The node and parameter a tensor path names (`node/nodes/<node>/<parameter>`), if any.
    public static func split(_ tensor: String) -> (node: String, parameter: String)? {
        guard tensor.hasPrefix(nodePrefix) else { return nil }
        let rest = tensor.dropFirst(nodePrefix.count)
        guard let slash = rest.lastIndex(of: "/") else { return nil }
        return (String(rest[..<slash]), String(rest[rest.index(after: slash)...]))
    }
}
