-- Request rate: requests per minute and per second over the last hour, all routes.
-- Counts are weighted by _sample_interval (each stored row stands for that many requests).
SELECT
    toStartOfInterval(timestamp, INTERVAL '1' MINUTE) AS minute,
    SUM(_sample_interval) AS requests,
    SUM(_sample_interval) / 60 AS requests_per_second
FROM taskapi_requests
WHERE timestamp > NOW() - INTERVAL '1' HOUR
GROUP BY minute
ORDER BY minute ASC
