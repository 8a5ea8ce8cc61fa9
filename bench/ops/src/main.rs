//! The per-operation benchmarks, natively: `cargo run --release -p taskapi-bench-ops`.
//! `bench-ops create-tasks N` only sends N task creations through the router (for
//! instruction-count profiles with callgrind).
fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("create-tasks") {
        let n = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1000);
        println!("created {}", taskapi_bench_ops::create_tasks(n));
        return;
    }
    println!("{}", taskapi_bench_ops::run_json(taskapi_bench_ops::native_now_ms));
}
