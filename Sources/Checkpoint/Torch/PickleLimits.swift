/// What a pickle may build before it is refused: each limit is a `PickleProblem.tooLarge` naming it.
extension PickleReader {
    struct Limits: Sendable {
        var memo = 4_000_000
        var stack = 4_000_000
        var marks = 10_000
        var text = 64 << 20
        /// Elements in all containers together, and each container itself (an empty dict costs
        /// memory too: a pickle of EMPTY_DICT, BUILD pairs made millions of them).
        var heap = 16_000_000
        /// Tensors rebuilt, and tensors named in the result (a memoized tensor appended to a list
        /// again and again is named once per element).
        var tensors = 1_000_000
        var nesting = 64
        var rank = 64
        /// UTF-8 bytes of one key, of one joined name, and of all tensor names together: one long
        /// memoized key joined into every name of a list (or of 64 nested levels) would otherwise
        /// grow a small file into gigabytes of names.
        var keyBytes = 4 << 10
        var nameBytes = 16 << 10
        var allNameBytes = 256 << 20
    }

    /// Bytes a tensor's elements may take (2^48, 256 TiB): beyond it a shape is a hostile file's,
    /// and sizes computed from it could overflow.
    static let maximumTensorBytes = 1 << 48
}
