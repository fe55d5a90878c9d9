/// The type byte of a record. New kinds of data get new numbers; old numbers never change meaning.
enum RecordType: UInt8, Sendable, CaseIterable {
    /// Names a series: `seriesID → key`. Precedes the first block of the series.
    case seriesDefinition = 1
    /// A block of points of one series.
    case block = 2
    case param = 3
    case tag = 4
    case status = 5
    case input = 6
}
