/// One node of a spiking graph as the simulator runs it, with its parameters (float32, as stored).
/// NIR's node types (neuromorphs/NIR 1.0): `Input`, `Output`, `Affine`, `Linear`, `Scale`, `LIF`,
/// `IF`, `LI`, `CubaLIF`, `Flatten`, `Conv2d`, `SumPool2d`, `AvgPool2d`.
enum SpikingNodeKind: Sendable {
    case input
    case output
    /// y = W·x (+ b); W stored (out, in).
    case affine(weight: String, bias: String?)
    /// y = s ⊙ x.
    case scale(String)
    /// Leaky integrate-and-fire: τ, R, v_leak, v_threshold, v_reset.
    case lif(tau: String, r: String, leak: String, threshold: String, reset: String)
    /// Integrate-and-fire: R, v_threshold, v_reset.
    case integrateAndFire(r: String, threshold: String, reset: String)
    /// Leaky integrator (no spikes): τ, R, v_leak.
    case leakyIntegrator(tau: String, r: String, leak: String)
    /// Current-based LIF: a synaptic current τ_syn·dI/dt = −I + w_in·x feeding a LIF.
    case cubaLIF(tauSynapse: String, tauMembrane: String, r: String, leak: String, threshold: String, reset: String, weightIn: String)
    /// Reshape (values do not move).
    case flatten
    /// Convolution over (C, H, W) with weight (Cout, Cin/groups, kh, kw), PyTorch's cross-correlation.
    case conv2d(Convolution)
    /// Sum or mean pooling over (C, H, W).
    case pool2d(average: Bool, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int))

    /// Whether the node's output is spikes (0 or 1).
    var spikes: Bool {
        switch self {
        case .lif, .integrateAndFire, .cubaLIF: true
        default: false
        }
    }

    /// The tensors the node reads, by name ("" for a parameter the file does not store).
    var tensors: [String] {
        switch self {
        case .input, .output, .flatten, .pool2d: []
        case .affine(let weight, let bias): [weight] + (bias.map { [$0] } ?? [])
        case .scale(let scale): [scale]
        case .lif(let tau, let r, let leak, let threshold, let reset): [tau, r, leak, threshold, reset]
        case .integrateAndFire(let r, let threshold, let reset): [r, threshold, reset]
        case .leakyIntegrator(let tau, let r, let leak): [tau, r, leak]
        case .cubaLIF(let tauSynapse, let tauMembrane, let r, let leak, let threshold, let reset, let weightIn):
            [tauSynapse, tauMembrane, r, leak, threshold, reset, weightIn]
        case .conv2d(let convolution): [convolution.weight] + (convolution.bias.map { [$0] } ?? [])
        }
    }

    /// Whether the node has a membrane (state over time).
    var isNeuron: Bool {
        switch self {
        case .lif, .integrateAndFire, .cubaLIF, .leakyIntegrator: true
        default: false
        }
    }
}

/// A Conv2d node's weights and geometry.
struct Convolution: Sendable {
    let weight: String, bias: String?
    let kernel: (height: Int, width: Int)
    let stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
    let groups: Int
}

/// A node in the order it runs, with the nodes it reads from and its shapes (without batch and time).
struct SpikingNode: Sendable {
    let name: String
    let type: String
    let kind: SpikingNodeKind
    /// Indices (into the run order) of the nodes it reads; their outputs are summed.
    let inputs: [Int]
    let inputShape: [Int]
    let outputShape: [Int]

    var width: Int { outputShape.reduce(1, *) }
}
