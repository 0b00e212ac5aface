import Synchronization

/// The segment a recorder is writing, as readers see it: its files and the index records written so far, shared by
/// the recorder's thread (which appends) and any number of readers (which look frames up while it grows).
package final class OpenSegment: Sendable {
    package let dataPath: String
    package let indexPath: String
    package let header: SegmentIndexHeader
    private let written = Mutex<[SegmentIndexRecord]>([])

    package init(dataPath: String, indexPath: String, header: SegmentIndexHeader) {
        self.dataPath = dataPath
        self.indexPath = indexPath
        self.header = header
    }

    /// The records written so far.
    package var records: [SegmentIndexRecord] { written.withLock { $0 } }

    /// Adds a record once its frame has been written.
    package func append(_ record: SegmentIndexRecord) {
        written.withLock { $0.append(record) }
    }
}
