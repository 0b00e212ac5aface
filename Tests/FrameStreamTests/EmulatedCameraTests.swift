import Foundation
import FrameStream
import FrameStreamTesting
import Testing

@Suite(.timeLimit(.minutes(1)))
struct EmulatedCameraTests {
    @Test func bundledImagesAreThreeNumberedJPEGs() throws {
        let camera = try EmulatedCamera()
        #expect(camera.images.count == 3)
        for (index, image) in camera.images.enumerated() {
            let file = "\(TestFixtures.directory)/\(index + 1).jpg"
            #expect(image == [UInt8](try Data(contentsOf: URL(fileURLWithPath: file))))
            #expect(Array(image.prefix(2)) == [0xFF, 0xD8])
            #expect(Array(image.suffix(2)) == [0xFF, 0xD9])
        }
    }

    @Test func repeatsTheImagesInOrderAtOneFramePerSecond() async throws {
        let clock = ManualClock()
        let camera = try EmulatedCamera(clock: clock)
        let shown = try await withThrowingTaskGroup(of: [Int].self) { group in
            group.addTask {
                var shown: [Int] = []
                for try await image in camera.frames().prefix(5) {
                    shown.append(camera.images.firstIndex(of: image.bytes)! + 1)
                }
                return shown
            }
            // The first image comes at once; each later one exactly one second after the one before.
            for _ in 1...4 {
                await clock.waitForSleepers(1)
                clock.advance(by: .milliseconds(999))
                #expect(clock.sleeperCount == 1)
                clock.advance(by: .milliseconds(1))
            }
            return try await group.next()!
        }
        #expect(shown == [1, 2, 3, 1, 2])
    }

    @Test func frameRateSetsTheInterval() throws {
        let camera = try EmulatedCamera(configuration: .init(framesPerSecond: 4))
        #expect(camera.frameInterval == .milliseconds(250))
    }

    @Test func showsAFolderOfJPEGsInNaturalNameOrder() throws {
        let folder = try TemporaryFolder()
        for (name, marker) in [("frame10.jpg", UInt8(10)), ("frame2.JPEG", 2), ("notes.txt", 0), ("frame1.jpg", 1)] {
            try folder.write(name, [0xFF, 0xD8, marker, 0xFF, 0xD9])
        }
        let camera = try EmulatedCamera(configuration: .init(framesDirectory: folder.path))
        #expect(camera.images.map { $0[2] } == [1, 2, 10])
    }

    @Test func rejectsAFolderWithoutJPEGs() throws {
        let folder = try TemporaryFolder()
        try folder.write("readme.txt", Array("hello".utf8))
        #expect(throws: CameraError.noImages(directory: folder.path)) {
            try EmulatedCamera(configuration: .init(framesDirectory: folder.path))
        }
    }

    @Test func rejectsAFileThatIsNotAJPEG() throws {
        let folder = try TemporaryFolder()
        try folder.write("fake.jpg", Array("GIF89a".utf8))
        #expect(throws: CameraError.notJPEG(path: "\(folder.path)/fake.jpg")) {
            try EmulatedCamera(configuration: .init(framesDirectory: folder.path))
        }
    }

    @Test func rejectsAJPEGThatIsCutShort() throws {
        let folder = try TemporaryFolder()
        let whole = try #require(FileManager.default.contents(atPath: "\(TestFixtures.directory)/1.jpg"))
        try folder.write("1.jpg", [UInt8](whole))
        try folder.write("2.jpg", Array([UInt8](whole).prefix(5000)))
        let error = #expect(throws: CameraError.self) {
            try EmulatedCamera(configuration: .init(framesDirectory: folder.path))
        }
        #expect(error == .truncatedJPEG(path: "\(folder.path)/2.jpg"))
        #expect(error?.description.contains("\(folder.path)/2.jpg is cut short") == true)
    }

    @Test func rejectsAMissingFolder() throws {
        let error = #expect(throws: CameraError.self) {
            try EmulatedCamera(configuration: .init(framesDirectory: "/nonexistent/frames"))
        }
        #expect(error?.description.contains("/nonexistent/frames") == true)
    }

    @Test(arguments: [0.0, -1, .infinity, .nan])
    func rejectsAFrameRateThatIsNotPositive(_ rate: Double) throws {
        #expect(throws: CameraError.self) {
            try EmulatedCamera(configuration: .init(framesPerSecond: rate))
        }
    }
}

/// A folder under the system's temporary folder that is removed when the value goes away.
final class TemporaryFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "framestream-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: "\(path)/\(name)"))
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
