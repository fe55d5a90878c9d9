// The module a training binary imports: experiments, runs, params, tags, reproducibility inputs,
// metric logging, and the queries over them (history, downsampling, search, compare). The engine's
// types (run ids, points, scan ranges, durability) come with it.
@_exported import RunlogStore
