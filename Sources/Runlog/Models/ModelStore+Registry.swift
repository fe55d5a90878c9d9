import Foundation

/// The model registry: named models, their numbered versions, tags, aliases and stages, with
/// MLflow's rules and messages.
extension ModelStore {
    public func createRegisteredModel(_ name: String, description: String?, tags: [String: String])
        throws(RunlogError) -> RegisteredModel
    {
        var event = ModelEvent(.createRegistered)
        event.name = name
        event.description = description
        event.tags = tags
        return try write(
            { (state) throws(RunlogError) -> ModelEvent? in
                guard state.registered[name] == nil else {
                    throw RunlogError(.alreadyExists, "Registered Model (name=\(name)) already exists.")
                }
                return event
            }, result: { $0.registered[name]! })
    }

    public func registeredModel(_ name: String) throws(RunlogError) -> RegisteredModel {
        try read { (state) throws(RunlogError) in try Self.registered(state, name) }
    }

    public func allRegisteredModels() -> [RegisteredModel] {
        (try? read { Array($0.registered.values) }) ?? []
    }

    public func renameRegisteredModel(_ name: String, to newName: String) throws(RunlogError) -> RegisteredModel {
        var event = ModelEvent(.renameRegistered)
        event.name = name
        event.newName = newName
        return try write(
            { (state) throws(RunlogError) -> ModelEvent? in
                _ = try Self.registered(state, name)
                if newName != name, state.registered[newName] != nil {
                    throw RunlogError(.alreadyExists, "Registered Model (name=\(newName)) already exists.")
                }
                return event
            }, result: { $0.registered[newName]! })
    }

    public func updateRegisteredModel(_ name: String, description: String?) throws(RunlogError) -> RegisteredModel {
        try registryChange(.updateRegistered, name) { $0.description = description }
    }

    public func deleteRegisteredModel(_ name: String) throws(RunlogError) {
        _ = try registryChange(.deleteRegistered, name, result: { _ in () })
    }

    public func setRegisteredModelTag(_ name: String, _ key: String, _ value: String) throws(RunlogError) {
        try Validation.key(key, "tag")
        _ = try registryChange(.setRegisteredTag, name, result: { _ in () }) { event in
            event.key = key
            event.value = value
        }
    }

    public func deleteRegisteredModelTag(_ name: String, _ key: String) throws(RunlogError) {
        _ = try registryChange(.deleteRegisteredTag, name, result: { _ in () }) { $0.key = key }
    }

    public func setAlias(_ alias: String, of name: String, to version: Int64) throws(RunlogError) {
        try Self.checkAlias(alias)
        _ = try registryChange(
            .setAlias, name, result: { _ in () },
            { event in
                event.key = alias
                event.version = version
            },
            check: { (model) throws(RunlogError) in _ = try Self.version(model, version) })
    }

    public func deleteAlias(_ alias: String, of name: String) throws(RunlogError) {
        _ = try registryChange(.deleteAlias, name, result: { _ in () }) { $0.key = alias }
    }

    /// The version `alias` points at.
    public func version(_ name: String, alias: String) throws(RunlogError) -> ModelVersion {
        let model = try registeredModel(name)
        guard let number = model.aliases[alias], let version = model.version(number) else {
            throw RunlogError(.invalidArgument, "Registered model alias \(alias) not found.")
        }
        return version
    }

    public func version(_ name: String, _ number: Int64) throws(RunlogError) -> ModelVersion {
        try Self.version(try registeredModel(name), number)
    }

    /// A new version of `name`: from a logged model (`models:/m-…`, with `modelID`) or a run's
    /// files (`runs:/<run>/<path>`, or any URI with `runID`).
    public func createVersion(
        of name: String, source: String, runID: String?, modelID: String?, description: String?,
        tags: [String: String], runLink: String?
    ) throws(RunlogError) -> ModelVersion {
        var event = ModelEvent(.createVersion)
        event.name = name
        event.source = source
        event.description = description
        event.tags = tags
        event.runLink = runLink
        event.modelID = modelID.flatMap { $0.isEmpty ? nil : $0 }
        event.runID = runID.flatMap { $0.isEmpty ? nil : $0 }
        return try write(
            { (state) throws(RunlogError) -> ModelEvent? in
                let model = try Self.registered(state, name)
                if let id = event.modelID {
                    let logged = try Self.live(state, id, includeDeleted: false)
                    if event.runID == nil { event.runID = logged.sourceRunID }
                }
                event.version = model.nextVersion
                return event
            },
            result: { state in state.registered[name]!.version(state.registered[name]!.nextVersion - 1)! })
    }

    public func updateVersion(_ name: String, _ number: Int64, description: String?) throws(RunlogError)
        -> ModelVersion
    {
        try versionChange(.updateVersion, name, number) { $0.description = description ?? "" }
    }

    public func deleteVersion(_ name: String, _ number: Int64) throws(RunlogError) {
        _ = try versionChange(.deleteVersion, name, number) { _ in }
    }

    public func setVersionTag(_ name: String, _ number: Int64, _ key: String, _ value: String) throws(RunlogError) {
        try Validation.key(key, "tag")
        _ = try versionChange(.setVersionTag, name, number) { event in
            event.key = key
            event.value = value
        }
    }

    public func deleteVersionTag(_ name: String, _ number: Int64, _ key: String) throws(RunlogError) {
        _ = try versionChange(.deleteVersionTag, name, number) { $0.key = key }
    }

    public func transitionStage(_ name: String, _ number: Int64, to stage: String, archiveExisting: Bool)
        throws(RunlogError) -> ModelVersion
    {
        guard let parsed = ModelStage(name: stage) else {
            throw RunlogError(
                .invalidArgument,
                "Invalid Model Version stage: \(stage). Value must be one of None, Staging, Production, Archived.")
        }
        return try versionChange(.transitionStage, name, number) { event in
            event.stage = parsed.rawValue
            event.archiveExisting = archiveExisting
        }
    }

    /// Registered models matching `filter` (`name` with =, !=, LIKE, ILIKE; `tags.k`), ordered by
    /// `name`, `creation_timestamp` or `last_updated_timestamp` (name ascending by default).
    public func searchRegisteredModels(
        filter: String, orderBy: [String], maxResults: Int, pageToken: String?
    ) throws(RunlogError) -> (models: [RegisteredModel], nextPageToken: String?) {
        let clauses = try ModelFilter.parse(filter)
        let order = try Self.order(
            orderBy, allowed: ["name", "timestamp", "creation_timestamp", "last_updated_timestamp"])
        let models = try read { Array($0.registered.values) }.filter { model in
            clauses.allSatisfy { $0.matches(model.filterValue) }
        }
        let columns = order.map { (column: ModelFilter.Column.attribute($0.0), ascending: $0.1) }
        let sorted = models.sorted { a, b in
            ModelFilter.precedes(a.filterValue, b.filterValue, by: columns) ?? (a.name < b.name)
        }
        return try ModelFilter.page(sorted, maxResults: maxResults, token: pageToken)
    }

    /// Versions matching `filter` (`name`, `run_id`, `source_path`, `version_number`, `tags.k`),
    /// newest first per model unless ordered.
    public func searchVersions(filter: String, orderBy: [String], maxResults: Int, pageToken: String?)
        throws(RunlogError) -> (versions: [ModelVersion], nextPageToken: String?)
    {
        let clauses = try ModelFilter.parse(filter)
        let order = try Self.order(
            orderBy, allowed: ["name", "version_number", "creation_timestamp", "last_updated_timestamp", "timestamp"])
        let versions = try read { state in
            state.registered.values.flatMap { model in model.versions.keys.compactMap(model.version) }
        }.filter { version in clauses.allSatisfy { $0.matches(version.filterValue) } }
        let columns = order.map { (column: ModelFilter.Column.attribute($0.0), ascending: $0.1) }
        let sorted = versions.sorted { a, b in
            ModelFilter.precedes(a.filterValue, b.filterValue, by: columns)
                ?? (a.name != b.name ? a.name < b.name : a.version > b.version)
        }
        let page = try ModelFilter.page(sorted, maxResults: maxResults, token: pageToken)
        return (page.models, page.nextPageToken)
    }

    // MARK: Helpers

    private func registryChange<T>(
        _ op: ModelEvent.Op, _ name: String, result: @escaping (ModelState) -> T = { $0 },
        _ fill: (inout ModelEvent) -> Void = { _ in },
        check: (RegisteredModel) throws(RunlogError) -> Void = { _ in }
    ) throws(RunlogError) -> T {
        var event = ModelEvent(op)
        event.name = name
        fill(&event)
        return try write(
            { (state) throws(RunlogError) -> ModelEvent? in
                try check(try Self.registered(state, name))
                return event
            }, result: result)
    }

    private func registryChange(
        _ op: ModelEvent.Op, _ name: String, _ fill: (inout ModelEvent) -> Void
    ) throws(RunlogError) -> RegisteredModel {
        try registryChange(op, name, result: { $0.registered[name]! }, fill)
    }

    private func versionChange(
        _ op: ModelEvent.Op, _ name: String, _ number: Int64, _ fill: (inout ModelEvent) -> Void
    ) throws(RunlogError) -> ModelVersion {
        try registryChange(
            op, name, result: { $0.registered[name]?.version(number) ?? Self.gone(name, number) },
            { event in
                event.version = number
                fill(&event)
            },
            check: { (model) throws(RunlogError) in _ = try Self.version(model, number) })
    }

    /// What a deleted version answers as (a delete returns nothing the caller reads).
    private static func gone(_ name: String, _ number: Int64) -> ModelVersion {
        ModelVersion(
            name: name, version: number, creationTime: 0, lastUpdatedTime: 0, description: "", source: "", runID: "",
            runLink: "", modelID: nil, stage: .none, tags: [:], aliases: [])
    }

    static func registered(_ state: ModelState, _ name: String) throws(RunlogError) -> RegisteredModel {
        guard let model = state.registered[name] else {
            throw RunlogError(.notFound, "Registered Model with name=\(name) not found")
        }
        return model
    }

    static func version(_ model: RegisteredModel, _ number: Int64) throws(RunlogError) -> ModelVersion {
        guard let version = model.version(number) else {
            throw RunlogError(.notFound, "Model Version (name=\(model.name), version=\(number)) not found")
        }
        return version
    }

    /// MLflow reserves `latest` and `v<digits>` (they name versions in `models:/` URIs).
    static func checkAlias(_ alias: String) throws(RunlogError) {
        guard !alias.isEmpty else {
            throw RunlogError(.invalidArgument, "Missing value for required parameter 'alias'.")
        }
        let lower = alias.lowercased()
        if lower == "latest" || (lower.hasPrefix("v") && lower.count > 1 && lower.dropFirst().allSatisfy(\.isNumber)) {
            throw RunlogError(.invalidArgument, "Version alias name '\(alias)' is reserved.")
        }
        if alias.count > 255
            || !alias.unicodeScalars.allSatisfy({
                $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "_" || $0 == "-")
            })
        {
            throw RunlogError(
                .invalidArgument,
                "Invalid alias name: '\(alias)'. Aliases may only contain alphanumerics, underscores, and dashes, and be at most 255 characters."
            )
        }
    }

    /// `["name DESC", "last_updated_timestamp"]` → fields and directions.
    static func order(_ clauses: [String], allowed: Set<String>) throws(RunlogError) -> [(String, Bool)] {
        var order: [(String, Bool)] = []
        for clause in clauses {
            let words = clause.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = words.first, words.count <= 2 else {
                throw RunlogError(.invalidArgument, "Invalid order_by clause '\(clause)'.")
            }
            var field = String(first).replacingOccurrences(of: "`", with: "")
            if field.hasPrefix("attributes.") || field.hasPrefix("attribute.") {
                field = String(field[field.index(after: field.firstIndex(of: ".")!)...])
            }
            guard allowed.contains(field) else {
                throw RunlogError(.invalidArgument, "Invalid order by key '\(field)' specified.")
            }
            var ascending = true
            if words.count == 2 {
                switch words[1].uppercased() {
                case "ASC": ascending = true
                case "DESC": ascending = false
                default: throw RunlogError(.invalidArgument, "Invalid order_by clause '\(clause)'.")
                }
            }
            order.append((field == "timestamp" ? "last_updated_timestamp" : field, ascending))
        }
        return order
    }
}

extension RegisteredModel {
    func filterValue(_ column: ModelFilter.Column) -> ModelFilter.Value? {
        switch column {
        case .attribute("name"): .text(name)
        case .attribute("creation_timestamp"): .number(Double(creationTime))
        case .attribute("last_updated_timestamp"): .number(Double(lastUpdatedTime))
        case .attribute("description"): .text(description)
        case .tag(let key): tags[key].map { .text($0) }
        default: nil
        }
    }
}

extension ModelVersion {
    func filterValue(_ column: ModelFilter.Column) -> ModelFilter.Value? {
        switch column {
        case .attribute("name"): .text(name)
        case .attribute("run_id"): .text(runID)
        case .attribute("source_path"), .attribute("source"): .text(source)
        case .attribute("version_number"): .number(Double(version))
        case .attribute("model_id"): modelID.map { .text($0) }
        case .attribute("creation_timestamp"): .number(Double(creationTime))
        case .attribute("last_updated_timestamp"): .number(Double(lastUpdatedTime))
        case .attribute("current_stage"): .text(stage.rawValue)
        case .tag(let key): tags[key].map { .text($0) }
        default: nil
        }
    }
}
