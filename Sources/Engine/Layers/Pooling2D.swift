/// Keras MaxPooling2D and AveragePooling2D (channels last). With "same" padding an average covers
/// only the taps inside the input, as TensorFlow and Keras compute it.
struct Pooling2D: Layer {
    enum Kind: Sendable { case max, average }

    let name: String
    let kind: Kind
    let size: (Int, Int)
    let strides: (Int, Int)
    let samePadding: Bool

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        guard input.count == 3 else { throw EngineError.shapeMismatch(path: path, layer: name, expected: [-1, -1, -1], actual: input) }
        let rows = Conv2D.geometry(input: input[0], kernel: size.0, stride: strides.0, same: samePadding)
        let cols = Conv2D.geometry(input: input[1], kernel: size.1, stride: strides.1, same: samePadding)
        guard rows.size > 0, cols.size > 0 else {
            throw EngineError.shapeMismatch(path: path, layer: name, expected: [size.0, size.1, input[2]], actual: input)
        }
        return [rows.size, cols.size, input[2]]
    }

    /// Calls `body(output, rows, columns)` for every output position (offset of its first channel)
    /// with the input rows and columns its window covers inside the input.
    private func forEachWindow(_ shape: [Int], _ body: (Int, Range<Int>, Range<Int>) -> Void) {
        let (n, height, width, channels) = (shape[0], shape[1], shape[2], shape[3])
        let rows = Conv2D.geometry(input: height, kernel: size.0, stride: strides.0, same: samePadding)
        let cols = Conv2D.geometry(input: width, kernel: size.1, stride: strides.1, same: samePadding)
        for s in 0..<n {
            for oy in 0..<rows.size {
                let y0 = oy * strides.0 - rows.padBefore
                let ys = Swift.max(y0, 0)..<Swift.min(y0 + size.0, height)
                for ox in 0..<cols.size {
                    let x0 = ox * strides.1 - cols.padBefore
                    let xs = Swift.max(x0, 0)..<Swift.min(x0 + size.1, width)
                    body(((s * rows.size + oy) * cols.size + ox) * channels, ys.lowerBound + s * height ..< ys.upperBound + s * height, xs)
                }
            }
        }
    }

    private func outputShape(_ input: Batch) -> [Int] {
        let rows = Conv2D.geometry(input: input.shape[1], kernel: size.0, stride: strides.0, same: samePadding)
        let cols = Conv2D.geometry(input: input.shape[2], kernel: size.1, stride: strides.1, same: samePadding)
        return [input.samples, rows.size, cols.size, input.shape[3]]
    }

    func forward(_ input: Batch) -> Batch {
        let shape = outputShape(input)
        let (width, channels) = (input.shape[2], input.shape[3])
        var out = [Float](repeating: 0, count: shape.reduce(1, *))
        input.values.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                forEachWindow(input.shape) { o, rows, columns in
                    let taps = rows.count * columns.count
                    guard taps > 0 else { return }
                    let target = y.baseAddress! + o
                    let first = x.baseAddress! + (rows.lowerBound &* width &+ columns.lowerBound) &* channels
                    for c in 0..<channels { target[c] = kind == .max ? first[c] : 0 }
                    for row in rows {
                        for column in columns {
                            let source = x.baseAddress! + (row &* width &+ column) &* channels
                            switch kind {
                            case .max: for c in 0..<channels { target[c] = Swift.max(target[c], source[c]) }
                            case .average: for c in 0..<channels { target[c] += source[c] }
                            }
                        }
                    }
                    if kind == .average { for c in 0..<channels { target[c] /= Float(taps) } }
                }
            }
        }
        return Batch(values: out, shape: shape)
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        guard inputGradient else { return nil }
        var back = [Float](repeating: 0, count: input.values.count)
        back.withUnsafeMutableBufferPointer { b in
            input.values.withUnsafeBufferPointer { x in
                output.values.withUnsafeBufferPointer { y in
                    gradient.values.withUnsafeBufferPointer { g in
                        switch kind {
                        case .max: routeToMaxima(g, inputs: x, maxima: y, into: b, shape: input.shape)
                        case .average: spreadOverWindows(g, into: b, shape: input.shape)
                        }
                    }
                }
            }
        }
        return Batch(values: back, shape: input.shape)
    }

    /// Each window's gradient goes to the first tap that holds its maximum (as TensorFlow routes
    /// it). `r` is 1 until a channel's winner is found: selects instead of a search, whose
    /// data-dependent branches mispredict, eight channels at a time in vector registers.
    private func routeToMaxima(_ g: UnsafeBufferPointer<Float>, inputs x: UnsafeBufferPointer<Float>, maxima y: UnsafeBufferPointer<Float>,
                               into b: UnsafeMutableBufferPointer<Float>, shape: [Int]) {
        let (width, channels) = (shape[2], shape[3])
        var remaining = [Float](repeating: 1, count: channels)
        remaining.withUnsafeMutableBufferPointer { r in
            forEachWindow(shape) { o, rows, columns in
                for c in 0..<channels { r[c] = 1 }
                for row in rows {
                    for column in columns {
                        let tap = (row &* width &+ column) &* channels
                        var c = 0
                        while c &+ 8 <= channels {
                            let none = SIMD8<Float>(repeating: 0)
                            let take = none.replacing(with: r.load(c), where: x.load(tap &+ c) .== y.load(o &+ c))
                            b.store(b.load(tap &+ c) + none.replacing(with: g.load(o &+ c), where: take .!= 0), at: tap &+ c)
                            r.store(r.load(c) - take, at: c)
                            c &+= 8
                        }
                        while c < channels {
                            let (take, delta) = (x[tap &+ c] == y[o &+ c] ? r[c] : 0, g[o &+ c])
                            b[tap &+ c] += take != 0 ? delta : 0
                            r[c] -= take
                            c &+= 1
                        }
                    }
                }
            }
        }
    }

    /// Each window's gradient, shared equally among its taps inside the input.
    private func spreadOverWindows(_ g: UnsafeBufferPointer<Float>, into b: UnsafeMutableBufferPointer<Float>, shape: [Int]) {
        let (width, channels) = (shape[2], shape[3])
        forEachWindow(shape) { o, rows, columns in
            let taps = Float(rows.count * columns.count)
            for row in rows {
                for column in columns {
                    let i = (row &* width &+ column) &* channels
                    for c in 0..<channels { b[i &+ c] += g[o &+ c] / taps }
                }
            }
        }
    }
}

extension UnsafeBufferPointer<Float> {
    /// Eight consecutive values from `offset`.
    @inline(__always) func load(_ offset: Int) -> SIMD8<Float> {
        UnsafeRawPointer(baseAddress! + offset).loadUnaligned(as: SIMD8<Float>.self)
    }
}

extension UnsafeMutableBufferPointer<Float> {
    @inline(__always) func load(_ offset: Int) -> SIMD8<Float> {
        UnsafeRawPointer(baseAddress! + offset).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always) func store(_ values: SIMD8<Float>, at offset: Int) {
        UnsafeMutableRawPointer(baseAddress! + offset).storeBytes(of: values, as: SIMD8<Float>.self)
    }
}
