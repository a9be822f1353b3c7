/// A functional Keras model's graph as its config states it. Each call of a layer is a node that
/// takes tensors made by earlier calls; a tensor is named `[layer, call, output]`. Keras 2 lists a
/// layer's calls in `inbound_nodes` as `[[[name, call, output, kwargs], ...], ...]`, Keras 3 as
/// `[{"args": [...], "kwargs": {...}}, ...]` whose tensors carry `keras_history` = [name, call, output].
/// The model's `input_layers` and `output_layers` name its inputs and outputs the same way.
struct KerasGraph {
    struct Tensor: Hashable, CustomStringConvertible {
        let layer: String
        let call: Int
        let output: Int
        var description: String { "[\(layer), \(call), \(output)]" }
    }

    struct Call {
        let layer: String
        let index: Int
        let inputs: [Tensor]
    }

    /// The calls the output depends on, each after the calls whose tensors it takes; the output's last.
    let calls: [Call]
    /// The model's input layer (an InputLayer).
    let input: String

    init(config: [String: Any], entries: [[String: Any]], path: String) throws {
        func refuse(_ problem: String) -> EngineError { .unsupportedGraph(path: path, problem: problem) }
        var byName: [String: [String: Any]] = [:]
        for entry in entries {
            guard let name = (entry["config"] as? [String: Any])?["name"] as? String ?? entry["name"] as? String else {
                throw refuse("has a layer without a name")
            }
            guard byName.updateValue(entry, forKey: name) == nil else { throw refuse("has two layers named '\(name)'") }
        }
        let inputs = try Self.tensors(config["input_layers"], path: path, what: "input_layers")
        let outputs = try Self.tensors(config["output_layers"], path: path, what: "output_layers")
        guard inputs.count <= 1 else {
            throw refuse("has \(inputs.count) inputs (\(inputs.map(\.layer).joined(separator: ", "))); the engine runs models with one input and one output")
        }
        guard outputs.count == 1, let output = outputs.first else {
            throw refuse(outputs.isEmpty ? "names no output (output_layers)"
                : "has \(outputs.count) outputs (\(outputs.map(\.layer).joined(separator: ", "))); the engine runs models with one input and one output")
        }
        // Each layer's calls: the tensors each takes.
        var callInputs: [String: [[Tensor]]] = [:]
        for (name, entry) in byName {
            callInputs[name] = try (entry["inbound_nodes"] as? [Any] ?? []).map { try Self.callInputs($0, layer: name, path: path) }
        }
        func isInput(_ layer: String) -> Bool { byName[layer]?["class_name"] as? String == "InputLayer" }
        // Depth-first from the output, without recursion (a hostile config may be deep): a call is
        // placed once every call it takes tensors from is.
        var order: [Call] = [], placed = Set<Tensor>(), onPath = Set<Tensor>()
        var stack: [(tensor: Tensor, next: Int)] = []
        var input: String?
        func enter(_ tensor: Tensor, from caller: String) throws {
            let key = Tensor(layer: tensor.layer, call: tensor.call, output: 0)
            guard byName[tensor.layer] != nil else { throw refuse("takes tensor \(tensor) in '\(caller)', but has no layer '\(tensor.layer)'") }
            guard tensor.output == 0 else {
                throw EngineError.unsupportedOption(path: path, layer: caller, option: "taking output \(tensor.output) of layer '\(tensor.layer)' (layers with several outputs)")
            }
            if isInput(tensor.layer) {
                guard tensor.call == 0 else { throw refuse("takes tensor \(tensor) in '\(caller)': an InputLayer has one tensor") }
                if let input, input != tensor.layer {
                    throw refuse("has 2 inputs (\(input), \(tensor.layer)); the engine runs models with one input and one output")
                }
                input = tensor.layer
                return
            }
            guard !placed.contains(key) else { return }
            guard (callInputs[tensor.layer] ?? []).indices.contains(tensor.call) else {
                throw refuse("takes tensor \(tensor) in '\(caller)', but layer '\(tensor.layer)' has \(callInputs[tensor.layer]?.count ?? 0) call(s)")
            }
            guard onPath.insert(key).inserted else { throw refuse("has a cycle through layer '\(tensor.layer)'") }
            stack.append((key, 0))
        }
        try enter(output, from: "output_layers")
        while let (tensor, next) = stack.last {
            let taken = callInputs[tensor.layer]![tensor.call]
            if next < taken.count {
                stack[stack.count - 1].next += 1
                try enter(taken[next], from: tensor.layer)
                continue
            }
            guard !taken.isEmpty else { throw refuse("has a layer '\(tensor.layer)' that takes no tensor in call \(tensor.call)") }
            stack.removeLast()
            onPath.remove(tensor)
            placed.insert(tensor)
            order.append(Call(layer: tensor.layer, index: tensor.call, inputs: taken))
        }
        guard let input else { throw refuse("has no InputLayer that its output depends on") }
        if let declared = inputs.first, declared.layer != input {
            throw refuse("declares input '\(declared.layer)' but its output depends on '\(input)'")
        }
        calls = order
        self.input = input
    }

    /// `input_layers` / `output_layers`: `[[name, call, output], ...]`, or one `[name, call, output]`.
    private static func tensors(_ value: Any?, path: String, what: String) throws -> [Tensor] {
        guard let list = value as? [Any] else { return [] }
        if list.first is String { return [try tensor(list, path: path, what: what)] }
        return try list.map { try tensor($0, path: path, what: what) }
    }

    /// `[name, call, output]` (Keras 2 adds kwargs).
    private static func tensor(_ value: Any, path: String, what: String) throws -> Tensor {
        guard let triple = value as? [Any], triple.count >= 3, let layer = triple[0] as? String,
              let call = triple[1] as? Int, let output = triple[2] as? Int, call >= 0, output >= 0 else {
            throw EngineError.unsupportedGraph(path: path, problem: "names a tensor \(value) in \(what) that is not [layer, call, output]")
        }
        return Tensor(layer: layer, call: call, output: output)
    }

    /// The tensors one call of `layer` takes, in order.
    private static func callInputs(_ node: Any, layer: String, path: String) throws -> [Tensor] {
        let what = "the inbound nodes of '\(layer)'"
        if let keras2 = node as? [Any] {
            return try keras2.map { try tensor($0, path: path, what: what) }
        }
        guard let keras3 = node as? [String: Any] else {
            throw EngineError.unsupportedGraph(path: path, problem: "has inbound nodes of '\(layer)' that are neither Keras 2 nor Keras 3 calls")
        }
        var found: [Tensor] = []
        // Tensors sit in lists (a merge's inputs) or inside other values; a hostile config's nesting is cut short.
        func collect(_ value: Any, depth: Int) throws {
            guard depth < 16 else { throw EngineError.unsupportedGraph(path: path, problem: "nests the arguments of '\(layer)' too deeply") }
            if let object = value as? [String: Any] {
                if let config = object["config"] as? [String: Any], let history = config["keras_history"] {
                    found.append(try tensor(history, path: path, what: what))
                } else {
                    for key in object.keys.sorted() { try collect(object[key]!, depth: depth + 1) }
                }
            } else if let list = value as? [Any] {
                for item in list { try collect(item, depth: depth + 1) }
            }
        }
        try collect(keras3["args"] ?? [Any](), depth: 0)
        let positional = found.count
        try collect(keras3["kwargs"] ?? [String: Any](), depth: 0)
        guard found.count == positional else {
            throw EngineError.unsupportedOption(path: path, layer: layer, option: "tensors given as keyword arguments (\(keras3["kwargs"].map { "\($0)" } ?? ""))")
        }
        return found
    }
}
