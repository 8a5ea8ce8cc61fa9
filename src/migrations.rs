//! The schema migrations, embedded for hosts that apply them themselves (native, tests).
//! Workers apply the same files with `wrangler d1 migrations apply`; Spin with `--sqlite`.

/// (name, SQL) in order.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../migrations/0001_init.sql")),
    ("0002_single_round_trip", include_str!("../migrations/0002_single_round_trip.sql")),
    ("0003_oidc", include_str!("../migrations/0003_oidc.sql")),
];
