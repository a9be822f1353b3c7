/// A set of a tensor's flat indices, one bit each, iterated in ascending order: what prune chose,
/// held in 1/32 of a float32 tensor's size whatever share of it is chosen.
struct IndexMask: Sequence {
    private var words: [UInt64]
    let capacity: Int

    /// An empty set of indices in `0..<capacity`.
    init(capacity: Int) {
        precondition(capacity >= 0)
        self.capacity = capacity
        words = [UInt64](repeating: 0, count: (capacity + 63) / 64)
    }

    mutating func insert(_ index: Int) {
        precondition(index >= 0 && index < capacity, "index \(index) outside 0..<\(capacity)")
        words[index >> 6] |= 1 << UInt64(index & 63)
    }

    func makeIterator() -> Iterator { Iterator(words: words) }

    struct Iterator: IteratorProtocol {
        let words: [UInt64]
        var word = 0, bits: UInt64 = 0

        init(words: [UInt64]) {
            self.words = words
            bits = words.first ?? 0
        }

        mutating func next() -> Int? {
            while bits == 0 {
                word += 1
                guard word < words.count else { return nil }
                bits = words[word]
            }
            let bit = bits.trailingZeroBitCount
            bits &= bits - 1
            return word << 6 | bit
        }
    }
}
