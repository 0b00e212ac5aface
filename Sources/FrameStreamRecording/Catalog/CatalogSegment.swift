import GRDB

/// One segment as the catalog lists it: a row of the `segment` table.
package struct CatalogSegment: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    /// Whether a segment is being written, complete, or on its way out.
    package enum State: String, Codable, Sendable, Hashable, DatabaseValueConvertible {
        case open
        case closed
        case deleting
    }

    package static let databaseTableName = "segment"

    /// The row's id; `nil` before it is inserted.
    package var id: Int64?
    /// The camera's name.
    package var camera: String
    /// The segment's files without their extension, relative to the store's folder: `CAMERA/YYYY-MM-DD/START-SEQ`.
    package var path: String
    /// The first and the last frame's capture times, in microseconds since 1970.
    package var startMicros: Int64
    package var endMicros: Int64
    /// How many frames it holds.
    package var frames: Int
    /// Its size on disk: the JPEG data and the index.
    package var bytes: Int64
    package var state: State

    package mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    package init(
        camera: String,
        path: String,
        startMicros: Int64,
        endMicros: Int64,
        frames: Int,
        bytes: Int64,
        state: State
    ) {
        self.camera = camera
        self.path = path
        self.startMicros = startMicros
        self.endMicros = endMicros
        self.frames = frames
        self.bytes = bytes
        self.state = state
    }
}
