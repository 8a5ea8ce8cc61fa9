//! Access tokens from the Authorization header: any text is refused or verified, never a
//! panic; a token the server issued verifies, and any change to it is refused.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use taskapi::auth::jwt::VerifiedTokens;
use taskapi::Settings;

/// The instance's cache of checked tokens, as the server keeps it.
fn seen() -> &'static VerifiedTokens {
    static C: OnceLock<VerifiedTokens> = OnceLock::new();
    C.get_or_init(VerifiedTokens::default)
}

fn settings() -> &'static Settings {
    static S: OnceLock<Settings> = OnceLock::new();
    S.get_or_init(|| {
        Settings::from_lookup(|k| match k {
            "ENVIRONMENT" => Some("development".to_owned()),
            "JWT_SIGNING_KEY" => Some("fuzz:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".to_owned()),
            _ => None,
        })
        .expect("fuzz settings")
    })
}

const NOW: i64 = 1_795_000_000_000;

fuzz_target!(|data: &[u8]| {
    let jwt = &settings().jwt;
    let text = String::from_utf8_lossy(data);
    let _ = jwt.verify(seen(), &text, NOW);
    let token = jwt.issue("user-1", "session-1", NOW).expect("issue");
    assert!(jwt.verify(seen(), &token, NOW).is_ok());
    // Splice the input into the issued token: anything but the original is refused.
    let at = usize::from(data.first().copied().unwrap_or(0)) % token.len();
    let mut changed = token.clone();
    changed.insert_str(at, &text);
    if changed != token {
        assert!(jwt.verify(seen(), &changed, NOW).is_err(), "a modified token verified: {changed}");
    }
});
