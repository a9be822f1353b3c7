import Testing
@testable import Checkpoint

/// `SpareStorage`: a rewrite reads each tensor into the storage of the largest one it wrote, when
/// the tensor fills more than half of it; nothing is shared and nothing grows past what was kept.
@Suite struct SpareStorageTests {
    private static func address(_ values: [Float]) -> UnsafeRawPointer? {
        values.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    /// As a rewrite uses it: read a tensor into what `zeros` gives, write it, `keep` its storage.
    private static func read(_ count: Int, from spare: SpareStorage) -> [Float] {
        spare.zeros(count: count) ?? [Float](repeating: 0, count: count)
    }

    @Test func aTensorOfAboutTheSameSizeIsReadIntoTheKeptStorage() {
        let spare = SpareStorage()
        #expect(spare.zeros(count: 10) == nil)  // nothing kept yet

        let kernel = Self.read(1_000, from: spare)
        let (storage, capacity) = (Self.address(kernel), kernel.capacity)
        spare.keep(consume kernel)
        #expect(spare.zeros(count: capacity + 1) == nil)  // too small for it
        #expect(spare.zeros(count: capacity / 2) == nil)  // a bias does not take a kernel's storage

        let next = Self.read(capacity / 2 + 1, from: spare)
        #expect(Self.address(next) == storage && next.count == capacity / 2 + 1)
        #expect(spare.zeros(count: capacity / 2 + 1) == nil)  // handed over, not shared
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
