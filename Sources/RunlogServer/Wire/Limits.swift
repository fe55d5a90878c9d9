/// The server's limits, each beside MLflow's number where MLflow has one.
public enum Limits {
    /// Metrics in one `log-batch` (MLflow: 1,000).
    public static let batchMetrics = 1000
    /// Params in one `log-batch` (MLflow: 100).
    public static let batchParams = 100
    /// Tags in one `log-batch` (MLflow: 100).
    public static let batchTags = 100
    /// Metrics, params and tags together in one `log-batch` (MLflow: 1,000).
    public static let batchEntities = 1000
    /// Runs searched per page (MLflow: 50,000).
    public static let searchResults = 50_000
    /// Points of `get-history` per page when the client names no limit (MLflow's client asks for 25,000).
    public static let historyPage = 25_000
    /// Runs in one `get-history-bulk-interval` (MLflow: 100).
    public static let bulkRuns = 100
    /// Points per run of `get-history-bulk-interval`, at most and when the client names no limit
    /// (MLflow's server: 2,500 for both; its UI asks for 320).
    public static let bulkIntervalPoints = 2500
    /// Bytes of a JSON request body. MLflow's largest legal batch (100 params of 6,000 characters,
    /// 100 tags of 8,000, as `\uXXXX` escapes at worst) stays under it.
    public static let requestBody = 16 << 20
    /// Experiment name length (MLflow: 500 in its SQL store); key 250, param value 6,000 and tag
    /// value 8,000 are the tracking layer's own rules, which are MLflow's.
    public static let paramValue = 6000
    public static let tagValue = 8000

    /// A value cut to `limit` code points, as MLflow's server (`MLFLOW_TRUNCATE_LONG_VALUES`, on by
    /// default) stores a longer param or tag value; nil when it fits.
    static func truncated(_ value: String, limit: Int) -> String? {
        var scalars = value.unicodeScalars
        guard scalars.count > limit else { return nil }
        scalars = String.UnicodeScalarView(scalars.prefix(limit))
        return String(scalars)
    }
}
