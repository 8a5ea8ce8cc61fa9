//! Every list the API serves is read through an index: `EXPLAIN QUERY PLAN` of each
//! filter and sort (both directions, first and later pages) must show no full scan of a
//! table and no temporary B-tree for ORDER BY. A missing index fails this test.

use taskapi::clock::Date;
use taskapi::domain::ids::{ProjectId, UserId};
use taskapi::domain::task::{Priority, Status};
use taskapi::sql::task_list::{statement as list_statement, After, AssigneeFilter, Filters, Scope, Sort, SortKey};
use taskapi::{Statement, Store};
use taskapi_native::SqliteStore;

fn plan(store: &SqliteStore, stmt: &Statement) -> Vec<String> {
    let explain = Statement::new(format!("EXPLAIN QUERY PLAN {}", stmt.sql), stmt.params.clone());
    let rows = futures_executor::block_on(store.query(explain)).unwrap_or_else(|e| panic!("{e}: {}", stmt.sql));
    rows.iter().map(|r| r.text(3).unwrap_or_default()).collect()
}

fn assert_indexed(store: &SqliteStore, what: &str, stmt: &Statement) {
    let lines = plan(store, stmt);
    if std::env::var_os("PRINT_QUERY_PLANS").is_some() {
        println!("{what}:\n  {}", lines.join("\n  "));
    }
    for line in &lines {
        let full_scan =
            line.starts_with("SCAN ") && !line.contains("USING INDEX") && !line.contains("USING COVERING INDEX");
        assert!(!full_scan, "{what}: full scan `{line}` in {lines:#?}\n{}", stmt.sql);
        assert!(!line.contains("TEMP B-TREE"), "{what}: sort without index `{line}` in {lines:#?}\n{}", stmt.sql);
    }
}

fn filter_cases() -> Vec<(&'static str, Filters)> {
    let d = Date::parse("2026-06-01");
    vec![
        ("none", Filters::default()),
        ("status", Filters { statuses: vec![Status::Todo], ..Filters::default() }),
        ("statuses", Filters { statuses: vec![Status::Todo, Status::Done], ..Filters::default() }),
        ("assignee", Filters { assignee: Some(AssigneeFilter::User(UserId::new("u"))), ..Filters::default() }),
        ("assignee none", Filters { assignee: Some(AssigneeFilter::Nobody), ..Filters::default() }),
        ("priority", Filters { priorities: vec![Priority::High, Priority::Urgent], ..Filters::default() }),
        ("label", Filters { label: Some("ops".into()), ..Filters::default() }),
        ("due_before", Filters { due_before: d, ..Filters::default() }),
        ("due_after", Filters { due_after: d, ..Filters::default() }),
        ("q", Filters { q: Some("report".into()), ..Filters::default() }),
        (
            "everything",
            Filters {
                statuses: vec![Status::InProgress],
                assignee: Some(AssigneeFilter::User(UserId::new("u"))),
                priorities: vec![Priority::Low],
                label: Some("x".into()),
                due_before: d,
                due_after: d,
                q: Some("y".into()),
            },
        ),
    ]
}

#[test]
fn every_task_list_filter_and_sort_is_served_by_an_index() {
    let store = SqliteStore::in_memory().unwrap_or_else(|e| panic!("{e}"));
    let keys = [SortKey::CreatedAt, SortKey::UpdatedAt, SortKey::DueDate, SortKey::Priority];
    let mut checked = 0;
    for (name, filters) in filter_cases() {
        for key in keys {
            for descending in [false, true] {
                let sort = Sort { key, descending };
                let cursors = [
                    None,
                    Some(After { key: serde_json::json!(5), id: "t".into() }),
                    Some(After { key: serde_json::Value::Null, id: "t".into() }),
                ];
                for after in cursors.iter() {
                    let stmt = list_statement(
                        &UserId::new("me"),
                        &Scope::Project(ProjectId::new("p")),
                        &filters,
                        sort,
                        after.as_ref(),
                        20,
                    );
                    assert_indexed(&store, &format!("project tasks, {name}, {}", sort.name()), &stmt);
                    checked += 1;
                }
            }
        }
        for descending in [false, true] {
            let sort = Sort { key: SortKey::CreatedAt, descending };
            let after = After { key: serde_json::json!(5), id: "t".into() };
            for a in [None, Some(&after)] {
                let stmt =
                    list_statement(&UserId::new("me"), &Scope::AssignedTo(UserId::new("me")), &filters, sort, a, 20);
                assert_indexed(&store, &format!("my tasks, {name}"), &stmt);
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "only {checked} plans checked");
}

#[test]
fn other_lists_are_served_by_indexes() {
    let store = SqliteStore::in_memory().unwrap_or_else(|e| panic!("{e}"));
    let cases = [
        ("projects", taskapi::sql::projects::list_sql(), 5),
        ("members", taskapi::sql::members::list_sql(), 3),
        ("events", taskapi::sql::events::list_sql(), 3),
        ("api keys", taskapi::sql::api_keys::LIST_SQL.to_owned(), 3),
    ];
    for (name, sql, n) in cases {
        let params = (0..n).map(|i| taskapi::Value::Text(format!("v{i}"))).collect();
        assert_indexed(&store, name, &Statement::new(sql, params));
    }
}
