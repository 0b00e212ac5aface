import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A load client for Motion-JPEG servers: many concurrent viewers, each parsing its stream, with fast and slow
/// viewers reported apart. It talks to loopback only, and stops by itself after `--seconds`.
@main
struct MJPEGBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "MJPEGBench",
        abstract: "Open many viewers of an MJPEG stream on this machine and report what they see.",
        discussion: """
            Reports, for normal and slow viewers apart: frames per second per viewer (mean and minimum), repeated \
            frames (a sequence number not newer than the viewer's previous one), bytes per second, latency from each \
            part's X-Timestamp to its last byte (p50, p99, max), time to the first frame, errors, and this \
            program's own CPU time.
            """
    )

    @Option(help: "The stream; the host must be on this machine (127.0.0.1, localhost or ::1).")
    var url = "http://127.0.0.1:5000/video_feed"

    @Option(help: "Viewers that read as fast as they can.")
    var clients = 10

    @Option(help: "Viewers that read no faster than --slow-rate.")
    var slow = 0

    @Option(help: "Bytes per second a slow viewer reads.")
    var slowRate = 250_000

    @Option(help: "A slow viewer's socket receive buffer in bytes.")
    var slowReceiveBuffer = 65536

    @Option(help: "Seconds to run.")
    var seconds: Double = 15

    @Option(help: "Seconds at the start whose frames count for neither rate nor latency.")
    var warmUp: Double = 3

    @Flag(help: "Print the table's header before the rows.")
    var header = false

    @Option(help: "A label for the first column of the rows.")
    var label: String?

    func validate() throws {
        guard clients >= 0, slow >= 0, clients + slow > 0 else { throw ValidationError("no viewers to open") }
        guard clients + slow <= 20_000 else { throw ValidationError("at most 20000 viewers") }
        guard seconds > warmUp, warmUp >= 0, seconds <= 600 else {
            throw ValidationError("--seconds must exceed --warm-up and be at most 600")
        }
    }

    func run() async throws {
        guard let address = URLComponents(string: url), let host = address.host,
            ["127.0.0.1", "localhost", "::1"].contains(host)
        else { throw ValidationError("--url must be an http URL on this machine (127.0.0.1, localhost or ::1)") }
        let port = address.port ?? 80
        let path =
            address.percentEncodedPath.isEmpty
            ? "/"
            : address.percentEncodedPath
                + (address.percentEncodedQuery.map { "?" + $0 } ?? "")

        let group = MultiThreadedEventLoopGroup.singleton
        let started = Date().timeIntervalSince1970
        let endsAt = started + seconds
        let cpuBefore = Self.cpuSeconds()
        var channels: [any Channel] = []
        var failures: [String] = []
        let kinds = Array(repeating: false, count: clients) + Array(repeating: true, count: slow)
        // Connect in batches, so that the server's accept backlog is not the thing measured.
        for batch in stride(from: 0, to: kinds.count, by: 100) {
            let connections = kinds[batch..<min(kinds.count, batch + 100)].map { isSlow in
                var bootstrap = ClientBootstrap(group: group)
                    .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                ViewerHandler(
                                    host: host,
                                    port: port,
                                    path: path,
                                    readRate: isSlow ? slowRate : nil,
                                    started: started,
                                    warmUp: warmUp,
                                    endsAt: endsAt
                                )
                            )
                        }
                    }
                if isSlow {
                    bootstrap = bootstrap.channelOption(ChannelOptions.autoRead, value: false)
                        .channelOption(
                            ChannelOptions.socketOption(.so_rcvbuf),
                            value: SocketOptionValue(slowReceiveBuffer)
                        )
                        .channelOption(
                            ChannelOptions.recvAllocator,
                            value: FixedSizeRecvByteBufferAllocator(capacity: 4096)
                        )
                }
                return bootstrap.connect(host: host == "localhost" ? "127.0.0.1" : host, port: port)
            }
            for connection in connections {
                do {
                    channels.append(try await connection.get())
                } catch {
                    failures.append("connect: \(error)")
                }
            }
        }
        let remaining = endsAt - Date().timeIntervalSince1970
        if remaining > 0 { try await Task.sleep(for: .seconds(remaining)) }

        var viewers: [ViewerStatistics] = []
        for channel in channels {
            if let statistics = try? await channel.pipeline.handler(type: ViewerHandler.self).map({ $0.statistics })
                .get()
            {
                viewers.append(statistics)
            }
            channel.close(promise: nil)
        }
        let cpu = Self.cpuSeconds() - cpuBefore
        let measured = seconds - warmUp
        if header {
            print(
                "| run | viewers | fps mean | fps min | repeated | MB/s | latency p50 | p99 | max | first frame p50 / max | errors | bench CPU |"
            )
            print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        }
        for isSlow in [false, true] {
            let group = viewers.filter { $0.isSlow == isSlow }
            let expected = isSlow ? slow : clients
            guard expected > 0 else { continue }
            let rates = group.map { Double($0.measuredFrames) / measured }
            let latencies = group.flatMap(\.latencies).sorted()
            let firstFrames = group.compactMap(\.firstFrameAfter).sorted()
            let errors = failures.count + group.filter { $0.error != nil }.count + (expected - group.count)
            let name = (label ?? "\(clients) + \(slow) slow") + (isSlow ? " (slow)" : "")
            print(
                "| \(name) | \(expected) | \(Self.format(rates.isEmpty ? 0 : rates.reduce(0, +) / Double(rates.count))) "
                    + "| \(Self.format(rates.min() ?? 0)) | \(group.map(\.duplicates).reduce(0, +)) "
                    + "| \(Self.format(Double(group.map(\.bytes).reduce(0, +)) / seconds / 1e6)) "
                    + "| \(Self.milliseconds(Self.percentile(latencies, 0.5))) "
                    + "| \(Self.milliseconds(Self.percentile(latencies, 0.99))) "
                    + "| \(Self.milliseconds(latencies.last)) "
                    + "| \(Self.milliseconds(Self.percentile(firstFrames, 0.5))) / \(Self.milliseconds(firstFrames.last)) "
                    + "| \(errors) | \(Self.format(cpu / seconds * 100)) % |"
            )
            for error in Set(group.compactMap(\.error) + failures).prefix(3) {
                FileHandle.standardError.write(Data("MJPEGBench: \(error)\n".utf8))
            }
        }
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double? {
        sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int(fraction * Double(sorted.count)))]
    }

    static func milliseconds(_ seconds: Double?) -> String {
        seconds.map { "\(Int(($0 * 1000).rounded())) ms" } ?? "–"
    }

    static func format(_ value: Double) -> String {
        String(format: "%.1f", value)
    }
}
