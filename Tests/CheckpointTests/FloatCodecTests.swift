import Testing
@testable import Checkpoint

/// Half and bfloat16 conversions against values worked out by hand from the IEEE layouts.
@Suite struct FloatCodecTests {
    @Test func halfKnownValues() {
        #expect(FloatCodec.half(from: 1.0) == 0x3C00)
        #expect(FloatCodec.half(from: -2.0) == 0xC000)
        #expect(FloatCodec.half(from: 65504) == 0x7BFF)          // largest finite half
        #expect(FloatCodec.half(from: 65520) == 0x7C00)          // halfway to 65536 rounds to +inf
        #expect(FloatCodec.half(from: 0x1p-24) == 0x0001)        // smallest subnormal
        #expect(FloatCodec.half(from: 0x1p-25) == 0x0000)        // tie between 0 and 2^-24: to even (0)
        #expect(FloatCodec.float(fromHalf: 0x3555) == 0.333251953125)
    }

    @Test func halfTiesToEven() {
        // Half has 10 fraction bits: spacing 2^-10 near 1. 1 + 2^-11 is halfway between 1 (even) and
        // 1 + 2^-10 (odd): rounds down; 1 + 3·2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even): up.
        #expect(FloatCodec.half(from: 1 + 0x1p-11) == 0x3C00)
        #expect(FloatCodec.half(from: 1 + 3 * 0x1p-11) == 0x3C02)
        #expect(FloatCodec.half(from: 1 + 0x1p-11 + 0x1p-20) == 0x3C01)  // just above halfway: up
    }

    @Test func bfloat16KnownValues() {
        #expect(FloatCodec.bfloat16(from: 1.0) == 0x3F80)
        #expect(FloatCodec.bfloat16(from: -1.0) == 0xBF80)
        #expect(FloatCodec.float(fromBFloat16: 0x4049) == 3.140625)
        // bf16 has 7 fraction bits: 1 + 2^-8 is a tie to even (1.0); 1 + 3·2^-8 rounds up to 1 + 2^-6.
        #expect(FloatCodec.bfloat16(from: 1 + 0x1p-8) == 0x3F80)
        #expect(FloatCodec.bfloat16(from: 1 + 3 * 0x1p-8) == 0x3F82)
        #expect(FloatCodec.bfloat16(from: .infinity) == 0x7F80)
        #expect(FloatCodec.bfloat16(from: .greatestFiniteMagnitude) == 0x7F80)  // rounds past the largest bf16
    }

    @Test func nanStaysNaN() {
        #expect(FloatCodec.float(fromBFloat16: FloatCodec.bfloat16(from: .nan)).isNaN)
        #expect(FloatCodec.float(fromBFloat16: FloatCodec.bfloat16(from: -.nan)).sign == .minus)
        #expect(FloatCodec.float(fromHalf: FloatCodec.half(from: .nan)).isNaN)
        // A NaN whose payload sits only in the low 16 bits must not become infinity.
        #expect(FloatCodec.float(fromBFloat16: FloatCodec.bfloat16(from: Float(bitPattern: 0x7F80_0001))).isNaN)
    }

    @Test func roundTripsEveryDTypeAndByteOrder() {
        let values: [Float] = [0, -0.0, 1, -1.5, 0.1, 1234.5, -0.000123]
        for dtype in [DType.float16, .bfloat16, .float32] {
            for order in [ByteOrder.little, .big] {
                let info = TensorInfo(name: "t", dtype: dtype, shape: [values.count], byteOrder: order)
                var tensor = Tensor(info: info, values: .float32(values))
                tensor.update(values.indices) { $0 }  // rounds into the stored dtype
                let bytes = FloatCodec.encode(tensor.values, as: info)
                #expect(bytes.count == info.byteCount)
                let decoded = bytes.withUnsafeBytes { FloatCodec.decode($0, as: info) }
                #expect(decoded == tensor.values, "\(dtype) \(order)")
            }
        }
        let info = TensorInfo(name: "d", dtype: .float64, shape: [2], byteOrder: .big)
        let bytes = FloatCodec.encode(.float64([1.0, -0.1]), as: info)
        #expect(bytes == [0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0xBF, 0xB9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A])
        #expect(bytes.withUnsafeBytes { FloatCodec.decode($0, as: info) } == .float64([1.0, -0.1]))
    }

    @Test func axisSliceSelectsAColumnOrARow() {
        // A (3, 4) Keras kernel: class 2 is column 2 → flat 2, 6, 10. As a (4, 3) PyTorch weight, row 2 → 6, 7, 8.
        #expect(Array(AxisSlice(shape: [3, 4], axis: 1, index: 2)) == [2, 6, 10])
        #expect(Array(AxisSlice(shape: [4, 3], axis: 0, index: 2)) == [6, 7, 8])
        // Conv kernel (kh, kw, in, out) = (2, 1, 2, 3): output channel 1 → every 3rd element from 1.
        #expect(Array(AxisSlice(shape: [2, 1, 2, 3], axis: 3, index: 1)) == [1, 4, 7, 10])
        #expect(Array(AxisSlice(shape: [5], axis: 0, index: 4)) == [4])
    }
}

/// The rounding edge cases numpy and an exact rational reference computed (Fixtures/expected).
@Suite struct RoundingCaseTests {
    private func floats(_ file: any CheckpointFile, _ name: String) throws -> [Float] {
        guard case .float32(let values) = try file.read(try #require(file.tensor(named: name))).values else { return [] }
        return values
    }

    private func doubles(_ file: any CheckpointFile, _ name: String) throws -> [Double] {
        guard case .float64(let values) = try file.read(try #require(file.tensor(named: name))).values else { return [] }
        return values
    }

    @Test func halfRoundingMatchesNumpy() throws {
        let cases = try openCheckpoint(Fixture.path("expected/f16_rounding_cases.safetensors"))
        let (input32, expected32) = (try floats(cases, "input32"), try floats(cases, "expected_from32"))
        #expect(input32.count > 30 && input32.count == expected32.count)
        for (x, want) in zip(input32, expected32) {
            let got = FloatCodec.float(fromHalf: FloatCodec.half(from: x))
            #expect(got.bitPattern == want.bitPattern || (got.isNaN && want.isNaN), "f32 \(x) (0x\(String(x.bitPattern, radix: 16)))")
        }
        // Passes compute in Double and round once to half (Tensor.update).
        let (input, expected) = (try doubles(cases, "input"), try floats(cases, "expected"))
        for (x, want) in zip(input, expected) {
            let got = Float(Float16(x))
            #expect(got.bitPattern == want.bitPattern || (got.isNaN && want.isNaN), "f64 \(x)")
        }
    }

    @Test func bfloat16RoundingMatchesTheReference() throws {
        let cases = try openCheckpoint(Fixture.path("expected/bf16_rounding_cases.safetensors"))
        let (input, expected) = (try floats(cases, "input32"), try floats(cases, "expected"))
        #expect(input.count > 30 && input.count == expected.count)
        for (x, want) in zip(input, expected) {
            let got = FloatCodec.float(fromBFloat16: FloatCodec.bfloat16(from: x))
            #expect(got.bitPattern == want.bitPattern, "0x\(String(x.bitPattern, radix: 16))")
        }
    }
}
