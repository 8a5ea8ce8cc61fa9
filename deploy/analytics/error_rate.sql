-- Error rate per route over the last hour: server errors (5xx) and client errors (4xx)
-- counted separately (429 is a 4xx; see rate_limited.sql for its own share).
-- blob3 is the status class, blob1 the route template ("unmatched" for unknown paths).
SELECT
    blob1 AS route,
    SUM(_sample_interval) AS requests,
    SUM(if(blob3 = '5xx', _sample_interval, 0)) AS errors_5xx,
    SUM(if(blob3 = '4xx', _sample_interval, 0)) AS errors_4xx,
    SUM(if(blob3 = '5xx', _sample_interval, 0)) / SUM(_sample_interval) AS error_rate_5xx,
    SUM(if(blob3 = '4xx', _sample_interval, 0)) / SUM(_sample_interval) AS error_rate_4xx
FROM taskapi_requests
WHERE timestamp > NOW() - INTERVAL '1' HOUR
GROUP BY route
ORDER BY errors_5xx DESC, requests DESC
