import Testing
@testable import Checkpoint

/// Strided views copied run by run: the same bytes as an element-by-element copy, and runs as long
/// as the layout allows, so no per-element index list is ever built.
@Suite struct TorchViewTests {
    /// The span index of each element, row-major, computed the slow way (for comparison only).
    private func reference(_ view: TorchView) -> [Int] {
        var indices: [Int] = []
        func walk(_ axis: Int, _ base: Int) {
            if axis == view.shape.count { indices.append(base); return }
            for i in 0..<view.shape[axis] { walk(axis + 1, base + i * view.stride[axis]) }
        }
        walk(0, 0)
        return view.count == 0 ? [] : indices
    }

    private let views: [([Int], [Int])] = [
        ([4, 3], [6, 1]),          // rows of a wider matrix
        ([3, 4], [1, 3]),          // a transpose
        ([2, 3, 4], [12, 1, 3]),   // the last two axes swapped
        ([2, 1, 3], [3, 99, 1]),   // a size-1 axis with any stride
        ([2, 2, 2], [8, 4, 1]),    // pairs with gaps between them
        ([3, 2], [0, 1]),          // an expanded view (stride 0)
        ([5], [2]),                // every other element
        ([0, 4], [4, 1]),          // empty
    ]

    @Test func runsCoverTheViewInRowMajorOrder() {
        for (shape, stride) in views {
            let view = TorchView(offset: 0, shape: shape, stride: stride, itemSize: 4)
            var indices: [Int] = []
            var next = 0
            view.forEachRun { element, index, length in
                #expect(element == next)
                next += length
                indices += (index..<(index + length))
            }
            #expect(indices == reference(view), "size \(shape) stride \(stride)")
        }
    }

    @Test func contiguousInnerAxesAreOneRunEach() {
        var lengths: [Int] = []
        TorchView(offset: 0, shape: [4, 3], stride: [6, 1], itemSize: 2).forEachRun { _, _, length in lengths.append(length) }
        #expect(lengths == [3, 3, 3, 3])
        lengths = []
        TorchView(offset: 0, shape: [2, 3, 4], stride: [24, 4, 1], itemSize: 2).forEachRun { _, _, length in lengths.append(length) }
        #expect(lengths == [12, 12])  // a row of the wider outer axis, whole
        lengths = []
        TorchView(offset: 0, shape: [3, 4], stride: [1, 3], itemSize: 2).forEachRun { _, _, length in lengths.append(length) }
        #expect(lengths == Array(repeating: 1, count: 12))
    }

    @Test func gatherAndScatterMatchAnElementByElementCopy() {
        for (shape, stride) in views {
            for itemSize in [1, 2, 4, 8] {
                let view = TorchView(offset: 0, shape: shape, stride: stride, itemSize: itemSize)
                let span: [UInt8] = (0..<(max(view.spanCount, 1) * itemSize)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
                let expected = reference(view).flatMap { span[($0 * itemSize)..<(($0 + 1) * itemSize)] }
                let gathered = span.withUnsafeBytes { view.gather($0) }
                #expect(gathered == expected, "size \(shape) stride \(stride) itemsize \(itemSize)")
                guard view.isNonOverlapping else { continue }
                // Scatter new bytes back: the view's places change, the gaps keep theirs.
                let fresh = gathered.map { ~$0 }
                var written = span
                fresh.withUnsafeBytes { elements in written.withUnsafeMutableBytes { view.scatter(elements, into: $0) } }
                var slow = span
                for (i, index) in reference(view).enumerated() {
                    for b in 0..<itemSize { slow[index * itemSize + b] = fresh[i * itemSize + b] }
                }
                #expect(written == slow, "size \(shape) stride \(stride) itemsize \(itemSize)")
            }
        }
    }
}
