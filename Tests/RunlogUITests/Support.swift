import Foundation
import Runlog

@testable import RunlogUI

/// A store in a temporary directory, removed with the value.
final class UIStore {
    let path = NSTemporaryDirectory() + "runlog-ui-\(UUID().uuidString)"
    let store: TrackingStore
    let models: ModelStore
    let ui: TrackingUI

    init() throws {
        var options = StoreOptions()
        options.durability = .never
        store = try TrackingStore.open(at: path, options: options)
        models = try ModelStore(storePath: path)
        let store = store
        ui = TrackingUI(
            store: store,
            actions: UIActions(
                deleteRun: { try store.deleteRun($0) }, restoreRun: { try store.restoreRun($0) }, refresh: {}),
            models: models)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func get(_ path: String, _ query: [String: [String]] = [:]) -> UIResponse {
        ui.respond(UIRequest(path: path, query: query))
    }

    func page(_ path: String, _ query: [String: [String]] = [:]) -> String {
        String(decoding: get(path, query).body, as: UTF8.self)
    }
}
