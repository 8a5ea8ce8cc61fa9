//! The Authentication section: accounts, sessions, refresh rotation and reuse detection,
//! API keys, and the list of forged tokens that must all be refused.

use serde_json::{json, Value};

use super::{expect_problem, refused};
use crate::fixtures::{
    b64, claims, header, keypair, sign_eddsa, sign_hs256, Account, CURRENT_KID, CURRENT_SEED, PASSWORD, PREVIOUS_KID,
    PREVIOUS_SEED, RETIRED_KID, RETIRED_SEED,
};
use crate::{ensure, ensure_eq, Client, Entry, Resp};

pub fn checks() -> Vec<Entry> {
    crate::checks![Any => [
        register_returns_tokens_and_the_user_without_secrets,
        register_refuses_a_taken_email_case_insensitively,
        register_reports_every_invalid_field,
        register_rejects_unknown_fields_like_role,
        bodies_must_be_json_well_formed_and_small,
        login_works_with_any_email_case,
        login_failures_look_the_same_for_unknown_email_and_wrong_password,
        me_requires_authentication,
        patch_me_renames_and_validates,
        refresh_rotates_and_the_old_token_dies,
        refresh_token_reuse_revokes_the_whole_session,
        logout_kills_only_its_own_session,
        logout_all_kills_every_session,
        password_change_revokes_every_other_session,
        api_key_is_shown_once_and_acts_as_its_user,
        read_scoped_keys_only_read,
        api_keys_cannot_manage_keys_sessions_or_the_password,
        a_deleted_api_key_stops_working_at_once,
        api_key_requests_are_validated,
        api_key_list_pages_with_cursor_and_link,
        tokens_signed_by_the_current_or_previous_key_are_accepted,
        forged_and_invalid_tokens_are_all_refused,
    ]]
}

fn me_status(c: &Client, bearer: &str) -> Result<u16, String> {
    Ok(c.authed("GET", "/v1/me", bearer)?.status)
}

fn register_returns_tokens_and_the_user_without_secrets(c: &Client) -> Result<(), String> {
    let email = crate::fixtures::unique_email("Reg");
    let res = c.post_json("/v1/auth/register", &json!({"email": email, "password": PASSWORD, "name": "Ada"}), None)?;
    ensure_eq!(res.status, 201, "status");
    ensure_eq!(res.header("cache-control"), Some("no-store"), "cache-control on tokens");
    let body = res.json()?;
    ensure_eq!(body["token_type"].as_str(), Some("Bearer"), "token_type");
    ensure_eq!(body["expires_in"].as_i64(), Some(900), "expires_in");
    ensure_eq!(body["refresh_expires_in"].as_i64(), Some(604_800), "refresh_expires_in");
    let access = body["access_token"].as_str().unwrap_or_default();
    ensure_eq!(access.split('.').count(), 3, "access token is a JWT");
    ensure!(body["refresh_token"].as_str().is_some_and(|r| r.len() >= 40), "refresh token: {body}");
    let user = &body["user"];
    ensure_eq!(user["email"].as_str(), Some(email.as_str()), "email");
    ensure_eq!(user["name"].as_str(), Some("Ada"), "name");
    ensure!(user["created_at"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 24), "created_at {user}");
    let text = res.text();
    ensure!(!text.contains("argon2") && !text.contains("password"), "response leaks a secret: {text}");
    let me = c.authed("GET", "/v1/me", &format!("Bearer {access}"))?;
    ensure_eq!(me.status, 200, "GET /v1/me with the new token");
    ensure_eq!(me.json()?["id"], user["id"], "same user");
    Ok(())
}

fn register_refuses_a_taken_email_case_insensitively(c: &Client) -> Result<(), String> {
    let a = c.register("Taken")?;
    let res = c.post_json(
        "/v1/auth/register",
        &json!({"email": a.email.to_uppercase(), "password": PASSWORD, "name": "Twin"}),
        None,
    )?;
    expect_problem(&res, 409, "conflict")?;
    Ok(())
}

fn register_reports_every_invalid_field(c: &Client) -> Result<(), String> {
    let res =
        c.post_json("/v1/auth/register", &json!({"email": "not-an-email", "password": "short", "name": ""}), None)?;
    let body = expect_problem(&res, 422, "validation")?;
    let fields: Vec<&str> =
        body["errors"].as_array().map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect()).unwrap_or_default();
    for f in ["email", "password", "name"] {
        ensure!(fields.contains(&f), "errors lack `{f}`: {body}");
    }
    let res = c.post_json("/v1/auth/register", &json!({"email": "a@example.test", "name": "x"}), None)?;
    let body = expect_problem(&res, 422, "validation")?;
    ensure_eq!(body["errors"][0]["field"].as_str(), Some("password"), "missing field named");
    ensure_eq!(body["errors"][0]["code"].as_str(), Some("required"), "missing field code");
    let res = c.post_json("/v1/auth/register", &json!({"email": 42, "password": PASSWORD, "name": "x"}), None)?;
    let body = expect_problem(&res, 422, "validation")?;
    ensure_eq!(body["errors"][0]["field"].as_str(), Some("email"), "wrong type named");
    Ok(())
}

fn register_rejects_unknown_fields_like_role(c: &Client) -> Result<(), String> {
    let email = crate::fixtures::unique_email("Mass");
    let res = c.post_json(
        "/v1/auth/register",
        &json!({"email": email, "password": PASSWORD, "name": "M", "role": "admin"}),
        None,
    )?;
    let body = expect_problem(&res, 422, "validation")?;
    ensure_eq!(body["errors"][0]["field"].as_str(), Some("role"), "field");
    ensure_eq!(body["errors"][0]["code"].as_str(), Some("unknown_field"), "code");
    let login = c.post_json("/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None)?;
    ensure_eq!(login.status, 401, "nothing was created");
    Ok(())
}

fn bodies_must_be_json_well_formed_and_small(c: &Client) -> Result<(), String> {
    let res = c.send("POST", "/v1/auth/login", &[("Content-Type", "application/json")], Some(b"{\"email\": "))?;
    expect_problem(&res, 400, "malformed")?;
    let res = c.send("POST", "/v1/auth/login", &[("Content-Type", "text/plain")], Some(b"{}"))?;
    expect_problem(&res, 415, "unsupported-media-type")?;
    let res = c.send("POST", "/v1/auth/login", &[], Some(b"{}"))?;
    expect_problem(&res, 415, "unsupported-media-type")?;
    let big = format!("{{\"email\":\"{}\",\"password\":\"x\"}}", "a".repeat(70 * 1024));
    let res = c.send("POST", "/v1/auth/login", &[("Content-Type", "application/json")], Some(big.as_bytes()))?;
    expect_problem(&res, 413, "payload-too-large")?;
    let res = c.send("POST", "/v1/auth/login", &[("Content-Type", "application/json; charset=utf-8")], Some(b"[]"))?;
    expect_problem(&res, 422, "validation")?;
    Ok(())
}

fn login_works_with_any_email_case(c: &Client) -> Result<(), String> {
    let a = c.register("Case")?;
    let (access, refresh) = c.login(&a.email.to_uppercase(), PASSWORD)?;
    ensure!(!access.is_empty() && !refresh.is_empty(), "tokens");
    ensure_eq!(me_status(c, &format!("Bearer {access}"))?, 200, "login token works");
    Ok(())
}

fn login_failures_look_the_same_for_unknown_email_and_wrong_password(c: &Client) -> Result<(), String> {
    let a = c.register("Fail")?;
    let wrong = c.post_json("/v1/auth/login", &json!({"email": a.email, "password": "wrong password!"}), None)?;
    let unknown = c.post_json(
        "/v1/auth/login",
        &json!({"email": crate::fixtures::unique_email("nobody"), "password": PASSWORD}),
        None,
    )?;
    let w = expect_problem(&wrong, 401, "unauthenticated")?;
    let u = expect_problem(&unknown, 401, "unauthenticated")?;
    ensure_eq!(w["detail"], u["detail"], "same detail");
    ensure_eq!(w["title"], u["title"], "same title");
    Ok(())
}

fn me_requires_authentication(c: &Client) -> Result<(), String> {
    let res = c.get("/v1/me")?;
    expect_problem(&res, 401, "unauthenticated")?;
    ensure!(res.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")), "WWW-Authenticate");
    Ok(())
}

fn patch_me_renames_and_validates(c: &Client) -> Result<(), String> {
    let a = c.register("Rename")?;
    let res = c.json("PATCH", "/v1/me", &json!({"name": "  Grace Hopper "}), Some(&a.bearer()))?;
    ensure_eq!(res.status, 200, "status");
    ensure_eq!(res.json()?["name"].as_str(), Some("Grace Hopper"), "trimmed name");
    ensure_eq!(c.authed("GET", "/v1/me", &a.bearer())?.json()?["name"].as_str(), Some("Grace Hopper"), "persisted");
    let res = c.json("PATCH", "/v1/me", &json!({"name": "x", "email": "other@example.test"}), Some(&a.bearer()))?;
    expect_problem(&res, 422, "validation")?;
    let res = c.json("PATCH", "/v1/me", &json!({"name": "y".repeat(101)}), Some(&a.bearer()))?;
    let body = expect_problem(&res, 422, "validation")?;
    ensure_eq!(body["errors"][0]["code"].as_str(), Some("too_long"), "code");
    Ok(())
}

fn refresh_rotates_and_the_old_token_dies(c: &Client) -> Result<(), String> {
    let a = c.register("Rot")?;
    let res = c.refresh(&a.refresh)?;
    ensure_eq!(res.status, 200, "first refresh");
    let body = res.json()?;
    let r2 = body["refresh_token"].as_str().unwrap_or_default().to_owned();
    ensure!(r2 != a.refresh && !r2.is_empty(), "a new refresh token");
    let access2 = body["access_token"].as_str().unwrap_or_default();
    ensure_eq!(me_status(c, &format!("Bearer {access2}"))?, 200, "new access token works");
    let res = c.refresh(&r2)?;
    ensure_eq!(res.status, 200, "the new refresh token works once");
    expect_problem(&c.refresh("rt_not-a-real-token")?, 401, "unauthenticated")?;
    Ok(())
}

fn refresh_token_reuse_revokes_the_whole_session(c: &Client) -> Result<(), String> {
    let a = c.register("Reuse")?;
    let r2 = c.refresh(&a.refresh)?.json()?["refresh_token"].as_str().unwrap_or_default().to_owned();
    // The first token again: a reuse.
    expect_problem(&c.refresh(&a.refresh)?, 401, "unauthenticated")?;
    // Its successor dies with the session.
    expect_problem(&c.refresh(&r2)?, 401, "unauthenticated")?;
    // Another session of the same user is untouched.
    let (_, other) = c.login(&a.email, PASSWORD)?;
    ensure_eq!(c.refresh(&other)?.status, 200, "other session");
    Ok(())
}

fn logout_kills_only_its_own_session(c: &Client) -> Result<(), String> {
    let a = c.register("Logout")?;
    let (access_b, refresh_b) = c.login(&a.email, PASSWORD)?;
    let res = c.authed("POST", "/v1/auth/logout", &a.bearer())?;
    ensure_eq!(res.status, 204, "logout");
    expect_problem(&c.refresh(&a.refresh)?, 401, "unauthenticated")?;
    ensure_eq!(me_status(c, &a.bearer())?, 200, "access tokens stay valid until they expire");
    ensure_eq!(me_status(c, &format!("Bearer {access_b}"))?, 200, "other session's access");
    ensure_eq!(c.refresh(&refresh_b)?.status, 200, "other session's refresh");
    Ok(())
}

fn logout_all_kills_every_session(c: &Client) -> Result<(), String> {
    let a = c.register("LogoutAll")?;
    let (_, refresh_b) = c.login(&a.email, PASSWORD)?;
    ensure_eq!(c.authed("POST", "/v1/auth/logout-all", &a.bearer())?.status, 204, "logout-all");
    expect_problem(&c.refresh(&a.refresh)?, 401, "unauthenticated")?;
    expect_problem(&c.refresh(&refresh_b)?, 401, "unauthenticated")?;
    Ok(())
}

/// `POST /v1/me/password` from `current` to `new` with the credential `bearer`.
fn change_password(c: &Client, bearer: &str, current: &str, new: &str) -> Result<Resp, String> {
    c.post_json("/v1/me/password", &json!({"current_password": current, "new_password": new}), Some(bearer))
}

fn password_change_revokes_every_other_session(c: &Client) -> Result<(), String> {
    let a = c.register("Pw")?;
    let (_, other_refresh) = c.login(&a.email, PASSWORD)?;
    expect_problem(&change_password(c, &a.bearer(), "not the password", "a brand new password")?, 403, "forbidden")?;
    expect_problem(&change_password(c, &a.bearer(), PASSWORD, "short")?, 422, "validation")?;
    ensure_eq!(change_password(c, &a.bearer(), PASSWORD, "a brand new password")?.status, 204, "change");
    expect_problem(&c.refresh(&other_refresh)?, 401, "unauthenticated")?;
    ensure_eq!(c.refresh(&a.refresh)?.status, 200, "this session survives");
    let old = c.post_json("/v1/auth/login", &json!({"email": a.email, "password": PASSWORD}), None)?;
    ensure_eq!(old.status, 401, "old password");
    c.login(&a.email, "a brand new password")?;
    Ok(())
}

fn create_key(c: &Client, a: &Account, scopes: &[&str]) -> Result<Value, String> {
    let res = c.post_json(
        "/v1/api-keys",
        &json!({"password": PASSWORD, "name": "ci", "scopes": scopes, "expires_in_days": 30}),
        Some(&a.bearer()),
    )?;
    ensure_eq!(res.status, 201, "create key");
    res.json()
}

fn api_key_is_shown_once_and_acts_as_its_user(c: &Client) -> Result<(), String> {
    let a = c.register("Key")?;
    let created = create_key(c, &a, &["read", "write"])?;
    let key = created["key"].as_str().unwrap_or_default().to_owned();
    ensure!(key.starts_with("tm_") && key.len() >= 40, "key {created}");
    ensure!(created["prefix"].as_str().is_some_and(|p| key.starts_with(p) && p.len() < key.len()), "prefix");
    ensure_eq!(created["scopes"], json!(["read", "write"]), "scopes");
    ensure!(created["expires_at"].as_str().is_some(), "expires_at");
    let me = c.authed("GET", "/v1/me", &format!("Bearer {key}"))?;
    ensure_eq!(me.status, 200, "key authenticates");
    ensure_eq!(me.json()?["id"].as_str(), Some(a.id.as_str()), "as its user");
    let list = c.authed("GET", "/v1/api-keys", &a.bearer())?;
    ensure_eq!(list.status, 200, "list");
    ensure!(!list.text().contains(&key), "the list shows the secret");
    ensure!(list.text().contains(created["id"].as_str().unwrap_or("?")), "the list shows the key");
    let res = c.json("PATCH", "/v1/me", &json!({"name": "Via Key"}), Some(&format!("Bearer {key}")))?;
    ensure_eq!(res.status, 200, "write key writes");
    Ok(())
}

fn read_scoped_keys_only_read(c: &Client) -> Result<(), String> {
    let a = c.register("ReadKey")?;
    let key = create_key(c, &a, &["read"])?["key"].as_str().unwrap_or_default().to_owned();
    let bearer = format!("Bearer {key}");
    ensure_eq!(me_status(c, &bearer)?, 200, "read");
    let res = c.json("PATCH", "/v1/me", &json!({"name": "Nope"}), Some(&bearer))?;
    expect_problem(&res, 403, "forbidden")?;
    ensure!(c.authed("GET", "/v1/me", &a.bearer())?.json()?["name"].as_str() != Some("Nope"), "unchanged");
    Ok(())
}

fn api_keys_cannot_manage_keys_sessions_or_the_password(c: &Client) -> Result<(), String> {
    let a = c.register("KeyLimits")?;
    let key = create_key(c, &a, &["read", "write"])?["key"].as_str().unwrap_or_default().to_owned();
    let bearer = format!("Bearer {key}");
    refused(c, "GET", "/v1/api-keys", &bearer, 403, "forbidden")?;
    let res =
        c.post_json("/v1/api-keys", &json!({"password": PASSWORD, "name": "x", "scopes": ["write"]}), Some(&bearer))?;
    expect_problem(&res, 403, "forbidden")?;
    refused(c, "POST", "/v1/auth/logout", &bearer, 403, "forbidden")?;
    refused(c, "POST", "/v1/auth/logout-all", &bearer, 403, "forbidden")?;
    expect_problem(&change_password(c, &bearer, PASSWORD, "taken over by a key")?, 403, "forbidden")?;
    c.login(&a.email, PASSWORD)?;
    Ok(())
}

fn a_deleted_api_key_stops_working_at_once(c: &Client) -> Result<(), String> {
    let a = c.register("KeyDel")?;
    let b = c.register("KeyDelOther")?;
    let created = create_key(c, &a, &["read"])?;
    let (id, key) = (created["id"].as_str().unwrap_or_default(), created["key"].as_str().unwrap_or_default());
    let bearer = format!("Bearer {key}");
    ensure_eq!(me_status(c, &bearer)?, 200, "before");
    refused(c, "DELETE", &format!("/v1/api-keys/{id}"), &b.bearer(), 404, "not-found")?;
    ensure_eq!(me_status(c, &bearer)?, 200, "another user cannot delete it");
    ensure_eq!(c.authed("DELETE", &format!("/v1/api-keys/{id}"), &a.bearer())?.status, 204, "delete");
    refused(c, "GET", "/v1/me", &bearer, 401, "unauthenticated")?;
    refused(c, "DELETE", &format!("/v1/api-keys/{id}"), &a.bearer(), 404, "not-found")?;
    Ok(())
}

fn api_key_requests_are_validated(c: &Client) -> Result<(), String> {
    let a = c.register("KeyVal")?;
    for bad in [
        json!({"password": PASSWORD, "name": "", "scopes": ["read"]}),
        json!({"password": PASSWORD, "name": "x", "scopes": []}),
        json!({"password": PASSWORD, "name": "x", "scopes": ["admin"]}),
        json!({"password": PASSWORD, "name": "x", "scopes": ["read", "read"]}),
        json!({"password": PASSWORD, "name": "x", "scopes": ["read"], "expires_in_days": 0}),
        json!({"password": PASSWORD, "name": "x", "scopes": ["read"], "expires_in_days": 366}),
        json!({"password": PASSWORD, "name": "x", "scopes": ["read"], "user_id": a.id}),
    ] {
        let res = c.post_json("/v1/api-keys", &bad, Some(&a.bearer()))?;
        expect_problem(&res, 422, "validation").map_err(|e| format!("{bad}: {e}"))?;
    }
    Ok(())
}

fn api_key_list_pages_with_cursor_and_link(c: &Client) -> Result<(), String> {
    let a = c.register("KeyPages")?;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(create_key(c, &a, &["read"])?["id"].as_str().unwrap_or_default().to_owned());
    }
    let first = c.authed("GET", "/v1/api-keys?limit=2", &a.bearer())?;
    ensure_eq!(first.status, 200, "page 1");
    let body = first.json()?;
    let page1: Vec<&str> =
        body["data"].as_array().map(|d| d.iter().filter_map(|k| k["id"].as_str()).collect()).unwrap_or_default();
    ensure_eq!(page1, vec![ids[2].as_str(), ids[1].as_str()], "newest first");
    let cursor = body["next_cursor"].as_str().ok_or("next_cursor missing")?.to_owned();
    let link = first.header("link").ok_or("Link header missing")?;
    ensure!(link.contains("rel=\"next\"") && link.contains("limit=2") && link.contains("cursor="), "Link {link}");
    let second = c.authed("GET", &format!("/v1/api-keys?limit=2&cursor={cursor}"), &a.bearer())?;
    let body = second.json()?;
    ensure_eq!(body["data"][0]["id"].as_str(), Some(ids[0].as_str()), "page 2");
    ensure!(body["next_cursor"].is_null(), "last page has no cursor");
    ensure!(second.header("link").is_none(), "last page has no Link");
    refused(c, "GET", "/v1/api-keys?cursor=garbage", &a.bearer(), 400, "malformed")?;
    let tampered = format!("{}x{}", &cursor[..cursor.len() / 2], &cursor[cursor.len() / 2 + 1..]);
    refused(c, "GET", &format!("/v1/api-keys?cursor={tampered}"), &a.bearer(), 400, "malformed")?;
    refused(c, "GET", "/v1/api-keys?limit=0", &a.bearer(), 422, "validation")?;
    refused(c, "GET", "/v1/api-keys?limit=101", &a.bearer(), 422, "validation")?;
    Ok(())
}

fn tokens_signed_by_the_current_or_previous_key_are_accepted(c: &Client) -> Result<(), String> {
    let a = c.register("Rotation")?;
    let current = sign_eddsa(&header(CURRENT_KID), &claims(&a.id), CURRENT_SEED);
    ensure_eq!(me_status(c, &format!("Bearer {current}"))?, 200, "a well-formed token from the current key");
    let previous = sign_eddsa(&header(PREVIOUS_KID), &claims(&a.id), PREVIOUS_SEED);
    ensure_eq!(me_status(c, &format!("Bearer {previous}"))?, 200, "a token from the previous key");
    Ok(())
}

fn forged_and_invalid_tokens_are_all_refused(c: &Client) -> Result<(), String> {
    let a = c.register("Forge")?;
    let now = crate::fixtures::now_secs();
    let good = sign_eddsa(&header(CURRENT_KID), &claims(&a.id), CURRENT_SEED);
    let parts: Vec<&str> = good.split('.').collect();
    let with = |k: &str, v: Value| {
        let mut cl = claims(&a.id);
        cl[k] = v;
        sign_eddsa(&header(CURRENT_KID), &cl, CURRENT_SEED)
    };
    let without = |k: &str| {
        let mut cl = claims(&a.id);
        if let Some(o) = cl.as_object_mut() {
            o.remove(k);
        }
        sign_eddsa(&header(CURRENT_KID), &cl, CURRENT_SEED)
    };
    let mut edited_claims = claims(&a.id);
    edited_claims["sub"] = json!("00000000-0000-7000-8000-000000000001");
    let public_key = keypair(CURRENT_SEED).pk;
    let attacks: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!("{}.{}.", b64(json!({"alg": "none", "kid": CURRENT_KID}).to_string().as_bytes()), parts[1]),
        ),
        (
            "HS256 with a random key",
            sign_hs256(
                &json!({"alg": "HS256", "kid": CURRENT_KID}),
                &claims(&a.id),
                b"random key 0123456789abcdef0123",
            ),
        ),
        (
            "HS256 keyed with the public key",
            sign_hs256(&json!({"alg": "HS256", "kid": CURRENT_KID}), &claims(&a.id), public_key.as_ref()),
        ),
        (
            "payload edited under a valid signature",
            format!("{}.{}.{}", parts[0], b64(edited_claims.to_string().as_bytes()), parts[2]),
        ),
        ("truncated signature", format!("{}.{}.{}", parts[0], parts[1], &parts[2][..parts[2].len() - 4])),
        ("four segments", format!("{good}.{}", parts[2])),
        ("two segments", format!("{}.{}", parts[0], parts[1])),
        ("expired", with("exp", json!(now - 3600))),
        ("not yet valid", with("nbf", json!(now + 3600))),
        ("issued in the future", with("iat", json!(now + 3600))),
        ("no exp", without("exp")),
        ("wrong iss", with("iss", json!("https://evil.example.test"))),
        ("wrong aud", with("aud", json!("another-api"))),
        ("token_use refresh", with("token_use", json!("refresh"))),
        ("no token_use", without("token_use")),
        ("unknown kid", sign_eddsa(&header("no-such-key"), &claims(&a.id), CURRENT_SEED)),
        ("no kid", sign_eddsa(&json!({"alg": "EdDSA"}), &claims(&a.id), CURRENT_SEED)),
        ("rotated-out key", sign_eddsa(&header(RETIRED_KID), &claims(&a.id), RETIRED_SEED)),
        ("retired key under the current kid", sign_eddsa(&header(CURRENT_KID), &claims(&a.id), RETIRED_SEED)),
        ("refresh token as access token", a.refresh.clone()),
        ("garbage", "garbage".to_owned()),
        ("empty-ish", "...".to_owned()),
        ("API-key shaped garbage", "tm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned()),
    ];
    for (name, token) in &attacks {
        let res = c.authed("GET", "/v1/me", &format!("Bearer {token}"))?;
        expect_problem(&res, 401, "unauthenticated").map_err(|e| format!("{name}: {e}"))?;
    }
    for raw in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", &good] {
        let res = c.authed("GET", "/v1/me", raw)?;
        expect_problem(&res, 401, "unauthenticated").map_err(|e| format!("Authorization `{raw}`: {e}"))?;
    }
    Ok(())
}
