-- Latency per route over the last hour: p50, p95 and p99 of double1 (duration in ms),
-- each row weighted by _sample_interval with quantileExactWeighted.
SELECT
    blob1 AS route,
    SUM(_sample_interval) AS requests,
    quantileExactWeighted(0.50)(double1, _sample_interval) AS p50_ms,
    quantileExactWeighted(0.95)(double1, _sample_interval) AS p95_ms,
    quantileExactWeighted(0.99)(double1, _sample_interval) AS p99_ms,
    SUM(double1 * _sample_interval) / SUM(_sample_interval) AS mean_ms
FROM taskapi_requests
WHERE timestamp > NOW() - INTERVAL '1' HOUR
GROUP BY route
ORDER BY p99_ms DESC
