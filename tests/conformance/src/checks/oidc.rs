//! Sign-in with an OpenID Connect provider, driven like a browser against the real test
//! provider (tests/oidc/provider.mjs, panva's oidc-provider): the redirects are followed
//! by hand, the provider's sign-in form is posted, and the API's redirects are read from
//! `Location` (the app URIs are not served). Then the attack list: each must fail safely.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::expect_problem;
use crate::fixtures::{
    unique_email, OIDC_APP_URI, OIDC_CLIENT_ID, OIDC_LINK_URI, OIDC_PASSWORD, OIDC_PROVIDER, PASSWORD,
};
use crate::{ensure, ensure_eq, Client, Entry, Resp};

pub fn checks() -> Vec<Entry> {
    crate::checks![OidcProvider => [
        oidc_lists_the_configured_provider,
        oidc_sign_in_creates_a_password_less_account_and_signs_it_in_again,
        oidc_an_email_with_an_account_is_refused_until_that_account_links_it,
        oidc_an_identity_of_another_account_cannot_be_linked,
        oidc_unverified_emails_never_create_or_link_anything,
        oidc_the_last_sign_in_method_cannot_be_unlinked,
        oidc_password_less_accounts_prove_themselves_with_a_recent_sign_in,
        oidc_sign_in_can_hand_the_session_over_in_a_cookie,
        oidc_attack_missing_state_is_refused,
        oidc_attack_wrong_state_is_refused,
        oidc_attack_reused_state_is_refused,
        oidc_attack_replayed_provider_code_is_refused,
        oidc_attack_replayed_own_code_is_refused,
        oidc_attack_wrong_nonce_is_refused,
        oidc_attack_id_token_for_another_audience_is_refused,
        oidc_attack_another_issuer_is_refused,
        oidc_attack_expired_id_token_is_refused,
        oidc_attack_alg_none_is_refused,
        oidc_attack_hs256_signed_with_the_public_key_is_refused,
        oidc_attack_unknown_kid_is_refused,
        oidc_attack_redirect_uri_not_allowed_is_refused,
        oidc_attack_wrong_pkce_verifier_is_refused,
    ]]
}

/// A provider user nobody signed in as before (made by the provider on first sign-in).
fn fresh(tag: &str, verified: bool) -> String {
    let unique = unique_email(tag).to_lowercase();
    let local = unique.split('@').next().unwrap_or("user");
    let domain = if verified { "fresh.example.test" } else { "fresh-unverified.example.test" };
    format!("{local}@{domain}")
}

fn location(res: &Resp) -> Result<String, String> {
    res.header("location").map(str::to_owned).ok_or_else(|| format!("no Location in a {}: {}", res.status, res.text()))
}

fn query_of(url: &str) -> BTreeMap<String, String> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let query = query.split('#').next().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A browser at the provider: keeps the provider's cookies by path (RFC 6265 path match);
/// sends none to the API.
struct Browser<'a> {
    c: &'a Client,
    cookies: RefCell<Vec<(String, String, String)>>,
}

impl<'a> Browser<'a> {
    fn new(c: &'a Client) -> Self {
        Self { c, cookies: RefCell::new(Vec::new()) }
    }

    fn path_of(url: &str) -> String {
        let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
        let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
        path.split(['?', '#']).next().unwrap_or("/").to_owned()
    }

    fn cookie_header(&self, url: &str) -> String {
        let path = Self::path_of(url);
        let jar = self.cookies.borrow();
        let sent: Vec<String> = jar
            .iter()
            .filter(|(_, _, p)| path == *p || path.starts_with(&format!("{}/", p.trim_end_matches('/'))) || p == "/")
            .map(|(n, v, _)| format!("{n}={v}"))
            .collect();
        sent.join("; ")
    }

    fn keep(&self, url: &str, res: &Resp) {
        let mut jar = self.cookies.borrow_mut();
        for (_, set) in res.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")) {
            let mut parts = set.split(';');
            let Some((name, value)) = parts.next().and_then(|nv| nv.trim().split_once('=')) else { continue };
            let mut path = Self::path_of(url);
            let mut expired = value.is_empty();
            for attr in parts {
                let (k, v) = attr.trim().split_once('=').unwrap_or((attr.trim(), ""));
                match k.to_ascii_lowercase().as_str() {
                    "path" => path = v.to_owned(),
                    "expires" if v.contains("1970") => expired = true,
                    "max-age" if v.trim() == "0" => expired = true,
                    _ => {}
                }
            }
            jar.retain(|(n, _, p)| !(n == name && *p == path));
            if !expired {
                jar.push((name.to_owned(), value.to_owned(), path));
            }
        }
    }

    fn send(&self, method: &str, url: &str, body: Option<&str>) -> Result<Resp, String> {
        let cookie = self.cookie_header(url);
        let mut headers = vec![("Cookie", cookie.as_str())];
        if body.is_some() {
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        let res = self.c.send(method, url, &headers, body.map(str::as_bytes))?;
        self.keep(url, &res);
        Ok(res)
    }
}

/// `Location` made absolute against the URL that answered it.
fn absolute(base: &str, loc: &str) -> String {
    if loc.contains("://") {
        return loc.to_owned();
    }
    let origin_end = base.find("://").map_or(0, |i| i + 3);
    let origin_len = base[origin_end..].find('/').map_or(base.len(), |i| origin_end + i);
    format!("{}{loc}", &base[..origin_len])
}

/// Signs in at the provider from its authorization URL; returns the URL the provider
/// redirects to (the API's callback with `code`, `state` and `iss`), without following it.
fn provider_sign_in(c: &Client, authorize_url: &str, email: &str) -> Result<String, String> {
    let b = Browser::new(c);
    let res = b.send("GET", authorize_url, None)?;
    ensure_eq!(res.status, 303, format!("the provider's authorization endpoint: {}", res.text()));
    let interaction = absolute(authorize_url, &location(&res)?);
    let form = b.send("GET", &interaction, None)?;
    ensure_eq!(form.status, 200, "the provider's sign-in form");
    let body = format!("login={}&password={}", encode(email), encode(OIDC_PASSWORD));
    let res = b.send("POST", &format!("{interaction}/login"), Some(&body))?;
    ensure_eq!(res.status, 303, format!("signing in at the provider: {}", res.text()));
    let resume = absolute(&interaction, &location(&res)?);
    let res = b.send("GET", &resume, None)?;
    ensure_eq!(res.status, 303, "the provider's redirect back");
    let back = location(&res)?;
    ensure!(back.starts_with(&c.url(&format!("/v1/auth/oidc/{OIDC_PROVIDER}/callback?"))), "back to {back}");
    Ok(back)
}

/// Starts a sign-in at the API with this query; returns the provider URL it redirects to.
fn authorize(c: &Client, query: &str) -> Result<String, String> {
    let res = c.get(&format!("/v1/auth/oidc/{OIDC_PROVIDER}/authorize?{query}"))?;
    ensure_eq!(res.status, 302, format!("authorize: {}", res.text()));
    location(&res)
}

fn sign_in_query(app_state: &str) -> String {
    format!("redirect_uri={}&state={}", encode(OIDC_APP_URI), encode(app_state))
}

/// The API's answer to the provider's redirect.
fn callback(c: &Client, url: &str) -> Result<Resp, String> {
    c.send("GET", url, &[], None)
}

/// What the callback sends the app: the query of its redirect to `app_uri`.
fn app_result(res: &Resp, app_uri: &str) -> Result<BTreeMap<String, String>, String> {
    ensure_eq!(res.status, 302, format!("callback: {}", res.text()));
    let loc = location(res)?;
    ensure!(loc.starts_with(app_uri), "the callback sent the browser to {loc}, not the app URI {app_uri}");
    ensure_eq!(res.header("referrer-policy"), Some("no-referrer"), "Referrer-Policy of the redirect");
    let q = query_of(&loc);
    for token in ["access_token", "refresh_token", "id_token", "token"] {
        ensure!(!q.contains_key(token), "a token in the URL: {loc}");
    }
    if let Some(code) = q.get("code") {
        ensure!(code.starts_with("oc_") && code.len() == 46, "the API's code, not another: {code}");
    }
    Ok(q)
}

/// The whole sign-in as `email` up to the app's redirect: its query.
fn sign_in_to_app(c: &Client, email: &str, query: &str, app_uri: &str) -> Result<BTreeMap<String, String>, String> {
    let to_provider = authorize(c, query)?;
    let back = provider_sign_in(c, &to_provider, email)?;
    app_result(&callback(c, &back)?, app_uri)
}

fn exchange(c: &Client, code: &str) -> Result<Resp, String> {
    c.post_json("/v1/auth/oidc/token", &json!({"code": code}), None)
}

/// Signs in as `email` and exchanges the code: the 200 body.
fn sign_in(c: &Client, email: &str) -> Result<Value, String> {
    let app = sign_in_to_app(c, email, &sign_in_query("s"), OIDC_APP_URI)?;
    let code = app.get("code").ok_or_else(|| format!("no code: {app:?}"))?;
    let res = exchange(c, code)?;
    ensure_eq!(res.status, 200, format!("exchange: {}", res.text()));
    res.json()
}

fn bearer(body: &Value) -> String {
    format!("Bearer {}", body["access_token"].as_str().unwrap_or_default())
}

fn identities(c: &Client, bearer: &str) -> Result<Vec<Value>, String> {
    let res = c.authed("GET", "/v1/me/identities", bearer)?;
    ensure_eq!(res.status, 200, format!("identities: {}", res.text()));
    Ok(res.json()?["data"].as_array().cloned().unwrap_or_default())
}

/// The sign-in as `email` ends with `?error=<error>` at the app, and no code.
fn refused_at_callback(c: &Client, email: &str, error: &str) -> Result<(), String> {
    let app = sign_in_to_app(c, email, &sign_in_query("attack"), OIDC_APP_URI)?;
    ensure!(!app.contains_key("code"), "{email}: a code despite the attack: {app:?}");
    ensure_eq!(app.get("error").map(String::as_str), Some(error), format!("{email}: error"));
    ensure_eq!(app.get("state").map(String::as_str), Some("attack"), "the app's state comes back");
    Ok(())
}

fn oidc_lists_the_configured_provider(c: &Client) -> Result<(), String> {
    let res = c.get("/v1/auth/oidc/providers")?;
    ensure_eq!(res.status, 200, "providers");
    ensure_eq!(res.json()?, json!({"data": [{"id": OIDC_PROVIDER, "name": "Test provider"}]}), "providers");
    let res = c.get("/v1/auth/oidc/nope/authorize?redirect_uri=x")?;
    expect_problem(&res, 404, "not-found")?;
    Ok(())
}

fn oidc_sign_in_creates_a_password_less_account_and_signs_it_in_again(c: &Client) -> Result<(), String> {
    let email = fresh("new", true);
    // The redirect to the provider: code flow, PKCE S256, state, nonce, our callback.
    let to_provider = authorize(c, &sign_in_query("app-state-1"))?;
    let q = query_of(&to_provider);
    ensure_eq!(q.get("response_type").map(String::as_str), Some("code"), "response_type");
    ensure_eq!(q.get("client_id").map(String::as_str), Some(OIDC_CLIENT_ID), "client_id");
    ensure_eq!(q.get("code_challenge_method").map(String::as_str), Some("S256"), "code_challenge_method");
    ensure_eq!(q.get("code_challenge").map(String::len), Some(43), "code_challenge (base64url SHA-256)");
    ensure!(q.get("state").is_some_and(|s| s.len() >= 32), "state {:?}", q.get("state"));
    ensure!(q.get("nonce").is_some_and(|s| s.len() >= 32), "nonce {:?}", q.get("nonce"));
    ensure!(q.get("state") != Some(&"app-state-1".to_owned()), "the app's state is not the provider's state");
    let scopes: Vec<&str> = q.get("scope").map(|s| s.split(' ').collect()).unwrap_or_default();
    ensure!(["openid", "email", "profile"].iter().all(|s| scopes.contains(s)), "scope {scopes:?}");
    let callback_url = c.url(&format!("/v1/auth/oidc/{OIDC_PROVIDER}/callback"));
    ensure_eq!(q.get("redirect_uri"), Some(&callback_url), "redirect_uri");
    let back = provider_sign_in(c, &to_provider, &email)?;
    let app = app_result(&callback(c, &back)?, OIDC_APP_URI)?;
    ensure_eq!(app.get("state").map(String::as_str), Some("app-state-1"), "the app's state");
    let code = app.get("code").cloned().ok_or("no code")?;
    ensure!(code.starts_with("oc_"), "code {code}");
    let res = exchange(c, &code)?;
    ensure_eq!(res.status, 200, format!("exchange: {}", res.text()));
    ensure_eq!(res.header("cache-control"), Some("no-store"), "Cache-Control of a token response");
    let body = res.json()?;
    ensure!(body["refresh_token"].as_str().is_some_and(|t| t.starts_with("rt_")), "refresh token: {body}");
    ensure_eq!(body["user"]["email"], json!(email), "the new account's email");
    ensure!(body["user"]["name"].as_str().is_some_and(|n| n.starts_with("Fresh ")), "name from the ID token");
    let me = c.authed("GET", "/v1/me", &bearer(&body))?;
    ensure_eq!(me.json()?["id"], body["user"]["id"], "the access token is the new account's");
    let ids = identities(c, &bearer(&body))?;
    ensure_eq!(ids.len(), 1, "one linked identity");
    ensure_eq!(ids[0]["provider"], json!(OIDC_PROVIDER), "identity provider");
    ensure_eq!(ids[0]["email"], json!(email), "identity email");
    // No password: none signs in (the same 401 as a wrong one).
    for guess in ["", PASSWORD, OIDC_PASSWORD] {
        let res = c.post_json("/v1/auth/login", &json!({"email": email, "password": guess}), None)?;
        expect_problem(&res, 401, "unauthenticated")?;
    }
    // Signing in again is the same account, still one identity.
    let again = sign_in(c, &email)?;
    ensure_eq!(again["user"]["id"], body["user"]["id"], "the second sign-in's account");
    ensure_eq!(identities(c, &bearer(&again))?.len(), 1, "still one identity");
    Ok(())
}

fn oidc_an_email_with_an_account_is_refused_until_that_account_links_it(c: &Client) -> Result<(), String> {
    let email = fresh("existing", true);
    let res =
        c.post_json("/v1/auth/register", &json!({"email": email, "password": PASSWORD, "name": "Owner"}), None)?;
    ensure_eq!(res.status, 201, "register");
    let owner = res.json()?;
    let owner_bearer = bearer(&owner);
    let app = sign_in_to_app(c, &email, &sign_in_query("s"), OIDC_APP_URI)?;
    let res = exchange(c, app.get("code").ok_or("no code")?)?;
    expect_problem(&res, 409, "account-exists")?;
    ensure!(identities(c, &owner_bearer)?.is_empty(), "a refused sign-in linked nothing");
    // The account links it itself; the app URI keeps its own query.
    let res = c.post_json(
        &format!("/v1/me/identities/{OIDC_PROVIDER}"),
        &json!({"redirect_uri": OIDC_LINK_URI, "state": "link-1"}),
        Some(&owner_bearer),
    )?;
    ensure_eq!(res.status, 200, format!("link: {}", res.text()));
    let to_provider = res.json()?["authorize_url"].as_str().unwrap_or_default().to_owned();
    let back = provider_sign_in(c, &to_provider, &email)?;
    let app = app_result(&callback(c, &back)?, OIDC_LINK_URI)?;
    ensure_eq!(app.get("tab").map(String::as_str), Some("identities"), "the link URI's own query");
    ensure_eq!(app.get("state").map(String::as_str), Some("link-1"), "the app's state");
    let res = exchange(c, app.get("code").ok_or("no code")?)?;
    ensure_eq!(res.status, 200, format!("exchange of the link: {}", res.text()));
    ensure_eq!(res.json()?["user"]["id"], owner["user"]["id"], "linked to the signed-in account");
    ensure_eq!(identities(c, &owner_bearer)?.len(), 1, "linked");
    // From now on the provider signs that account in.
    ensure_eq!(sign_in(c, &email)?["user"]["id"], owner["user"]["id"], "sign-in after linking");
    // API keys never manage sign-in methods.
    let key = c.post_json(
        "/v1/api-keys",
        &json!({"password": PASSWORD, "name": "k", "scopes": ["read", "write"]}),
        Some(&owner_bearer),
    )?;
    let key = format!("Bearer {}", key.json()?["key"].as_str().unwrap_or_default());
    expect_problem(&c.authed("GET", "/v1/me/identities", &key)?, 403, "forbidden")?;
    Ok(())
}

fn oidc_an_identity_of_another_account_cannot_be_linked(c: &Client) -> Result<(), String> {
    let email = fresh("taken", true);
    let other = sign_in(c, &email)?;
    let me = c.register("Linker")?;
    let res = c.post_json(
        &format!("/v1/me/identities/{OIDC_PROVIDER}"),
        &json!({"redirect_uri": OIDC_LINK_URI}),
        Some(&me.bearer()),
    )?;
    let to_provider = res.json()?["authorize_url"].as_str().unwrap_or_default().to_owned();
    let back = provider_sign_in(c, &to_provider, &email)?;
    let app = app_result(&callback(c, &back)?, OIDC_LINK_URI)?;
    let res = exchange(c, app.get("code").ok_or("no code")?)?;
    expect_problem(&res, 409, "conflict")?;
    ensure!(identities(c, &me.bearer())?.is_empty(), "nothing linked to the linker");
    ensure_eq!(identities(c, &bearer(&other))?.len(), 1, "the owner keeps its identity");
    Ok(())
}

fn oidc_unverified_emails_never_create_or_link_anything(c: &Client) -> Result<(), String> {
    let email = fresh("unverified", false);
    let app = sign_in_to_app(c, &email, &sign_in_query("s"), OIDC_APP_URI)?;
    let res = exchange(c, app.get("code").ok_or("no code")?)?;
    expect_problem(&res, 403, "forbidden")?;
    // No account was made: the address is still free.
    let res = c.post_json("/v1/auth/register", &json!({"email": email, "password": PASSWORD, "name": "U"}), None)?;
    ensure_eq!(res.status, 201, "registering the address no sign-in took");
    let account = res.json()?;
    // Nor can a signed-in account link an unverified identity (not even its own address).
    let res = c.post_json(
        &format!("/v1/me/identities/{OIDC_PROVIDER}"),
        &json!({"redirect_uri": OIDC_LINK_URI}),
        Some(&bearer(&account)),
    )?;
    let to_provider = res.json()?["authorize_url"].as_str().unwrap_or_default().to_owned();
    let back = provider_sign_in(c, &to_provider, &email)?;
    let app = app_result(&callback(c, &back)?, OIDC_LINK_URI)?;
    expect_problem(&exchange(c, app.get("code").ok_or("no code")?)?, 403, "forbidden")?;
    ensure!(identities(c, &bearer(&account))?.is_empty(), "an unverified identity was linked");
    Ok(())
}

fn oidc_the_last_sign_in_method_cannot_be_unlinked(c: &Client) -> Result<(), String> {
    let email = fresh("last", true);
    let body = sign_in(c, &email)?;
    let b = bearer(&body);
    let ids = identities(c, &b)?;
    let id = ids.first().and_then(|i| i["id"].as_str()).ok_or("no identity")?.to_owned();
    expect_problem(&c.authed("DELETE", &format!("/v1/me/identities/{id}"), &b)?, 409, "conflict")?;
    ensure_eq!(identities(c, &b)?.len(), 1, "the refused unlink kept it");
    expect_problem(
        &c.authed("DELETE", "/v1/me/identities/00000000-0000-7000-8000-000000000000", &b)?,
        404,
        "not-found",
    )?;
    // A first password (the session's sign-in is recent, so no current password).
    let res = c.post_json(
        "/v1/me/password",
        &json!({"current_password": "", "new_password": PASSWORD, "keep_api_keys": true}),
        Some(&b),
    )?;
    ensure_eq!(res.status, 204, format!("setting a first password: {}", res.text()));
    ensure_eq!(c.authed("DELETE", &format!("/v1/me/identities/{id}"), &b)?.status, 204, "unlink with a password");
    ensure!(identities(c, &b)?.is_empty(), "unlinked");
    let res = c.post_json("/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None)?;
    ensure_eq!(res.status, 200, "the password signs in");
    // The provider identity is no longer linked, and the email has an account.
    let app = sign_in_to_app(c, &email, &sign_in_query("s"), OIDC_APP_URI)?;
    expect_problem(&exchange(c, app.get("code").ok_or("no code")?)?, 409, "account-exists")?;
    Ok(())
}

fn oidc_password_less_accounts_prove_themselves_with_a_recent_sign_in(c: &Client) -> Result<(), String> {
    let body = sign_in(c, &fresh("keys", true))?;
    let b = bearer(&body);
    let key = |password: &str| {
        c.post_json("/v1/api-keys", &json!({"password": password, "name": "ci", "scopes": ["read"]}), Some(&b))
    };
    expect_problem(&key("a guessed password")?, 403, "forbidden")?;
    ensure_eq!(key("")?.status, 201, "a key with the recent sign-in");
    Ok(())
}

/// The `__Host-refresh` cookie of a response: its value and attributes.
fn refresh_cookie(res: &Resp) -> Option<(String, String)> {
    res.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| v.strip_prefix("__Host-refresh=").map(|rest| rest.split_once(';').unwrap_or((rest, ""))))
        .map(|(value, attrs)| (value.to_owned(), attrs.to_owned()))
}

fn oidc_sign_in_can_hand_the_session_over_in_a_cookie(c: &Client) -> Result<(), String> {
    let query = format!("{}&session=cookie", sign_in_query("s"));
    let app = sign_in_to_app(c, &fresh("cookie", true), &query, OIDC_APP_URI)?;
    let res = exchange(c, app.get("code").ok_or("no code")?)?;
    ensure_eq!(res.status, 200, "exchange");
    ensure!(res.json()?.get("refresh_token").is_none(), "a refresh token in the body of a cookie session");
    let (value, attrs) = refresh_cookie(&res).ok_or("no __Host-refresh cookie")?;
    ensure!(value.starts_with("rt_"), "cookie value");
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age="] {
        ensure!(attrs.contains(attr), "cookie lacks {attr}: {attrs}");
    }
    ensure!(!attrs.to_ascii_lowercase().contains("domain"), "a __Host- cookie has no Domain");
    // The exchange's own `session` overrides the one chosen at authorize.
    let app = sign_in_to_app(c, &fresh("cookie-override", true), &query, OIDC_APP_URI)?;
    let res = c.post_json(
        "/v1/auth/oidc/token",
        &json!({"code": app.get("code").ok_or("no code")?, "session": "token"}),
        None,
    )?;
    ensure!(res.json()?["refresh_token"].as_str().is_some() && refresh_cookie(&res).is_none(), "token mode");
    Ok(())
}

fn oidc_attack_missing_state_is_refused(c: &Client) -> Result<(), String> {
    let res = c.get(&format!("/v1/auth/oidc/{OIDC_PROVIDER}/callback?code=abc"))?;
    expect_problem(&res, 400, "malformed")?;
    ensure!(res.header("location").is_none(), "a redirect without a state");
    Ok(())
}

fn oidc_attack_wrong_state_is_refused(c: &Client) -> Result<(), String> {
    // A real code, with a state the API never issued.
    let to_provider = authorize(c, &sign_in_query("s"))?;
    let back = provider_sign_in(c, &to_provider, &fresh("wrong-state", true))?;
    let q = query_of(&back);
    let forged = format!(
        "/v1/auth/oidc/{OIDC_PROVIDER}/callback?code={}&state={}",
        encode(q.get("code").ok_or("code")?),
        "A".repeat(43)
    );
    expect_problem(&c.get(&forged)?, 400, "malformed")?;
    Ok(())
}

fn oidc_attack_reused_state_is_refused(c: &Client) -> Result<(), String> {
    let to_provider = authorize(c, &sign_in_query("s"))?;
    let back = provider_sign_in(c, &to_provider, &fresh("reused-state", true))?;
    let first = app_result(&callback(c, &back)?, OIDC_APP_URI)?;
    ensure!(first.contains_key("code"), "the first use works");
    expect_problem(&callback(c, &back)?, 400, "malformed")?;
    Ok(())
}

fn oidc_attack_replayed_provider_code_is_refused(c: &Client) -> Result<(), String> {
    // A provider code already exchanged, brought back with a fresh state of the API.
    let to_provider = authorize(c, &sign_in_query("s"))?;
    let back = provider_sign_in(c, &to_provider, &fresh("replayed-code", true))?;
    app_result(&callback(c, &back)?, OIDC_APP_URI)?;
    let used_code = query_of(&back).get("code").cloned().ok_or("code")?;
    let fresh_state = query_of(&authorize(c, &sign_in_query("attack"))?).get("state").cloned().ok_or("state")?;
    let replay = c.url(&format!(
        "/v1/auth/oidc/{OIDC_PROVIDER}/callback?code={}&state={}",
        encode(&used_code),
        encode(&fresh_state)
    ));
    let app = app_result(&callback(c, &replay)?, OIDC_APP_URI)?;
    ensure!(!app.contains_key("code"), "a replayed provider code signed in: {app:?}");
    ensure_eq!(app.get("error").map(String::as_str), Some("invalid_grant"), "error");
    Ok(())
}

fn oidc_attack_replayed_own_code_is_refused(c: &Client) -> Result<(), String> {
    let app = sign_in_to_app(c, &fresh("own-code", true), &sign_in_query("s"), OIDC_APP_URI)?;
    let code = app.get("code").ok_or("no code")?;
    ensure_eq!(exchange(c, code)?.status, 200, "the first exchange");
    expect_problem(&exchange(c, code)?, 401, "unauthenticated")?;
    expect_problem(&exchange(c, &format!("oc_{}", "x".repeat(43)))?, 401, "unauthenticated")?;
    Ok(())
}

fn oidc_attack_wrong_nonce_is_refused(c: &Client) -> Result<(), String> {
    refused_at_callback(c, "wrong-nonce@example.test", "invalid_id_token")
}

fn oidc_attack_id_token_for_another_audience_is_refused(c: &Client) -> Result<(), String> {
    refused_at_callback(c, "wrong-aud@example.test", "invalid_id_token")?;
    refused_at_callback(c, "multi-aud@example.test", "invalid_id_token")
}

fn oidc_attack_another_issuer_is_refused(c: &Client) -> Result<(), String> {
    // The ID token's `iss` is another issuer's.
    refused_at_callback(c, "wrong-iss@example.test", "invalid_id_token")?;
    // The authorization response's `iss` (RFC 9207) is another issuer's: a mix-up.
    let to_provider = authorize(c, &sign_in_query("mix-up"))?;
    let back = provider_sign_in(c, &to_provider, &fresh("mix-up", true))?;
    let q = query_of(&back);
    let mixed = c.url(&format!(
        "/v1/auth/oidc/{OIDC_PROVIDER}/callback?code={}&state={}&iss={}",
        encode(q.get("code").ok_or("code")?),
        encode(q.get("state").ok_or("state")?),
        encode("https://attacker.example")
    ));
    let app = app_result(&callback(c, &mixed)?, OIDC_APP_URI)?;
    ensure!(!app.contains_key("code"), "a mixed-up response signed in");
    ensure_eq!(app.get("error").map(String::as_str), Some("invalid_issuer"), "error");
    Ok(())
}

fn oidc_attack_expired_id_token_is_refused(c: &Client) -> Result<(), String> {
    refused_at_callback(c, "expired@example.test", "invalid_id_token")?;
    refused_at_callback(c, "future-iat@example.test", "invalid_id_token")
}

fn oidc_attack_alg_none_is_refused(c: &Client) -> Result<(), String> {
    refused_at_callback(c, "alg-none@example.test", "invalid_id_token")
}

fn oidc_attack_hs256_signed_with_the_public_key_is_refused(c: &Client) -> Result<(), String> {
    for user in ["hs256-pubkey", "hs256-pubkey-pkcs1", "hs256-pubkey-der", "hs256-pubkey-jwk"] {
        refused_at_callback(c, &format!("{user}@example.test"), "invalid_id_token")?;
    }
    Ok(())
}

fn oidc_attack_unknown_kid_is_refused(c: &Client) -> Result<(), String> {
    refused_at_callback(c, "unknown-kid@example.test", "invalid_id_token")?;
    // The key-set refresh it caused does not break the next, good sign-in.
    sign_in(c, &fresh("after-kid", true)).map(|_| ())
}

fn oidc_attack_redirect_uri_not_allowed_is_refused(c: &Client) -> Result<(), String> {
    for evil in [
        "https://attacker.example/steal".to_owned(),
        format!("{OIDC_APP_URI}.attacker.example"),
        format!("{OIDC_APP_URI}/../../steal"),
        format!("{OIDC_APP_URI}?next=https://attacker.example"),
        OIDC_APP_URI.to_uppercase(),
        OIDC_APP_URI.replace("http://", "https://"),
    ] {
        let res = c.get(&format!("/v1/auth/oidc/{OIDC_PROVIDER}/authorize?redirect_uri={}", encode(&evil)))?;
        expect_problem(&res, 400, "malformed").map_err(|e| format!("{evil}: {e}"))?;
        ensure!(res.header("location").is_none(), "{evil}: redirected");
    }
    let me = c.register("EvilLink")?;
    let res = c.post_json(
        &format!("/v1/me/identities/{OIDC_PROVIDER}"),
        &json!({"redirect_uri": "https://attacker.example/"}),
        Some(&me.bearer()),
    )?;
    expect_problem(&res, 400, "malformed")?;
    let res = c.get(&format!("/v1/auth/oidc/{OIDC_PROVIDER}/authorize"))?;
    expect_problem(&res, 422, "validation")?;
    Ok(())
}

fn oidc_attack_wrong_pkce_verifier_is_refused(c: &Client) -> Result<(), String> {
    // Code injection: the code of one authorization request, brought back with the state
    // of another, is exchanged with the other's PKCE verifier, which the provider refuses.
    let victim_state = query_of(&authorize(c, &sign_in_query("victim"))?).get("state").cloned().ok_or("state")?;
    let to_provider = authorize(c, &sign_in_query("s"))?;
    let back = provider_sign_in(c, &to_provider, &fresh("pkce", true))?;
    let injected = c.url(&format!(
        "/v1/auth/oidc/{OIDC_PROVIDER}/callback?code={}&state={}",
        encode(query_of(&back).get("code").ok_or("code")?),
        encode(&victim_state)
    ));
    let app = app_result(&callback(c, &injected)?, OIDC_APP_URI)?;
    ensure!(!app.contains_key("code"), "an injected code signed in: {app:?}");
    ensure_eq!(app.get("error").map(String::as_str), Some("invalid_grant"), "error");
    Ok(())
}
