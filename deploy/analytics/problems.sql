-- The problem types answered over the last hour (blob5 is the problem slug, empty on
-- success), by route and status class: where the 4xx and 5xx of error_rate.sql come from.
SELECT
    blob5 AS problem,
    blob1 AS route,
    blob3 AS status_class,
    SUM(_sample_interval) AS responses
FROM taskapi_requests
WHERE timestamp > NOW() - INTERVAL '1' HOUR
    AND blob5 != ''
GROUP BY problem, route, status_class
ORDER BY responses DESC
LIMIT 50
