import GRDB

/// The list of a store's segments, one row each, in SQLite: what listings, retention and lookups by time read,
/// without walking folders.
///
/// The segment files are the truth: a catalog that is missing or cannot be opened is rebuilt from them
/// (``RecordingStore`` does that at start), and a row whose files are gone is dropped.
final class RecordingCatalog: Sendable {
    private let database: DatabaseQueue
    /// The catalog's file.
    let path: String

    /// Opens the catalog at `path`, creating it (and its table) if needed.
    init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.label = "FrameStream recordings"
        database = try DatabaseQueue(path: path, configuration: configuration)
        try database.writeWithoutTransaction { db in
            // WAL: a reader (a listing) never waits for the recorder's writes. NORMAL is safe in WAL mode: a power
            // loss can lose the last commits, which the next start repairs from the files.
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("segments") { db in
            try db.create(table: CatalogSegment.databaseTableName) { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("camera", .text).notNull()
                table.column("path", .text).notNull().unique()
                table.column("startMicros", .integer).notNull()
                table.column("endMicros", .integer).notNull()
                table.column("frames", .integer).notNull()
                table.column("bytes", .integer).notNull()
                table.column("state", .text).notNull()
            }
            try db.create(index: "segmentByCameraAndTime", on: "segment", columns: ["camera", "startMicros"])
        }
        try migrator.migrate(database)
    }

    /// Adds a segment; returns it with its id.
    func insert(_ segment: CatalogSegment) throws -> CatalogSegment {
        var segment = segment
        try database.write { db in try segment.insert(db) }
        return segment
    }

    /// Saves a segment's new end, counts and state.
    func update(_ segment: CatalogSegment) throws {
        try database.write { db in try segment.update(db) }
    }

    /// Removes a segment's row.
    func delete(id: Int64) throws {
        _ = try database.write { db in try CatalogSegment.deleteOne(db, key: id) }
    }

    /// Every segment, oldest first.
    func allSegments() throws -> [CatalogSegment] {
        try database.read { db in
            try CatalogSegment.order(Column("startMicros"), Column("id")).fetchAll(db)
        }
    }

    /// A camera's segments that overlap `range`, oldest first.
    func segments(camera: String, overlapping range: ClosedRange<Int64>) throws -> [CatalogSegment] {
        try database.read { db in
            try CatalogSegment
                .filter(Column("camera") == camera && Column("state") != CatalogSegment.State.deleting.rawValue)
                .filter(Column("startMicros") <= range.upperBound && Column("endMicros") >= range.lowerBound)
                .order(Column("startMicros"), Column("id"))
                .fetchAll(db)
        }
    }

    /// Replaces every row with `segments` (a rebuild from the files).
    func replaceAll(with segments: [CatalogSegment]) throws -> [CatalogSegment] {
        try database.write { db in
            try CatalogSegment.deleteAll(db)
            return try segments.map { segment in
                var segment = segment
                segment.id = nil
                try segment.insert(db)
                return segment
            }
        }
    }
}
