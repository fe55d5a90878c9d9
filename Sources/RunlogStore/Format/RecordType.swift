/// The type byte of a record. New kinds of data get new numbers; old numbers never change meaning.
package enum RecordType: UInt8, Sendable, CaseIterable {
    /// A block of points of one series; the block names its series.
    case block = 1
    case param = 2
    case tag = 3
    case status = 4
    case input = 5
    /// A run attribute: which experiment the run belongs to, its name, its lifecycle.
    case attribute = 6
}
