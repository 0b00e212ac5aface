import GRDB

/// One segment as the catalog lists it: a row of the `segment` table.
struct CatalogSegment: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    /// Whether a segment is being written, complete, or on its way out.
    enum State: String, Codable, Sendable, Hashable, DatabaseValueConvertible {
        case open
        case closed
        case deleting
    }

    static let databaseTableName = "segment"

    /// The row's id; `nil` before it is inserted.
    var id: Int64?
    /// The camera's name.
    var camera: String
    /// The segment's files without their extension, relative to the store's folder: `CAMERA/YYYY-MM-DD/START-SEQ`.
    var path: String
    /// The first and the last frame's capture times, in microseconds since 1970.
    var startMicros: Int64
    var endMicros: Int64
    /// How many frames it holds.
    var frames: Int
    /// Its size on disk: the JPEG data and the index.
    var bytes: Int64
    var state: State

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    init(
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
