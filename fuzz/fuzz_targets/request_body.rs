//! Any bytes as the body of any operation: JSON parsing (serde_path_to_error), the
//! request types (unknown and duplicate fields, double options, integers written as
//! floats) and every field rule. The verdict must be a 400/413/422 or valid, never a
//! panic; a valid body must stay valid after a JSON round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskapi_validate::{check, Operation};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let ops = Operation::ALL;
    let op = ops[usize::from(selector) % ops.len()];
    let verdict = check(op, body);
    match verdict.status {
        None => {
            assert!(verdict.valid && verdict.errors.is_empty());
            let value: serde_json::Value = serde_json::from_slice(body).expect("a valid body is JSON");
            let again = serde_json::to_vec(&value).expect("serializable");
            assert!(check(op, &again).valid, "valid body invalid after a round trip");
        }
        Some(400 | 413) => assert!(!verdict.valid && verdict.errors.is_empty()),
        Some(422) => assert!(!verdict.valid && !verdict.errors.is_empty()),
        Some(other) => panic!("unexpected verdict status {other}"),
    }
});
