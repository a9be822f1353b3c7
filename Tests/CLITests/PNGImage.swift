@testable import Checkpoint
import Foundation

/// The pixels of a PNG as Chromium writes its screenshots (8-bit RGB or RGBA, not interlaced),
/// decoded here so a test can tell a drawn page from a blank one without an image library:
/// chunks read, IDAT inflated by the zlib door the checkpoint readers use, scanlines unfiltered.
struct PNGImage {
    let width: Int
    let height: Int
    /// Bytes per pixel: 3 (RGB) or 4 (RGBA).
    let channels: Int
    let pixels: [UInt8]

    struct Unsupported: Error, CustomStringConvertible {
        let description: String
    }

    init(path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.count > 8, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { throw Unsupported(description: "\(path): not a PNG") }
        func be32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        var position = 8, compressed: [UInt8] = []
        var header: (width: Int, height: Int, depth: UInt8, color: UInt8, interlace: UInt8)?
        while position + 12 <= bytes.count {
            let length = be32(position), type = String(decoding: bytes[position + 4..<position + 8], as: UTF8.self)
            guard position + 12 + length <= bytes.count else { throw Unsupported(description: "\(path): chunk \(type) runs past the end") }
            let body = Array(bytes[position + 8..<position + 8 + length])
            if type == "IHDR", length == 13 {
                header = (be32(position + 8), be32(position + 12), body[8], body[9], body[12])
            } else if type == "IDAT" {
                compressed += body
            }
            position += 12 + length
        }
        guard let header, header.depth == 8, header.color == 2 || header.color == 6, header.interlace == 0, compressed.count > 2 else {
            throw Unsupported(description: "\(path): not an 8-bit RGB(A) non-interlaced PNG")
        }
        let channels = header.color == 6 ? 4 : 3, stride = header.width * channels
        // One byte to spare: the inflater wants room to see that the stream is not longer than declared.
        let expected = header.height * (stride + 1)
        var raw = [UInt8](repeating: 0, count: expected + 1)
        let inflater = try RawInflater(expectedOutput: expected)
        var consumed = 2, produced = 0  // past the zlib header
        while !inflater.finished {
            let step = try compressed[consumed...].withUnsafeBytes { input in
                try raw[produced...].withUnsafeMutableBytes { try inflater.inflate(input, into: $0) }
            }
            guard step.consumed > 0 || step.produced > 0 else { throw Unsupported(description: "\(path): image data ends early") }
            consumed += step.consumed
            produced += step.produced
        }
        var pixels = [UInt8](repeating: 0, count: header.height * stride)
        // Unsafe buffers: a debug build checks every array access, and a screenshot has millions.
        try raw.withUnsafeBufferPointer { raw in
            try pixels.withUnsafeMutableBufferPointer { out in
                for y in 0..<header.height {
                    let filter = raw[y * (stride + 1)], line = y * (stride + 1) + 1, row = y * stride
                    guard filter <= 4 else { throw Unsupported(description: "\(path): filter \(filter)") }
                    for x in 0..<stride {
                        let a = x >= channels ? Int(out[row + x - channels]) : 0
                        let b = y > 0 ? Int(out[row - stride + x]) : 0
                        var predictor = 0
                        switch filter {
                        case 1: predictor = a
                        case 2: predictor = b
                        case 3: predictor = (a + b) / 2
                        case 4:
                            let c = x >= channels && y > 0 ? Int(out[row - stride + x - channels]) : 0
                            let p = a + b - c
                            let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
                            predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                        default: break
                        }
                        out[row + x] = UInt8(truncatingIfNeeded: Int(raw[line + x]) + predictor)
                    }
                }
            }
        }
        (width, height, self.channels, self.pixels) = (header.width, header.height, channels, pixels)
    }

    /// How many pixels are within `tolerance` of `color` (#RRGGBB) in each channel.
    func count(near color: UInt32, tolerance: Int = 10) -> Int {
        let target = [Int(color >> 16 & 0xFF), Int(color >> 8 & 0xFF), Int(color & 0xFF)]
        return pixels.withUnsafeBufferPointer { pixels in
            var count = 0
            for start in stride(from: 0, to: pixels.count, by: channels)
            where abs(Int(pixels[start]) - target[0]) <= tolerance && abs(Int(pixels[start + 1]) - target[1]) <= tolerance
                && abs(Int(pixels[start + 2]) - target[2]) <= tolerance {
                count += 1
            }
            return count
        }
    }

    var pixelCount: Int { width * height }
}
