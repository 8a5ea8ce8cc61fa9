//! Sign-in with an OpenID provider (authorization code + PKCE), the account rules, and the
//! identities of an account.
//!
//! 1. `start`: a one-time `state`, a `nonce` and a PKCE verifier are stored (10 min) and the
//!    browser is sent to the provider.
//! 2. `callback`: the state is used up, the provider's code exchanged and its ID token
//!    verified; the verified claims are kept under a one-time code of this API (60 s) that
//!    the browser carries back to the app, which never sees a token in a URL.
//! 3. `exchange`: the app trades that code for a session; the account rules apply here
//!    (linked identity: sign in; verified new email: new account without a password;
//!    email of an existing account: 409 `account-exists`; unverified email: refused).

use crate::auth::tokens;
use crate::auth::SessionMode;
use crate::clock::Timestamp;
use crate::domain::ids::{IdentityId, UserId};
use crate::domain::user::{DisplayName, Email, User};
use crate::error::{internal, ApiError};
use crate::oidc::{Binding, Claims, OidcError, ProviderConfig, Providers, CODE_PREFIX, CODE_TTL_MS, STATE_TTL_MS};
use crate::ports::Ports;
use crate::sql::{self, accounts as accounts_q, oidc as q};
use crate::store::StoreError;

use super::accounts::{open_session, TokenResponse};

/// Longest `state` an app may ask to have handed back.
pub const MAX_APP_STATE: usize = 512;

fn provider<'a>(providers: &'a Providers, id: &str) -> Result<&'a ProviderConfig, ApiError> {
    providers.get(id).ok_or_else(|| ApiError::NotFound(format!("no sign-in provider `{id}` is configured")))
}

fn random_secret(ports: &Ports, prefix: &str) -> Result<String, ApiError> {
    tokens::generate(prefix, ports.random.as_ref()).map_err(internal)
}

/// Starts an authorization request: returns the provider URL to send the browser to.
/// With `link_user`, the identity that comes back is linked to that account.
///
/// # Errors
/// `NotFound` for an unknown provider, `Malformed` for a redirect URI the provider's
/// configuration does not allow (compared exactly: no open redirect), `Unavailable` when
/// the provider's discovery fails.
pub async fn start(
    ports: &Ports,
    providers: &Providers,
    provider_id: &str,
    redirect_uri: &str,
    mode: SessionMode,
    app_state: Option<&str>,
    link_user: Option<&UserId>,
) -> Result<String, ApiError> {
    let p = provider(providers, provider_id)?;
    if !p.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Err(ApiError::Malformed(format!(
            "redirect_uri is not an app URI allowed for provider `{}` (they are compared exactly)",
            p.id
        )));
    }
    let (state, nonce, verifier) = (random_secret(ports, "")?, random_secret(ports, "")?, random_secret(ports, "")?);
    // Discovery first: a provider that cannot be reached leaves nothing stored.
    let url = providers
        .authorization_url(ports, p, &state, Binding { nonce: &nonce, code_verifier: &verifier })
        .await
        .map_err(unavailable)?;
    let now = ports.clock.now_ms();
    let request = q::PendingRequest {
        redirect_uri: redirect_uri.to_owned(),
        session_mode: mode,
        code_verifier: verifier,
        nonce,
        link_user: link_user.cloned(),
        app_state: app_state.map(str::to_owned),
        expires_at: now.saturating_add(STATE_TTL_MS),
    };
    ports.store.batch(q::insert_request(&tokens::digest(&state), &p.id, now, &request)).await?;
    Ok(url)
}

fn unavailable(e: OidcError) -> ApiError {
    ApiError::Unavailable(e.reason())
}

/// What the provider's redirect to the callback carries.
#[derive(Debug, Default)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 9207: the issuer of the authorization response.
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// Where the callback sends the browser, and why a sign-in failed (for the log).
#[derive(Debug)]
pub struct CallbackOutcome {
    pub location: String,
    pub refusal: Option<String>,
}

/// `uri` with `params` added to its query (the app URI may have one already).
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::from(uri);
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    out.push(if uri.contains('?') { '&' } else { '?' });
    out.push_str(&ser.finish());
    out
}

/// An error code from the provider passed on to the app when it is a plain token (RFC 6749
/// error codes are); anything else becomes `access_denied`.
fn provider_error(e: &str) -> &str {
    if (1..=64).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
        e
    } else {
        "access_denied"
    }
}

/// Handles the provider's redirect. A missing, unknown, expired or used `state` is a 400
/// problem (there is no app to send the browser back to); everything after that ends in a
/// redirect to the app URI of the request, with `?code=` or `?error=`.
///
/// # Errors
/// `NotFound` for an unknown provider, `Malformed` for a bad state.
pub async fn callback(
    ports: &Ports,
    providers: &Providers,
    provider_id: &str,
    params: CallbackParams,
) -> Result<CallbackOutcome, ApiError> {
    let p = provider(providers, provider_id)?;
    let bad_state = || ApiError::Malformed("the state is missing, unknown, expired or already used".to_owned());
    let state = params.state.as_deref().filter(|s| (1..=128).contains(&s.len())).ok_or_else(bad_state)?;
    let rows = ports.store.query(q::take_request(&tokens::digest(state), &p.id)).await?;
    let pending = rows.first().map(q::decode_request).transpose()?.ok_or_else(bad_state)?;
    let now = ports.clock.now_ms();
    if pending.expires_at <= now {
        return Err(bad_state());
    }
    let app_state = pending.app_state.clone();
    let back = |pairs: &[(&str, &str)]| {
        let mut all = pairs.to_vec();
        if let Some(s) = &app_state {
            all.push(("state", s));
        }
        with_query(&pending.redirect_uri, &all)
    };
    let refuse = |code: &str, why: String| CallbackOutcome { location: back(&[("error", code)]), refusal: Some(why) };
    if let Some(e) = params.error.as_deref() {
        return Ok(refuse(provider_error(e), format!("the provider answered `{}`", provider_error(e))));
    }
    // RFC 9207: an authorization response from another issuer is a mix-up.
    if let Some(iss) = params.iss.as_deref() {
        if iss.trim_end_matches('/') != p.issuer {
            return Ok(refuse("invalid_issuer", "the response's iss is not this provider's issuer".to_owned()));
        }
    }
    let Some(code) = params.code.as_deref().filter(|c| (1..=2048).contains(&c.len())) else {
        return Ok(refuse("invalid_request", "the provider's redirect has no code".to_owned()));
    };
    let claims = match providers
        .exchange(ports, p, code, Binding { nonce: &pending.nonce, code_verifier: &pending.code_verifier })
        .await
    {
        Ok(c) => c,
        Err(e) => return Ok(refuse(e.code(), e.reason())),
    };
    let ours = random_secret(ports, CODE_PREFIX)?;
    let stored = q::insert_code(&q::NewCode {
        code_hash: &tokens::digest(&ours),
        provider: &p.id,
        claims: &claims,
        email_normalized: &Email::normalize_any(&claims.email),
        session_mode: pending.session_mode,
        link_user: pending.link_user.as_ref(),
        now,
        expires_at: now.saturating_add(CODE_TTL_MS),
    });
    if let Err(e) = ports.store.execute(stored).await {
        return Ok(refuse("temporarily_unavailable", format!("storing the sign-in: {e}")));
    }
    Ok(CallbackOutcome { location: back(&[("code", &ours)]), refusal: None })
}

/// A signed-in result of [`exchange`].
#[derive(Debug)]
pub struct SignedIn {
    pub user: User,
    pub tokens: TokenResponse,
    pub mode: SessionMode,
}

fn used_code() -> ApiError {
    ApiError::Unauthenticated("the sign-in code is invalid, expired or already used".to_owned())
}

/// The new account's display name: the provider's `name`, else the email's local part,
/// cut to the name rules.
fn display_name(claims: &Claims) -> DisplayName {
    let wanted = if claims.name.trim().is_empty() {
        claims.email.split('@').next().unwrap_or_default().to_owned()
    } else {
        claims.name.clone()
    };
    let cut: String = wanted.chars().filter(|c| !c.is_control()).take(100).collect();
    DisplayName::parse("name", cut.trim()).unwrap_or_else(|_| DisplayName::stored("User".to_owned()))
}

/// Exchanges the API's one-time code for a session, applying the account rules. `mode`
/// overrides the session mode chosen when the sign-in started.
///
/// # Errors
/// `Unauthenticated` for a code that is unknown, expired or used (each code works once);
/// `AccountExists` when the email belongs to an account that has not linked this
/// identity; `Forbidden` when the provider has not verified the email; `Conflict` when
/// the identity to link belongs to another account.
pub async fn exchange(ports: &Ports, code: &str, mode: Option<SessionMode>) -> Result<SignedIn, ApiError> {
    if !tokens::well_formed(CODE_PREFIX, code) {
        return Err(used_code());
    }
    let results = ports.store.batch(q::take_code(&tokens::digest(code))).await?;
    let taken = sql::rows(&results, 0).first().map(q::decode_code).transpose()?;
    let now = ports.clock.now_ms();
    let taken = match taken {
        Some(t) if sql::landed(&results, 1) && t.expires_at > now => t,
        _ => return Err(used_code()),
    };
    let mode = mode.unwrap_or(taken.session_mode);
    let unverified = || ApiError::Forbidden("the provider has not verified this email address".to_owned());
    // (the account, whether it is new, whether the identity must be linked)
    let (user_id, new_user, link) = match (&taken.link_user, &taken.linked_to) {
        (Some(linker), Some(owner)) if linker == owner => (linker.clone(), None, false),
        (Some(_), Some(_)) => {
            return Err(ApiError::Conflict("this identity is already linked to another account".to_owned()))
        }
        (Some(_), None) if taken.account.is_none() => return Err(used_code()),
        (Some(linker), None) if taken.claims.email_verified => (linker.clone(), None, true),
        (Some(_), None) => return Err(unverified()),
        (None, Some(owner)) => (owner.clone(), None, false),
        (None, None) if !taken.claims.email_verified => return Err(unverified()),
        (None, None) if taken.email_owner.is_some() => {
            return Err(ApiError::AccountExists(
                "an account with this email exists; sign in to it and link this provider from there".to_owned(),
            ))
        }
        (None, None) => {
            let email = Email::parse("email", &taken.claims.email).map_err(|_| {
                ApiError::Forbidden("the provider's email address is not one this API accepts".to_owned())
            })?;
            (UserId::new(super::new_id(ports)?), Some(email), true)
        }
    };
    let name = display_name(&taken.claims);
    let mut stmts = Vec::new();
    if let Some(email) = &new_user {
        stmts.push(accounts_q::insert_user(&user_id, email, &name, "", now));
    }
    if link {
        let id = IdentityId::new(super::new_id(ports)?);
        stmts.push(q::insert_identity(&id, &user_id, &taken.provider, &taken.claims, now));
    }
    let session = open_session(ports, &user_id, now, None)?;
    stmts.extend(session.stmts);
    match ports.store.batch(stmts).await {
        Ok(results) if sql::landed(&results, results.len().saturating_sub(2)) => {}
        Ok(_) => return Err(used_code()),
        // A concurrent sign-in took the email or linked the identity first.
        Err(StoreError::Conflict(_)) if new_user.is_some() => {
            return Err(ApiError::AccountExists("an account with this email exists".to_owned()))
        }
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict("this identity is already linked to another account".to_owned()))
        }
        Err(e) => return Err(e.into()),
    }
    let user = match (&new_user, &taken.account) {
        (Some(email), _) => User { id: user_id, email: email.display().to_owned(), name, created_at: Timestamp(now) },
        (None, Some((email, name, created))) => User {
            id: user_id,
            email: email.clone(),
            name: DisplayName::stored(name.clone()),
            created_at: Timestamp(*created),
        },
        (None, None) => return Err(internal("a signed-in account without its row")),
    };
    Ok(SignedIn { user, tokens: session.tokens, mode })
}

/// The identities linked to `user`.
///
/// # Errors
/// Store failures.
pub async fn identities(ports: &Ports, user: &UserId) -> Result<Vec<q::Identity>, ApiError> {
    let rows = ports.store.query(q::list_identities(user)).await?;
    rows.iter().map(q::decode_identity).collect()
}

/// Unlinks an identity, unless it is the account's last way to sign in.
///
/// # Errors
/// `NotFound` when it is not one of the caller's identities, `Conflict` when the account
/// has no password and no other identity.
pub async fn unlink(ports: &Ports, user: &UserId, id: &IdentityId) -> Result<(), ApiError> {
    let results = ports.store.batch(q::unlink(id, user)).await?;
    if sql::rows(&results, 0).is_empty() {
        return Err(ApiError::NotFound("no such identity".to_owned()));
    }
    if !sql::landed(&results, 1) {
        return Err(ApiError::Conflict(
            "this is the account's last way to sign in: set a password or link another identity first".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_uri_keeps_its_query_and_gets_encoded_parameters() {
        assert_eq!(with_query("https://app.example/cb", &[("code", "oc_x")]), "https://app.example/cb?code=oc_x");
        assert_eq!(
            with_query("https://app.example/cb?tab=1", &[("error", "access_denied"), ("state", "a b&c")]),
            "https://app.example/cb?tab=1&error=access_denied&state=a+b%26c"
        );
    }

    #[test]
    fn only_plain_provider_error_codes_are_passed_on() {
        assert_eq!(provider_error("login_required"), "login_required");
        assert_eq!(provider_error("<script>"), "access_denied");
        assert_eq!(provider_error(""), "access_denied");
    }
}
