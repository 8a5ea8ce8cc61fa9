-- Store round trips per route over the last hour (double3): the mean per request and the
-- p99, weighted by _sample_interval. A route whose mean grows has gained a query.
SELECT
    blob1 AS route,
    blob2 AS method,
    SUM(_sample_interval) AS requests,
    SUM(double3 * _sample_interval) / SUM(_sample_interval) AS round_trips_mean,
    quantileExactWeighted(0.99)(double3, _sample_interval) AS round_trips_p99,
    max(double3) AS round_trips_max
FROM taskapi_requests
WHERE timestamp > NOW() - INTERVAL '1' HOUR
GROUP BY route, method
ORDER BY round_trips_mean DESC
