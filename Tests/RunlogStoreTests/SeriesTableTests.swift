import RunlogWorkloads
import Testing

@testable import RunlogStore

/// The index's table of series and the writer's table of slots keep positions in their own hash
/// table (`KeyPositions`): every key added is found at its position, across every growth, and
/// no key that was not added is found.
@Suite struct SeriesTableTests {
    func block(_ step: Int64) -> BlockDescriptor {
        let point = MetricPoint(step: step, timestamp: step, value: Double(step))
        let summary = [point].withUnsafeBufferPointer { BlockSummary(of: $0) }
        return BlockDescriptor(segment: 1, offset: step * 100, length: 100, summary: summary)
    }

    @Test func everyKeyIsFoundAtItsPositionAndNoOtherKeyIs() {
        var random = SeededRandom(seed: 61)
        // Keys of every length around the inline-string limit, and many that share a prefix.
        let keys = (0..<20_000).map { i in
            i % 3 == 0 ? "layer_\(i)/grad_norm" : String(repeating: "k", count: 1 + Int(random.next() % 40)) + "\(i)"
        }
        var table = SeriesTable()
        var positions = KeyPositions()
        for (i, key) in keys.enumerated() {
            table.add(block(Int64(i)), key: key)
            table.add(block(Int64(i) + 1_000_000), key: key)  // a second block: found, not added again
            positions.insert(key, at: i) { keys[$0] }
            if i % 997 == 0 {  // every key so far, after each growth
                for (j, earlier) in keys[...i].enumerated() {
                    #expect(positions.find(earlier) { keys[$0] } == j)
                }
            }
        }
        #expect(table.count == keys.count && positions.count == keys.count)
        #expect(Array(table.keys) == keys, "in the order they were added")
        for (i, key) in keys.enumerated() {
            #expect(table[key]?.blockCount == 2 && table[key]?.key == key)
            #expect(table[key]?.blocks.first?.summary.first.step == Int64(i))
            #expect(positions.find(key) { keys[$0] } == i)
        }
        for absent in ["", "k", "layer_1/grad_norm", "layer_0/grad_norm2", "missing"] {
            #expect(table[absent] == nil, "\(absent)")
            #expect(positions.find(absent) { keys[$0] } == nil, "\(absent)")
        }
        var pairs = 0
        for (key, series) in table {
            #expect(series.key == key)
            pairs += 1
        }
        #expect(pairs == keys.count)
    }

    @Test func setReplacesTheSeriesOfItsKey() {
        var table = SeriesTable()
        table.add(block(1), key: "loss")
        table.add(block(2), key: "acc")
        var replacement = SeriesIndex(key: "loss")
        replacement.add(block(7))
        table.set(replacement)
        #expect(table.count == 2)
        #expect(table["loss"]?.blocks.map(\.summary.first.step) == [7])
        #expect(table["acc"]?.blocks.map(\.summary.first.step) == [2])
        #expect(table.mapValues(\.blockCount) == ["loss": 1, "acc": 1])
    }
}
