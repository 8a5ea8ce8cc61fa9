//! Sign-in with OpenID providers: authorization requests in flight, the API's one-time
//! codes, and the identities linked to accounts.

use crate::auth::SessionMode;
use crate::domain::ids::{IdentityId, UserId};
use crate::error::{internal, ApiError};
use crate::oidc::Claims;
use crate::store::{Row, Statement};

/// The request of `state_hash` for `provider` (the one record both written here and taken
/// back by `take_request`), and the sweep of what has expired (requests and codes), in one
/// batch.
pub fn insert_request(state_hash: &str, provider: &str, now: i64, r: &PendingRequest) -> Vec<Statement> {
    vec![
        Statement::new("DELETE FROM oidc_requests WHERE expires_at <= ?1", vec![now.into()]),
        Statement::new("DELETE FROM oidc_codes WHERE expires_at <= ?1", vec![now.into()]),
        Statement::new(
            "INSERT INTO oidc_requests (state_hash, provider, redirect_uri, session_mode, code_verifier, nonce, \
             link_user_id, app_state, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            vec![
                state_hash.into(),
                provider.into(),
                r.redirect_uri.as_str().into(),
                r.session_mode.as_str().into(),
                r.code_verifier.as_str().into(),
                r.nonce.as_str().into(),
                r.link_user.as_ref().into(),
                r.app_state.as_deref().into(),
                now.into(),
                r.expires_at.into(),
            ],
        ),
    ]
}

/// An authorization request remembered until the provider's redirect comes back, and taken
/// back by its state (whatever its age: an expired one is used up too).
pub struct PendingRequest {
    /// The app URI the browser returns to, with this API's code.
    pub redirect_uri: String,
    /// How the session of the sign-in will be handed over, unless the exchange says.
    pub session_mode: SessionMode,
    /// The PKCE verifier the provider's code is redeemed with.
    pub code_verifier: String,
    /// What the ID token's `nonce` must be.
    pub nonce: String,
    /// The account that asked to link the identity, for a link rather than a sign-in.
    pub link_user: Option<UserId>,
    /// The app's own `state`, handed back to it untouched.
    pub app_state: Option<String>,
    /// Epoch milliseconds after which the callback is refused.
    pub expires_at: i64,
}

/// Deletes the request of `state_hash` for `provider` and returns it: a state works once.
pub fn take_request(state_hash: &str, provider: &str) -> Statement {
    Statement::new(
        "DELETE FROM oidc_requests WHERE state_hash = ?1 AND provider = ?2 \
         RETURNING redirect_uri, session_mode, code_verifier, nonce, link_user_id, app_state, expires_at",
        vec![state_hash.into(), provider.into()],
    )
}

/// The stored session mode; any other text is a corrupt row.
fn session_mode(stored: &str) -> Result<SessionMode, ApiError> {
    SessionMode::parse(stored).ok_or_else(|| internal("unknown session_mode in oidc_requests or oidc_codes"))
}

/// # Errors
/// A row of another shape.
pub fn decode_request(row: &Row) -> Result<PendingRequest, ApiError> {
    Ok(PendingRequest {
        redirect_uri: row.text(0)?,
        session_mode: session_mode(&row.text(1)?)?,
        code_verifier: row.text(2)?,
        nonce: row.text(3)?,
        link_user: row.opt_text(4)?.map(UserId::new),
        app_state: row.opt_text(5)?,
        expires_at: row.int(6)?,
    })
}

/// The API's one-time code for a verified sign-in.
pub struct NewCode<'a> {
    pub code_hash: &'a str,
    pub provider: &'a str,
    pub claims: &'a Claims,
    pub email_normalized: &'a str,
    pub session_mode: SessionMode,
    pub link_user: Option<&'a UserId>,
    pub now: i64,
    pub expires_at: i64,
}

pub fn insert_code(c: &NewCode<'_>) -> Statement {
    Statement::new(
        "INSERT INTO oidc_codes (code_hash, provider, issuer, subject, email, email_normalized, email_verified, name, \
         session_mode, link_user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        vec![
            c.code_hash.into(),
            c.provider.into(),
            c.claims.issuer.as_str().into(),
            c.claims.subject.as_str().into(),
            c.claims.email.as_str().into(),
            c.email_normalized.into(),
            i64::from(c.claims.email_verified).into(),
            c.claims.name.as_str().into(),
            c.session_mode.as_str().into(),
            c.link_user.into(),
            c.now.into(),
            c.expires_at.into(),
        ],
    )
}

/// What an exchanged code says, with what the database knows about it: the account its
/// identity is linked to, the account that has its email, and whether the account that
/// asked to link it still exists.
pub struct TakenCode {
    pub provider: String,
    pub claims: Claims,
    pub session_mode: SessionMode,
    pub link_user: Option<UserId>,
    pub expires_at: i64,
    pub linked_to: Option<UserId>,
    pub email_owner: Option<UserId>,
    /// The account the code signs in, when there already is one (the linking account,
    /// else the identity's): its email, name and creation time.
    pub account: Option<(String, String, i64)>,
}

/// Reads the code with its identity and email owner (statement 0), then deletes it
/// (statement 1, which returns a row only for the one request that used it up). Every
/// result column has its own name: D1 returns batch rows as objects keyed by name.
pub fn take_code(code_hash: &str) -> Vec<Statement> {
    vec![
        Statement::new(
            "SELECT c.provider, c.issuer, c.subject, c.email, c.email_verified, c.name, c.session_mode, \
             c.link_user_id, c.expires_at, i.user_id AS linked_user_id, u.id AS email_owner_id, \
             a.email AS account_email, a.name AS account_name, a.created_at AS account_created_at \
             FROM oidc_codes c \
             LEFT JOIN identities i ON i.issuer = c.issuer AND i.subject = c.subject \
             LEFT JOIN users u ON u.email_normalized = c.email_normalized \
             LEFT JOIN users a ON a.id = COALESCE(c.link_user_id, i.user_id) \
             WHERE c.code_hash = ?1",
            vec![code_hash.into()],
        ),
        Statement::new("DELETE FROM oidc_codes WHERE code_hash = ?1 RETURNING 1", vec![code_hash.into()]),
    ]
}

/// # Errors
/// A row of another shape.
pub fn decode_code(row: &Row) -> Result<TakenCode, ApiError> {
    Ok(TakenCode {
        provider: row.text(0)?,
        claims: Claims {
            issuer: row.text(1)?,
            subject: row.text(2)?,
            email: row.text(3)?,
            email_verified: row.bool(4)?,
            name: row.text(5)?,
        },
        session_mode: session_mode(&row.text(6)?)?,
        link_user: row.opt_text(7)?.map(UserId::new),
        expires_at: row.int(8)?,
        linked_to: row.opt_text(9)?.map(UserId::new),
        email_owner: row.opt_text(10)?.map(UserId::new),
        account: match row.opt_text(11)? {
            Some(email) => Some((email, row.text(12)?, row.int(13)?)),
            None => None,
        },
    })
}

/// Links an identity to `user`; the UNIQUE (issuer, subject) makes a race for the same
/// identity a conflict.
pub fn insert_identity(id: &IdentityId, user: &UserId, provider: &str, claims: &Claims, now: i64) -> Statement {
    Statement::new(
        "INSERT INTO identities (id, user_id, provider, issuer, subject, email, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        vec![
            id.into(),
            user.into(),
            provider.into(),
            claims.issuer.as_str().into(),
            claims.subject.as_str().into(),
            claims.email.as_str().into(),
            now.into(),
        ],
    )
}

const IDENTITY_COLUMNS: &str = "id, provider, issuer, email, created_at";

/// The identities of `user`, oldest first.
pub fn list_identities(user: &UserId) -> Statement {
    Statement::new(
        format!("SELECT {IDENTITY_COLUMNS} FROM identities WHERE user_id = ?1 ORDER BY created_at, id"),
        vec![user.into()],
    )
}

/// A linked identity as the API shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Identity {
    #[schema(value_type = String, example = "0192f5e2-8c1a-7b3e-9a4f-0c2d9e8b7a61")]
    pub id: IdentityId,
    /// The configured provider it signs in through.
    #[schema(example = "google")]
    pub provider: String,
    /// The provider's issuer identifier.
    #[schema(example = "https://accounts.google.com")]
    pub issuer: String,
    /// The email the provider stated when it was linked.
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(value_type = String, format = DateTime, example = "2026-11-21T10:00:00.000Z")]
    pub created_at: crate::clock::Timestamp,
}

/// # Errors
/// A row of another shape.
pub fn decode_identity(row: &Row) -> Result<Identity, ApiError> {
    Ok(Identity {
        id: IdentityId::new(row.text(0)?),
        provider: row.text(1)?,
        issuer: row.text(2)?,
        email: row.text(3)?,
        created_at: crate::clock::Timestamp(row.int(4)?),
    })
}

/// Unlinking in one batch: whether the identity is the caller's (statement 0), and its
/// deletion (statement 1), which lands only while the account keeps another way to sign
/// in: a password, or another identity.
pub fn unlink(id: &IdentityId, user: &UserId) -> Vec<Statement> {
    vec![
        Statement::new("SELECT 1 FROM identities WHERE id = ?1 AND user_id = ?2", vec![id.into(), user.into()]),
        Statement::new(
            "DELETE FROM identities WHERE id = ?1 AND user_id = ?2 \
             AND (EXISTS (SELECT 1 FROM users WHERE id = ?2 AND password_hash != '') \
                  OR (SELECT count(*) FROM identities WHERE user_id = ?2) > 1) RETURNING 1",
            vec![id.into(), user.into()],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;

    /// The names of a SELECT's result columns (`x AS name`, else the part after the dot).
    fn result_names(sql: &str) -> Vec<String> {
        let list = sql.split_once("SELECT ").and_then(|(_, rest)| rest.split_once(" FROM ")).map(|(l, _)| l);
        list.unwrap_or_default()
            .split(", ")
            .map(|c| {
                let c = c.trim();
                let name = c.rsplit_once(" AS ").map_or_else(|| c.rsplit('.').next().unwrap_or(c), |(_, n)| n);
                name.to_owned()
            })
            .collect()
    }

    fn request_row(session_mode: &str) -> Row {
        let text = |s: &str| Value::Text(s.to_owned());
        Row(vec![
            text("https://app.example/cb"),
            text(session_mode),
            text("verifier"),
            text("nonce"),
            Value::Null,
            text("app-state"),
            Value::Integer(42),
        ])
    }

    #[test]
    fn a_remembered_request_reads_back_its_session_mode_and_refuses_an_unknown_one() {
        let r = decode_request(&request_row("cookie")).map_err(|e| e.to_string());
        let r = r.as_ref().map(|r| (r.session_mode, r.nonce.as_str(), r.code_verifier.as_str(), r.expires_at));
        assert_eq!(r, Ok((SessionMode::Cookie, "nonce", "verifier", 42)));
        let stored =
            insert_request("h", "p", 1, &decode_request(&request_row("token")).map_err(|e| e.to_string()).unwrap());
        assert_eq!(stored.last().map(|s| s.params.get(3).cloned()), Some(Some(Value::Text("token".to_owned()))));
        assert!(matches!(decode_request(&request_row("Cookie")), Err(ApiError::Internal(_))));
    }

    #[test]
    fn joined_reads_name_every_column_once() {
        // D1 returns batch rows as objects: a repeated name would drop a column.
        for stmt in take_code("h").iter().take(1).chain([&list_identities(&UserId::new("u"))]) {
            let names = result_names(&stmt.sql);
            assert!(names.len() > 1, "{}", stmt.sql);
            let mut unique = names.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "repeated result column in {names:?}");
        }
    }
}
