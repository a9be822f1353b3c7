import Dispatch
import Foundation
@testable import Checkpoint

/// A byte sink for tests: keeps what it is shown, in order, on a thread of its own; `restart`
/// forgets it. With `lateBy` (microseconds) it reads what it borrows late, as a digest does when
/// the writer outruns it: a buffer reused before `done` would show here as wrong bytes.
final class RecordingSink: ByteSink, @unchecked Sendable {  // `bytes` is touched only on `queue`
    private let queue = DispatchQueue(label: "recording-sink")
    private let lateBy: UInt32
    private var bytes: [UInt8] = []
    private(set) var borrowed = 0
    private(set) var restarts = 0

    init(lateBy: UInt32 = 0) { self.lateBy = lateBy }

    func consume(_ bytes: UnsafeRawBufferPointer) {
        let copy = Array(bytes)
        queue.async { self.bytes += copy }
    }

    func consume(borrowing bytes: UnsafeRawBufferPointer, done: @escaping @Sendable () -> Void) {
        struct Lent: @unchecked Sendable { let bytes: UnsafeRawBufferPointer }
        let lent = Lent(bytes: bytes), lateBy = lateBy
        borrowed += 1
        queue.async {
            if lateBy > 0 { usleep(lateBy) }
            self.bytes += Array(lent.bytes)
            done()
        }
    }

    func restart() {
        restarts += 1
        queue.async { self.bytes = [] }
    }

    /// Everything taken so far, once the sink has read it.
    var seen: [UInt8] { queue.sync { bytes } }
}
