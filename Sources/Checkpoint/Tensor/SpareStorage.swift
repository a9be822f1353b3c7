/// The storage of the largest float32 tensor a rewrite has written, kept for the next tensor of
/// about its size: glibc maps every block above 32 MiB afresh and unmaps it when freed, and
/// faulting a 64 MiB tensor's pages in again took 1 CPU second of the main thread's 5 in `negate`
/// on the 1 GiB bench model. It holds one tensor's storage, never more than the run held while
/// editing that tensor.
final class SpareStorage {
    private var values: [Float] = []

    /// `count` zeros in the kept storage, handed over, when `count` fills more than half of it
    /// (a bias does not take a kernel's storage); nil when it does not (the caller allocates).
    func zeros(count: Int) -> [Float]? {
        guard count <= values.capacity, count > values.capacity / 2 else { return nil }
        var taken = values
        values = []
        taken.removeAll(keepingCapacity: true)
        taken.append(contentsOf: repeatElement(0, count: count))
        return taken
    }

    /// Keeps `storage` for a later `take` when it is at least as large as what is kept.
    func keep(_ storage: [Float]) {
        if storage.capacity >= values.capacity { values = storage }
    }
}
