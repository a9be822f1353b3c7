import Testing
@testable import Checkpoint

/// `SpareStorage`: a rewrite reads each tensor into the storage of the largest one it wrote, when
/// the tensor fills more than half of it; nothing is shared and nothing grows past what was kept.
@Suite struct SpareStorageTests {
    private static func address(_ values: [Float]) -> UnsafeRawPointer? {
        values.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    /// As a rewrite uses it: read a tensor into what `take` gives, write it, `keep` its storage.
    private static func read(_ count: Int, from spare: SpareStorage) -> [Float] {
        var values = spare.take(atLeast: count)
        values.append(contentsOf: repeatElement(0, count: count))
        return values
    }

    @Test func aTensorOfAboutTheSameSizeIsReadIntoTheKeptStorage() {
        let spare = SpareStorage()
        #expect(spare.take(atLeast: 10).capacity == 0)  // nothing kept yet

        let kernel = Self.read(1_000, from: spare)
        let (storage, capacity) = (Self.address(kernel), kernel.capacity)
        spare.keep(consume kernel)
        #expect(spare.take(atLeast: capacity + 1).capacity == 0)  // too small for it
        #expect(spare.take(atLeast: capacity / 2).capacity == 0)  // a bias does not take a kernel's storage

        let next = Self.read(capacity / 2 + 1, from: spare)
        #expect(Self.address(next) == storage && next.count == capacity / 2 + 1)
        #expect(spare.take(atLeast: capacity / 2 + 1).capacity == 0)  // handed over, not shared
    }

    @Test func onlyTheLargestStorageIsKept() {
        let spare = SpareStorage()
        let kernel = Self.read(1_000, from: spare)
        let storage = Self.address(kernel)
        spare.keep(consume kernel)
        spare.keep(Self.read(10, from: spare))  // a bias, read into storage of its own
        #expect(Self.address(Self.read(900, from: spare)) == storage)
    }

    /// Reading into kept storage leaves nothing of the tensor before it: every value is the file's.
    @Test func aReusedStorageHoldsOnlyTheNewTensor() {
        let spare = SpareStorage()
        var old = Self.read(8, from: spare)
        for i in old.indices { old[i] = .nan }
        spare.keep(consume old)
        #expect(Self.read(6, from: spare) == [0, 0, 0, 0, 0, 0])
    }
}
