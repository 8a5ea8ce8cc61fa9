//! The metrics port on Workers Analytics Engine: one data point per request, written with
//! `writeDataPoint`, which queues it in the runtime and returns at once (the response does
//! not wait). Layout (queried by deploy/analytics/*.sql):
//! index1 route; blob1 route, blob2 method, blob3 status class, blob4 principal kind,
//! blob5 problem slug, blob6 trace id; double1 duration ms, double2 status, double3 store
//! round trips, double4 limiter calls, double5 rate-limited (0/1).

use taskapi::ports::{Metrics, RequestPoint};
use worker::send::SendWrapper;
use worker::{AnalyticsEngineDataPointBuilder, AnalyticsEngineDataset};

pub struct AnalyticsEngine {
    dataset: SendWrapper<AnalyticsEngineDataset>,
}

impl AnalyticsEngine {
    pub fn new(dataset: AnalyticsEngineDataset) -> Self {
        Self { dataset: SendWrapper::new(dataset) }
    }
}

impl Metrics for AnalyticsEngine {
    fn record(&self, p: &RequestPoint<'_>) -> Result<bool, String> {
        AnalyticsEngineDataPointBuilder::new()
            .indexes([p.route])
            .blobs([p.route, p.method, p.status_class(), p.principal_kind, p.problem.unwrap_or(""), p.trace_id])
            .add_double(f64::from(u32::try_from(p.duration_ms.max(0)).unwrap_or(u32::MAX)))
            .add_double(f64::from(p.status))
            .add_double(f64::from(p.store_calls))
            .add_double(f64::from(p.limiter_calls))
            .add_double(if p.rate_limited() { 1.0 } else { 0.0 })
            .write_to(&self.dataset)
            .map(|()| true)
            .map_err(|e| e.to_string())
    }
}
