//! The store port on D1: values and errors translated, `batch` is D1's atomic batch, and
//! each request runs in its own D1 session (read replication with bookmarks).

use std::sync::Arc;

use async_trait::async_trait;
use js_sys::{Array, Uint8Array};
use taskapi::store::{Consistency, StmtResult};
use taskapi::{Row, Statement, Store, StoreError, Value};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::send::{SendFuture, SendWrapper};
use worker::{D1Database, D1DatabaseSession, D1PreparedStatement};

/// D1 behind the store port: the database binding (per isolate), or one request's session
/// of it. Workers run one thread per isolate, so the JS handles may be shared as
/// `Send + Sync` (that is what `SendWrapper` asserts).
pub struct D1Store {
    db: SendWrapper<D1Database>,
    session: Option<SendWrapper<D1DatabaseSession>>,
}

impl D1Store {
    pub fn new(db: D1Database) -> Self {
        Self { db: SendWrapper::new(db), session: None }
    }

    fn prepare(&self, stmt: &Statement) -> Result<D1PreparedStatement, StoreError> {
        let params: Vec<JsValue> = stmt.params.iter().map(to_js).collect();
        let prepared = match &self.session {
            Some(session) => session.prepare(stmt.sql.as_ref()),
            None => self.db.prepare(stmt.sql.as_ref()),
        };
        prepared.bind(&params).map_err(err)
    }
}

fn err(e: worker::Error) -> StoreError {
    StoreError::from_sqlite_message(&e.to_string())
}

/// D1 rejects BigInt, so integers travel as doubles (ours stay below 2^53).
fn to_js(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::null(),
        #[allow(clippy::cast_precision_loss)]
        Value::Integer(i) => JsValue::from_f64(*i as f64),
        Value::Real(f) => JsValue::from_f64(*f),
        Value::Text(s) => JsValue::from_str(s),
        Value::Blob(b) => Uint8Array::from(b.as_slice()).buffer().into(),
    }
}

fn from_js(v: &JsValue) -> Value {
    if v.is_null() || v.is_undefined() {
        Value::Null
    } else if let Some(f) = v.as_f64() {
        from_number(f)
    } else if let Some(s) = v.as_string() {
        Value::Text(s)
    } else if let Some(b) = v.as_bool() {
        Value::Integer(i64::from(b))
    } else if v.is_instance_of::<js_sys::ArrayBuffer>() || v.is_instance_of::<Uint8Array>() || Array::is_array(v) {
        Value::Blob(Uint8Array::new(v).to_vec())
    } else {
        Value::Text(format!("{v:?}"))
    }
}

fn row_from_array(row: &JsValue) -> Row {
    Row(row.dyn_ref::<Array>().map(|a| a.iter().map(|v| from_js(&v)).collect()).unwrap_or_default())
}

/// The rows of a `raw()` result. Read value by value, each cell costs several crossings of
/// the wasm boundary; instead the runtime writes the whole result as one JSON text
/// (`JSON.stringify`, native code) and it is parsed here in one pass. JSON has no bytes,
/// so a result holding a blob (an ArrayBuffer, written as an object) is read value by
/// value instead.
fn rows_from_arrays(rows: &[JsValue]) -> Vec<Row> {
    let array: Array = rows.iter().collect();
    let parsed = js_sys::JSON::stringify(&array)
        .ok()
        .and_then(|text| text.as_string())
        .and_then(|text| serde_json::from_str::<Vec<Vec<serde_json::Value>>>(&text).ok());
    match parsed {
        Some(rows) if rows.iter().flatten().all(|v| !v.is_object() && !v.is_array()) => {
            rows.into_iter().map(|r| Row(r.into_iter().map(from_json).collect())).collect()
        }
        _ => rows.iter().map(row_from_array).collect(),
    }
}

/// A number of a D1 result: integers are doubles in JavaScript, so an integral number
/// below 2^53 is an integer.
fn from_number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        #[allow(clippy::cast_possible_truncation)]
        Value::Integer(f as i64)
    } else {
        Value::Real(f)
    }
}

/// A JSON value of a D1 result as a store value.
fn from_json(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Integer(i64::from(b)),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::Integer(i),
            (None, Some(f)) => from_number(f),
            (None, None) => Value::Null,
        },
        serde_json::Value::String(s) => Value::Text(s),
        other => Value::Text(other.to_string()),
    }
}

fn changes(result: &worker::D1Result) -> u64 {
    result.meta().ok().flatten().and_then(|m| m.changes).and_then(|c| u64::try_from(c).ok()).unwrap_or(0)
}

#[async_trait]
impl Store for D1Store {
    async fn query(&self, stmt: Statement) -> Result<Vec<Row>, StoreError> {
        SendFuture::new(async move {
            let prepared = self.prepare(&stmt)?;
            let rows = prepared.raw_js_value().await.map_err(err)?;
            Ok(rows_from_arrays(&rows))
        })
        .await
    }

    async fn execute(&self, stmt: Statement) -> Result<u64, StoreError> {
        SendFuture::new(async move {
            let prepared = self.prepare(&stmt)?;
            let result = prepared.run().await.map_err(err)?;
            Ok(changes(&result))
        })
        .await
    }

    async fn batch(&self, stmts: Vec<Statement>) -> Result<Vec<StmtResult>, StoreError> {
        SendFuture::new(async move {
            let prepared = stmts
                .iter()
                .map(|s| self.prepare(s).map(|p| AsRef::<JsValue>::as_ref(p.inner()).clone()))
                .collect::<Result<Array, _>>()?;
            let target: &JsValue = match &self.session {
                Some(session) => AsRef::<JsValue>::as_ref(&**session),
                None => AsRef::<JsValue>::as_ref(&*self.db),
            };
            let promise = target.unchecked_ref::<D1Batch>().batch(&prepared).map_err(|e| js_err(&e))?;
            let results = JsFuture::from(promise).await.map_err(|e| js_err(&e))?;
            batch_results(&results)
        })
        .await
    }

    /// Several reads in one round trip: a D1 batch of SELECTs.
    async fn query_many(&self, stmts: Vec<Statement>) -> Result<Vec<Vec<Row>>, StoreError> {
        self.batch(stmts).await.map(|r| r.into_iter().map(|s| s.rows).collect())
    }

    /// A D1 session per request: `first-primary` for writes, `first-unconstrained` for
    /// reads, or anchored at the client's bookmark. Queries of one session are
    /// sequentially consistent, wherever they run.
    fn session(&self, consistency: Consistency<'_>) -> Result<Option<Arc<dyn Store>>, StoreError> {
        let anchor = match consistency {
            Consistency::Primary => "first-primary",
            Consistency::AnyReplica => "first-unconstrained",
            Consistency::After(bookmark) => bookmark,
        };
        let session = self.db.with_session(Some(anchor)).map_err(err)?;
        Ok(Some(Arc::new(D1Store {
            // Another handle to the same binding (the JS object is shared, not copied).
            db: SendWrapper::new(AsRef::<JsValue>::as_ref(&*self.db).clone().unchecked_into()),
            session: Some(SendWrapper::new(session)),
        })))
    }

    fn bookmark(&self) -> Option<String> {
        self.session.as_ref().and_then(|s| s.get_bookmark().ok().flatten())
    }
}

#[wasm_bindgen]
extern "C" {
    /// A D1 database or session: `batch(statements)` on either.
    type D1Batch;
    #[wasm_bindgen(method, catch)]
    fn batch(this: &D1Batch, statements: &Array) -> Result<js_sys::Promise, JsValue>;
}

/// The text of a rejected D1 call: the error's message and its cause's, where D1 puts the
/// SQLite error (what `StoreError::from_sqlite_message` reads).
fn js_err(e: &JsValue) -> StoreError {
    let text = match e.dyn_ref::<js_sys::Error>() {
        Some(error) => {
            let cause = error.cause();
            match cause.dyn_ref::<js_sys::Error>() {
                Some(c) => format!("{}: {}", String::from(error.message()), String::from(c.message())),
                None => String::from(error.message()),
            }
        }
        None => format!("{e:?}"),
    };
    StoreError::from_sqlite_message(&text)
}

/// One statement's result of a batch, as D1 gives it (each row an object).
#[derive(serde::Deserialize)]
struct BatchResult {
    #[serde(default)]
    results: Vec<OrderedRow>,
    #[serde(default)]
    meta: Option<BatchMeta>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct BatchMeta {
    #[serde(default)]
    changes: Option<f64>,
}

/// A batch's results. Read through the bindings, every row and value costs several
/// crossings of the wasm boundary; instead the runtime writes the whole array as one JSON
/// text (`JSON.stringify`, native code; rows keep their column order), parsed here in one
/// pass. No column of the schema holds bytes, which JSON could not carry.
fn batch_results(results: &JsValue) -> Result<Vec<StmtResult>, StoreError> {
    let text = js_sys::JSON::stringify(results).map_err(|e| js_err(&e))?.as_string().unwrap_or_default();
    let parsed: Vec<BatchResult> =
        serde_json::from_str(&text).map_err(|e| StoreError::Other(format!("D1 batch result: {e}")))?;
    parsed
        .into_iter()
        .map(|r| match r.error {
            Some(e) => Err(StoreError::from_sqlite_message(&e)),
            None => Ok(StmtResult {
                rows: r.results.into_iter().map(|row| Row(row.0)).collect(),
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                changes: r.meta.and_then(|m| m.changes).map_or(0, |c| c.max(0.0) as u64),
            }),
        })
        .collect()
}

/// A batch result row: D1 gives objects; serde visits their entries in column order.
struct OrderedRow(Vec<Value>);

impl<'de> serde::Deserialize<'de> for OrderedRow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OrderedRow;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a result row object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<OrderedRow, A::Error> {
                let mut values = Vec::new();
                while let Some((_, v)) = map.next_entry::<serde::de::IgnoredAny, serde_json::Value>()? {
                    values.push(from_json(v));
                }
                Ok(OrderedRow(values))
            }
        }
        d.deserialize_map(V)
    }
}
