import ArgumentParser
import Runlog

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store statistics: runs, series, points, bytes on disk, bytes per point, blocks, segments.")
    @OptionGroup var store: StoreOptionsGroup
    @OptionGroup var output: FormatOption

    func run() throws {
        let store = try self.store.open()
        var runs = 0, series = 0, points = 0, blocks = 0, segments = 0
        var bytes: Int64 = 0
        for id in try store.engine.runs() {
            let reader = try store.engine.openReader(id)
            runs += 1
            series += reader.index.series.count
            for s in reader.index.series.values {
                points += s.summary?.count ?? 0
                blocks += s.blockCount
            }
            segments += Set(reader.index.series.values.flatMap { $0.blocks.map(\.segment) }).count
            bytes += try store.engine.diskUsage(id)
            reader.closeFiles()
        }
        let perPoint = points > 0 ? Double(bytes) / Double(points) : 0
        var table = DataTable(columns: ["runs", "series", "points", "bytes", "bytes/point", "blocks", "segments"])
        table.rows = [
            [
                "\(runs)", "\(series)", "\(points)", "\(bytes)", String(format: "%.2f", perPoint), "\(blocks)",
                "\(segments)",
            ]
        ]
        table.objects = [
            .object([
                ("runs", .integer(Int64(runs))), ("series", .integer(Int64(series))),
                ("points", .integer(Int64(points))),
                ("bytes", .integer(bytes)), ("bytes_per_point", .number(perPoint)), ("blocks", .integer(Int64(blocks))),
                ("segments", .integer(Int64(segments))),
            ])
        ]
        table.print(output.format)
    }
}
