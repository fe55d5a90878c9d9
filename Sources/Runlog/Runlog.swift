// The module a training binary imports. Until the tracking API (experiments, runs, params,
// queries) lands, it re-exports the engine: stores, run writers and readers, range scans.
@_exported import RunlogStore
