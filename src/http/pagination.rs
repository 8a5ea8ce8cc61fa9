//! Keyset pagination: `?limit=` and an opaque, tamper-evident `?cursor=`, the
//! `{data, next_cursor}` envelope and the `Link: rel="next"` header.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use http::{HeaderValue, Uri};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{ApiError, FieldError};

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;
/// Longest `cursor` accepted; the cursors this API issues are far shorter (about 200).
pub const MAX_CURSOR_LEN: usize = 512;
/// The shape of every cursor: the base64url payload, a dot, the 16-byte tag in base64url.
pub const CURSOR_PATTERN: &str = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$";

/// The key-set position after the last item of a page: the sort value and the id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Which list (and sort) the cursor belongs to; another list refuses it.
    pub list: String,
    /// The sort key of the last item (`null` sorts as in SQLite: first ascending).
    pub key: serde_json::Value,
    pub id: String,
}

/// Signs and checks cursors with a key derived from the server's signing key.
#[derive(Clone)]
pub struct CursorCodec {
    key: [u8; 32],
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec([REDACTED])")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl CursorCodec {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self, payload: &[u8]) -> Option<HmacSha256> {
        let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
        mac.update(payload);
        Some(mac)
    }

    pub fn encode(&self, pos: &Position) -> String {
        let payload = serde_json::to_vec(pos).unwrap_or_default();
        let tag = self.mac(&payload).map(|m| m.finalize().into_bytes().to_vec()).unwrap_or_default();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(tag.get(..16).unwrap_or_default()))
    }

    /// # Errors
    /// `Malformed` (400) for garbage, tampering, or a cursor of another list.
    pub fn decode(&self, cursor: &str, list: &str) -> Result<Position, ApiError> {
        let bad = || ApiError::Malformed("the `cursor` parameter is not a cursor this list issued".to_owned());
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(bad());
        }
        let (payload, tag) = cursor.split_once('.').ok_or_else(bad)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| bad())?;
        let mac = self.mac(&payload).ok_or_else(bad)?;
        mac.verify_truncated_left(&tag).map_err(|_| bad())?;
        if tag.len() != 16 {
            return Err(bad());
        }
        let pos: Position = serde_json::from_slice(&payload).map_err(|_| bad())?;
        if pos.list != list {
            return Err(bad());
        }
        Ok(pos)
    }
}

/// `limit` and `cursor`, plus every other query parameter for the caller to read.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub limit: usize,
    pub cursor: Option<String>,
    pub params: Vec<(String, String)>,
}

impl ListQuery {
    /// Parses the query string; `allowed` names the list's filter parameters.
    ///
    /// # Errors
    /// 422 for an out-of-range limit or an unknown parameter.
    pub fn parse(uri: &Uri, allowed: &[&str]) -> Result<ListQuery, ApiError> {
        let mut q = ListQuery { limit: DEFAULT_LIMIT, ..ListQuery::default() };
        let mut errors = Vec::new();
        for (k, v) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
            match k.as_ref() {
                "limit" => match v.parse::<usize>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
                    _ => errors.push(FieldError::new(
                        "limit",
                        "out_of_range",
                        format!("must be an integer from 1 to {MAX_LIMIT}"),
                    )),
                },
                "cursor" => q.cursor = Some(v.into_owned()),
                other if allowed.contains(&other) => q.params.push((other.to_owned(), v.into_owned())),
                other => errors.push(FieldError::new(other, "unknown_parameter", "is not a parameter of this list")),
            }
        }
        if errors.is_empty() {
            Ok(q)
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// One page of a list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `?cursor=` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The schema of `Page<T>` (`Page_T` in the document): `data` refers to `T`'s own schema,
/// where utoipa's derive would inline a copy of it (generic arguments are always
/// inlined), and `next_cursor` is always sent. Written by hand through the trait the
/// derive itself implements for generic types.
impl<T: utoipa::ToSchema> utoipa::__dev::ComposeSchema for Page<T> {
    fn compose(
        _generics: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Ref, SchemaType, Type};
        ObjectBuilder::new()
            .description(Some("One page of a list."))
            .property("data", ArrayBuilder::new().items(Ref::from_schema_name(T::name())).max_items(Some(MAX_LIMIT)))
            .required("data")
            .property(
                "next_cursor",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .description(Some("Pass as `?cursor=` for the next page; `null` on the last page.")),
            )
            .required("next_cursor")
            .into()
    }
}

impl<T: utoipa::ToSchema> utoipa::ToSchema for Page<T> {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Page")
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
}

/// A page as the response body, with `Link: rel="next"` when another page follows.
pub fn page_response<T: Serialize>(uri: &Uri, data: Vec<T>, next_cursor: Option<String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let link = next_cursor.as_deref().and_then(|c| next_link(uri, c));
    let mut res = axum::Json(Page { data, next_cursor }).into_response();
    if let Some(link) = link {
        res.headers_mut().insert(http::header::LINK, link);
    }
    res
}

/// One list's cursors: the position a request continues from, and the next page's.
pub struct Cursors<'a> {
    codec: &'a CursorCodec,
    list: String,
}

impl<'a> Cursors<'a> {
    /// Cursors of the list named `list` (a cursor of another list is refused).
    pub fn new(codec: &'a CursorCodec, list: impl Into<String>) -> Self {
        Self { codec, list: list.into() }
    }

    /// The position the request's `cursor` names, if any.
    ///
    /// # Errors
    /// 400 for a cursor this list did not issue.
    pub fn after(&self, q: &ListQuery) -> Result<Option<Position>, ApiError> {
        q.cursor.as_deref().map(|c| self.codec.decode(c, &self.list)).transpose()
    }

    /// The page, with a cursor after its last item (`key`, `id`) when another follows.
    pub fn page<T: Serialize>(
        &self,
        uri: &Uri,
        data: Vec<T>,
        next: Option<(serde_json::Value, String)>,
    ) -> axum::response::Response {
        let next_cursor = next.map(|(key, id)| self.codec.encode(&Position { list: self.list.clone(), key, id }));
        page_response(uri, data, next_cursor)
    }

    /// [`Cursors::page`] for lists ordered by id: `more` says whether another page follows.
    pub fn page_by_id<T: Serialize>(
        &self,
        uri: &Uri,
        data: Vec<T>,
        more: bool,
        id: impl Fn(&T) -> String,
    ) -> axum::response::Response {
        let next = data.last().filter(|_| more).map(|last| (serde_json::Value::Null, id(last)));
        self.page(uri, data, next)
    }
}

/// The `Link` header pointing at the next page: the request's own path and query with
/// `cursor` replaced.
pub fn next_link(uri: &Uri, cursor: &str) -> Option<HeaderValue> {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if k != "cursor" {
            ser.append_pair(&k, &v);
        }
    }
    ser.append_pair("cursor", cursor);
    HeaderValue::from_str(&format!("<{}?{}>; rel=\"next\"", uri.path(), ser.finish())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos() -> Position {
        Position { list: "tasks:-created_at".into(), key: serde_json::json!(1700), id: "abc".into() }
    }

    #[test]
    fn cursors_round_trip_and_reject_tampering_and_other_lists() {
        let codec = CursorCodec::new([9; 32]);
        let c = codec.encode(&pos());
        assert_eq!(codec.decode(&c, "tasks:-created_at").unwrap(), pos());
        assert!(codec.decode(&c, "projects").is_err());
        let (payload, tag) = c.split_once('.').unwrap();
        let mut forged = pos();
        forged.id = "zzz".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert!(codec.decode(&format!("{forged_payload}.{tag}"), "tasks:-created_at").is_err());
        assert!(codec.decode(payload, "tasks:-created_at").is_err());
        assert!(codec.decode("garbage", "tasks:-created_at").is_err());
        assert!(CursorCodec::new([8; 32]).decode(&c, "tasks:-created_at").is_err());
        assert!(codec.decode(&format!("{}{c}", "A".repeat(MAX_CURSOR_LEN)), "tasks:-created_at").is_err());
    }

    #[test]
    fn issued_cursors_have_the_documented_shape() {
        let codec = CursorCodec::new([9; 32]);
        let long = Position {
            list: format!("tasks:{}:-due_date", "0".repeat(36)),
            key: serde_json::json!("2026-12-31"),
            id: "f".repeat(36),
        };
        for p in [pos(), long] {
            let c = codec.encode(&p);
            let (payload, tag) = c.split_once('.').unwrap();
            assert!(c.len() <= MAX_CURSOR_LEN, "{c}");
            assert!(
                !payload.is_empty() && payload.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            );
            assert!(tag.len() == 22 && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        }
    }

    #[test]
    fn limits_are_checked_and_links_keep_filters() {
        let uri: Uri = "/v1/x?limit=5&status=todo&cursor=old".parse().unwrap();
        let q = ListQuery::parse(&uri, &["status"]).unwrap();
        assert_eq!((q.limit, q.param("status")), (5, Some("todo")));
        for bad in ["/v1/x?limit=0", "/v1/x?limit=101", "/v1/x?limit=ten", "/v1/x?bogus=1"] {
            assert!(ListQuery::parse(&bad.parse().unwrap(), &[]).is_err(), "{bad}");
        }
        let link = next_link(&uri, "NEXT").unwrap();
        assert_eq!(link.to_str().unwrap(), "</v1/x?limit=5&status=todo&cursor=NEXT>; rel=\"next\"");
    }
}
