//! List cursors from the query string: any text decodes to a position or to a 400, and
//! every position the server encodes decodes to itself (and only for its own list). The
//! server's positions (a 36-character id and a sort key) always fit in MAX_CURSOR_LEN;
//! arbitrary ones that do not are refused by length, like any other over-long cursor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskapi::http::pagination::{CursorCodec, Position, MAX_CURSOR_LEN};

fuzz_target!(|data: &[u8]| {
    let codec = CursorCodec::new([7; 32]);
    let text = String::from_utf8_lossy(data);
    if let Ok(pos) = codec.decode(&text, "tasks") {
        assert_eq!(pos.list, "tasks");
    }
    let mid = text.char_indices().nth(text.chars().count() / 2).map_or(text.len(), |(i, _)| i);
    let (id, key) = text.split_at(mid);
    let pos = Position {
        list: "tasks".to_owned(),
        key: serde_json::Value::String(key.to_owned()),
        id: id.to_owned(),
    };
    let cursor = codec.encode(&pos);
    if cursor.len() > MAX_CURSOR_LEN {
        assert!(codec.decode(&cursor, "tasks").is_err(), "an over-long cursor was accepted");
        return;
    }
    let back = codec.decode(&cursor, "tasks").expect("own cursor decodes");
    assert_eq!(back.id, pos.id);
    assert_eq!(back.key, pos.key);
    assert!(codec.decode(&cursor, "projects").is_err(), "a cursor crossed lists");
});
