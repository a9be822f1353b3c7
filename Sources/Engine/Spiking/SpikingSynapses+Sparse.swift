/// Affine synapses on spikes: each row's outputs summed from the weights of the inputs that fired.
extension SpikingSynapses {
    /// y = W·x (+ b) for `rows` rows whose inputs `gather` finds (it fills the buffer for row r),
    /// with `columns` = Wᵀ (one row of `outputs` weights per input). Each output starts at 0, adds
    /// x_i·W[o][i] for the inputs that fired in ascending order of i (W[o][i] alone where every
    /// one is 1), then the bias: the float32 additions, in order, of adding each fired input's
    /// weights into the row in memory, so the sums are the same bit for bit. `inputs` and `outputs`
    /// are at least 1.
    static func sparseAffine(rows: Int, inputs: Int, outputs: Int, columns: [Float], bias: [Float]?,
                             gather: (inout FiredInputs, Int) -> Void) -> [Float] {
        precondition(inputs > 0 && outputs > 0 && columns.count == inputs * outputs && (bias?.count ?? outputs) == outputs)
        var fired = FiredInputs(width: inputs)
        return [Float](unsafeUninitializedCapacity: rows * outputs) { y, initialized in
            columns.withUnsafeBufferPointer { wt in
                (bias ?? [0]).withUnsafeBufferPointer { b in
                    let biasBase = bias == nil ? nil : b.baseAddress
                    for r in 0..<rows {
                        gather(&fired, r)
                        sum(fired, columns: wt.baseAddress!, outputs: outputs, bias: biasBase, into: y.baseAddress! + r &* outputs)
                    }
                }
            }
            initialized = rows * outputs
        }
    }

    /// One row: outputs 32 at a time in SIMD registers (stored once, after the bias), then 4 at a
    /// time, then one by one.
    private static func sum(_ fired: borrowing FiredInputs, columns: UnsafePointer<Float>, outputs: Int, bias: UnsafePointer<Float>?,
                            into row: UnsafeMutablePointer<Float>) {
        let stride = outputs &* MemoryLayout<Float>.stride
        var o = 0
        while o &+ 32 <= outputs {
            let column = UnsafeRawPointer(columns + o)
            var (a, b) = (SIMD16<Float>(), SIMD16<Float>())
            if fired.allOnes {
                for k in 0..<fired.count {
                    let weights = column + Int(fired.positions[k]) &* stride
                    a += weights.loadUnaligned(as: SIMD16<Float>.self)
                    b += weights.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                }
            } else {
                for k in 0..<fired.count {
                    let weights = column + Int(fired.positions[k]) &* stride, value = fired.values[k]
                    a += value * weights.loadUnaligned(as: SIMD16<Float>.self)
                    b += value * weights.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                }
            }
            if let bias {
                let biases = UnsafeRawPointer(bias + o)
                a += biases.loadUnaligned(as: SIMD16<Float>.self)
                b += biases.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            }
            let target = UnsafeMutableRawPointer(row + o)
            target.storeBytes(of: a, as: SIMD16<Float>.self)
            target.storeBytes(of: b, toByteOffset: 64, as: SIMD16<Float>.self)
            o &+= 32
        }
        while o &+ 4 <= outputs {
            let column = UnsafeRawPointer(columns + o)
            var a = SIMD4<Float>()
            if fired.allOnes {
                for k in 0..<fired.count { a += (column + Int(fired.positions[k]) &* stride).loadUnaligned(as: SIMD4<Float>.self) }
            } else {
                for k in 0..<fired.count { a += fired.values[k] * (column + Int(fired.positions[k]) &* stride).loadUnaligned(as: SIMD4<Float>.self) }
            }
            if let bias { a += UnsafeRawPointer(bias + o).loadUnaligned(as: SIMD4<Float>.self) }
            UnsafeMutableRawPointer(row + o).storeBytes(of: a, as: SIMD4<Float>.self)
            o &+= 4
        }
        while o < outputs {
            var a: Float = 0
            if fired.allOnes {
                for k in 0..<fired.count { a += columns[Int(fired.positions[k]) &* outputs &+ o] }
            } else {
                for k in 0..<fired.count { a += fired.values[k] * columns[Int(fired.positions[k]) &* outputs &+ o] }
            }
            if let bias { a += bias[o] }
            row[o] = a
            o &+= 1
        }
    }
}
