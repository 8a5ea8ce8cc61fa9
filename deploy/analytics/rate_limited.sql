-- Rate limiting per route over the last hour: the share of requests answered 429
-- (double5 is 1 for them) and how often the limiter was consulted (double4 = calls).
SELECT
    blob1 AS route,
    SUM(_sample_interval) AS requests,
    SUM(double5 * _sample_interval) AS rate_limited,
    SUM(double5 * _sample_interval) / SUM(_sample_interval) AS rate_limited_share,
    SUM(double4 * _sample_interval) / SUM(_sample_interval) AS limiter_calls_per_request
FROM taskapi_requests
WHERE timestamp > NOW() - INTERVAL '1' HOUR
GROUP BY route
ORDER BY rate_limited DESC, requests DESC
