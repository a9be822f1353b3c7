import Testing
@testable import Checkpoint

/// `Tensor.update`, the one function every tensor pass edits through: values rounded into the stored
/// dtype and the change tallied, against numbers worked out by hand and against the formula applied
/// element by element here, for every editable dtype and for the index sets the passes use.
@Suite struct TensorUpdateTests {
    // MARK: by hand

    @Test func tallyWorkedOutByHand() {
        // [1, -0, 3, inf] doubled at 0, 1 and 3: 1 → 2 changes (|Δ| = 1); -0 · 2 = -0 and
        // inf · 2 = inf keep their bits; 3 is not visited.
        var tensor = Tensor(info: TensorInfo(name: "t", dtype: .float32, shape: [4]), values: .float32([1, -0.0, 3, .infinity]))
        tensor.update([0, 1, 3]) { $0 * 2 }
        #expect(tensor.values == .float32([2, -0.0, 3, .infinity]))
        #expect(tensor.changes.elementsChanged == 1 && tensor.changes.sumOfSquares == 1 && tensor.changes.maxAbs == 1)
        // -0 → 0 is a change of the stored bits though |Δ| = 0; 2 → 5 adds 9 to the squares (10 in all).
        tensor.update([1, 0]) { i, w in i == 1 ? 0 : w + 3 }
        #expect(tensor.values == .float32([5, 0, 3, .infinity]))
        #expect(tensor.changes.elementsChanged == 3 && tensor.changes.sumOfSquares == 10 && tensor.changes.maxAbs == 3)
        #expect(tensor.changes.overflowed == 0 && tensor.changes.madeNonFinite == 0)
    }

    /// NaNs (quiet, signalling, negative) and infinities counted apart; the largest finite values,
    /// subnormals and zeros are finite; a tensor with none takes the loop without branches alone.
    @Test func nonFiniteValuesCountedInBothPrecisions() {
        let f: [Float] = [1, .nan, -.nan, .signalingNaN, .infinity, -.infinity, .greatestFiniteMagnitude, -.leastNonzeroMagnitude, -0.0]
        #expect(TensorValues.float32(f).nonFinite == (nan: 3, infinite: 2))
        #expect(TensorValues.float64(f.map(Double.init)).nonFinite == (nan: 3, infinite: 2))
        #expect(TensorValues.float64([.greatestFiniteMagnitude, .leastNonzeroMagnitude, 0]).nonFinite == (nan: 0, infinite: 0))
        #expect(TensorValues.float32([]).nonFinite == (nan: 0, infinite: 0))
    }

    /// One non-finite value anywhere in a long tensor is found: in the vectorized loop's first and
    /// last blocks, at a block's edges, and in the elements left over after the last whole block.
    @Test func oneNonFiniteValueIsFoundAtEveryPosition() {
        let count = 1_003
        for position in [0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 500, 991, 992, 999, 1_000, 1_002] {
            for (value, expected) in [(Float.nan, (1, 0)), (-Float.infinity, (0, 1)), (Float.signalingNaN, (1, 0))] {
                var f = [Float](repeating: -.greatestFiniteMagnitude, count: count)
                f[position] = value
                #expect(TensorValues.float32(f).nonFinite == (nan: expected.0, infinite: expected.1), "float32 at \(position)")
                #expect(TensorValues.float64(f.map(Double.init)).nonFinite == (nan: expected.0, infinite: expected.1), "float64 at \(position)")
            }
        }
    }

    @Test func nonFiniteResultsAreCountedByCause() {
        // float16 holds at most 65504: 40000 · 2 computes finite and is stored as inf (overflowed);
        // 1 / 0 computes inf itself (made non-finite); -inf in the input is neither (and unchanged).
        let info = TensorInfo(name: "h", dtype: .float16, shape: [5])
        var tensor = Tensor(info: info, values: .float32([40000, 1, .nan, -.infinity, 2]))
        tensor.update([0, 1, 3, 4]) { i, w in i == 1 ? w / 0 : w * 2 }
        guard case .float32(let v) = tensor.values else { Issue.record("float16 decodes to float32"); return }
        #expect(v[0] == .infinity && v[1] == .infinity && v[2].isNaN && v[3] == -.infinity && v[4] == 4)
        #expect(tensor.changes.overflowed == 1 && tensor.changes.madeNonFinite == 1)
        #expect(tensor.changes.elementsChanged == 3 && tensor.changes.maxAbs == .infinity)  // 40000 → inf, 1 → inf, 2 → 4
        var wide = Tensor(info: TensorInfo(name: "d", dtype: .float64, shape: [3]), values: .float64([1e308, 1, 2]))
        wide.update(0..<3) { i, w in i == 2 ? .nan : w * 10 }  // 1e309 is inf in Double too: computed so, not overflowed
        #expect(wide.changes.overflowed == 0 && wide.changes.madeNonFinite == 2 && wide.changes.elementsChanged == 3)
    }

    // MARK: against the element-wise formula

    /// Values that cover each dtype's edges: zeros of both signs, subnormals, values near float16's
    /// and bfloat16's largest, NaN and both infinities, and ordinary numbers around them.
    private static func values(_ count: Int) -> [Double] {
        let edges: [Double] = [0, -0.0, 1, -1, 0x1p-24, 6e-8, 65504, -65000, 3.3e38, .nan, .infinity, -.infinity, 1e300, 0.1]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { i in
            if i % 3 == 0 { return edges[(i / 3) % edges.count] }
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) / Double(1 << 53) - 0.5) * 8
        }
    }

    /// The transform of the passes' kind: a scale, an offset by index, and now and then a value the
    /// dtype cannot hold, NaN or infinity computed from a finite value.
    private static func transform(_ i: Int, _ w: Double) -> Double {
        switch i % 11 {
        case 4: return w * 1e39  // past float32's and bfloat16's largest too
        case 7: return .nan
        case 9: return 1 / (w - w)
        default: return w * 0.75 - Double(i) * 0.001
        }
    }

    /// Rounds `x` as the dtype stores it, the way the format documents: float16 straight from
    /// Double, bfloat16 through float32 to nearest even, float64 unchanged.
    private static func stored(_ x: Double, _ dtype: DType) -> Double {
        switch dtype {
        case .float16: Double(Float(Float16(x)))
        case .bfloat16: Double(FloatCodec.float(fromBFloat16: FloatCodec.bfloat16(from: Float(x))))
        case .float64: x
        default: Double(Float(x))
        }
    }

    private static func bits(_ x: Double, _ dtype: DType) -> UInt64 {
        dtype == .float64 ? x.bitPattern : UInt64(Float(x).bitPattern)
    }

    /// The new values and the tally computed one element at a time, in the order given: the squares
    /// summed in eight lanes by index modulo 8, the lanes then added from the first.
    private static func reference(_ input: [Double], _ dtype: DType, _ indices: [Int])
        -> (values: [Double], changed: Int, squares: Double, maxAbs: Double, overflowed: Int, madeNonFinite: Int) {
        var out = input
        var (changed, maxAbs, overflowed, made) = (0, 0.0, 0, 0)
        var lanes = [Double](repeating: 0, count: 8)
        for i in indices {
            let old = input[i], result = transform(i, old), new = stored(result, dtype)
            out[i] = new
            if bits(old, dtype) != bits(new, dtype) {
                changed += 1
                lanes[i % 8] += (new - old) * (new - old)
                maxAbs = max(maxAbs, abs(new - old))
            }
            if old.isFinite, !new.isFinite { if result.isFinite { overflowed += 1 } else { made += 1 } }
        }
        let squares = lanes.dropFirst().reduce(lanes[0], +)
        return (out, changed, squares, maxAbs, overflowed, made)
    }

    private static func tensor(_ input: [Double], _ dtype: DType) -> Tensor {
        let info = TensorInfo(name: "t", dtype: dtype, shape: [input.count])
        var tensor = Tensor(info: info, values: dtype == .float64 ? .float64(input) : .float32(input.map { Float($0) }))
        tensor.update(0..<input.count) { stored($0, dtype) }  // the input as the dtype holds it
        tensor.changes = ChangeTally()
        return tensor
    }

    private static func doubles(_ values: TensorValues) -> [Double] { values.indices.map { values[$0] } }

    /// Every range of the tensor updated in slices of 1–9, 17 and 64 elements and whole (as the
    /// snapshot passes do), through a transform and through computed results (float32's eight at a
    /// time), then with every other index as a list: the values bit for bit and the tally equal to
    /// the reference's, its sum of squares summed in the same lanes and order.
    @Test(arguments: [DType.float16, .bfloat16, .float32, .float64])
    func slicesMatchTheElementwiseFormula(dtype: DType) {
        let input = Self.doubles(Self.tensor(Self.values(203), dtype).values)
        let expected = Self.reference(input, dtype, Array(input.indices))
        for sliceSize in [1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 64, 203] {
            for computed in [false, true] {
                var tensor = Self.tensor(input, dtype)
                for start in stride(from: 0, to: input.count, by: sliceSize) {
                    let range = start..<min(start + sliceSize, input.count)
                    if computed {
                        let results = range.map { Self.transform($0, tensor.values[$0]) }
                        results.withUnsafeBufferPointer { tensor.update(range, to: $0) }
                    } else {
                        tensor.update(range, Self.transform)
                    }
                }
                let got = Self.doubles(tensor.values), label = "\(dtype), slices of \(sliceSize)\(computed ? ", computed" : "")"
                #expect(zip(got, expected.values).allSatisfy { Self.bits($0, dtype) == Self.bits($1, dtype) }, "\(label)")
                let tally = tensor.changes
                #expect(tally.elementsChanged == expected.changed && tally.maxAbs.bitPattern == expected.maxAbs.bitPattern
                        && tally.sumOfSquares.bitPattern == expected.squares.bitPattern, "\(label)")
                #expect(tally.overflowed == expected.overflowed && tally.madeNonFinite == expected.madeNonFinite, "\(label)")
            }
        }
        #expect(expected.madeNonFinite > 0 && expected.changed > 100)
        #expect((expected.overflowed > 0) == (dtype != .float64))

        let odd = Array(stride(from: 1, to: input.count, by: 2))
        var tensor = Self.tensor(input, dtype)
        tensor.update(odd, Self.transform)
        let listed = Self.reference(input, dtype, odd)
        #expect(zip(Self.doubles(tensor.values), listed.values).allSatisfy { Self.bits($0, dtype) == Self.bits($1, dtype) }, "\(dtype)")
        #expect(tensor.changes.elementsChanged == listed.changed && tensor.changes.sumOfSquares.bitPattern == listed.squares.bitPattern)
    }

    /// A signalling NaN (0x7fa00000) among float32 values is stored back quiet (0x7fe00000) by a
    /// pass that returns every value as it was: one change, of NaN size, wherever it sits in the
    /// eight-element steps of computed results (widened to Double both NaNs would look the same);
    /// a finite value computed past float32's largest overflows to infinity in those steps too.
    @Test func computedResultsSeeEveryChangeOfBits() {
        let signaling = Float(bitPattern: 0x7fa0_0000)
        for position in [0, 3, 7, 8, 13, 23] {
            var values = (0..<24).map { Float($0) - 11.5 }
            values[position] = signaling
            var tensor = Tensor(info: TensorInfo(name: "t", dtype: .float32, shape: [24]), values: .float32(values))
            let results = values.map { Double($0) }
            results.withUnsafeBufferPointer { tensor.update(0..<24, to: $0) }
            guard case .float32(let stored) = tensor.values else { Issue.record("float32 stays float32"); return }
            #expect(stored[position].bitPattern == 0x7fe0_0000, "at \(position)")
            #expect(tensor.changes.elementsChanged == 1 && tensor.changes.sumOfSquares.isNaN && tensor.changes.maxAbs == 0, "at \(position)")
            #expect(tensor.changes.overflowed == 0 && tensor.changes.madeNonFinite == 0, "at \(position)")

            var finite = Tensor(info: TensorInfo(name: "t", dtype: .float32, shape: [24]), values: .float32((0..<24).map { Float($0) }))
            let large = (0..<24).map { $0 == position ? 1e39 : Double($0) }
            large.withUnsafeBufferPointer { finite.update(0..<24, to: $0) }
            #expect(finite.changes.overflowed == 1 && finite.changes.elementsChanged == 1 && finite.changes.maxAbs == .infinity, "at \(position)")
        }
    }

    /// A class column through `AxisSlice`, any other sequence through the unspecialized loop: the
    /// same values and tally as the same indices given as a list.
    @Test func everyIndexSequenceGivesTheSameResult() {
        let input = Self.doubles(Self.tensor(Self.values(60), .float32).values)
        var byList = Self.tensor(input, .float32), bySlice = byList, bySequence = byList
        let column = Array(AxisSlice(shape: [6, 10], axis: 1, index: 3))
        byList.update(column, Self.transform)
        bySlice.update(AxisSlice(shape: [6, 10], axis: 1, index: 3), Self.transform)
        bySequence.update(column.lazy.map { $0 }, Self.transform)
        let bits = { (t: Tensor) in Self.doubles(t.values).map { $0.bitPattern } }  // NaNs among them: compare bits
        #expect(bits(byList) == bits(bySlice) && byList.changes == bySlice.changes)
        #expect(bits(byList) == bits(bySequence) && byList.changes == bySequence.changes)
        #expect(byList.changes.elementsChanged > 0)
    }
}
