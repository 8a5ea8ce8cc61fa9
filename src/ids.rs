//! Identifiers: UUIDv7 (RFC 9562), time-sortable text, never integers (D1 loses precision above 2^53).

use std::sync::Mutex;

use crate::ports::{Clock, Random, RandomError};

/// The last (millisecond, sequence) handed out by this instance.
static LAST: Mutex<(u64, u16)> = Mutex::new((0, 0));

/// A new UUIDv7: 48 bits of Unix milliseconds, a 12-bit sequence, 62 random bits.
/// Within one instance ids are strictly increasing (RFC 9562 §6.2, method 1): the
/// sequence starts at a random value below 2048 each millisecond and counts up, borrowing
/// the next millisecond if it overflows.
///
/// # Errors
/// When the random source fails.
pub fn uuid_v7(clock: &dyn Clock, random: &dyn Random) -> Result<String, RandomError> {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes[6..])?;
    let now = u64::try_from(clock.now_ms()).unwrap_or(0);
    let start = u16::from_be_bytes([bytes[6], bytes[7]]) & 0x07ff;
    let (ms, seq) = match LAST.lock() {
        Ok(mut last) => {
            let next = if now > last.0 {
                (now, start)
            } else if last.1 < 0x0fff {
                (last.0, last.1.saturating_add(1))
            } else {
                (last.0.saturating_add(1), start)
            };
            *last = next;
            next
        }
        Err(_) => (now, start),
    };
    let ts = ms.to_be_bytes();
    bytes[..6].copy_from_slice(&ts[2..]);
    let [hi, lo] = seq.to_be_bytes();
    bytes[6] = 0x70 | (hi & 0x0f);
    bytes[7] = lo;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Ok(format_uuid(&bytes))
}

fn format_uuid(b: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(byte & 0x0f), 16).unwrap_or('0'));
    }
    s
}

/// True when `s` has the shape of a UUID (any version), lower- or upper-case hex.
pub fn looks_like_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::test_random::Constant;

    struct FixedClock(i64);
    impl Clock for FixedClock {
        fn now_ms(&self) -> i64 {
            self.0
        }
    }
    const ONES: Constant = Constant(0xff);

    #[test]
    fn uuid_v7_has_version_variant_and_sorts_by_time() {
        let a = uuid_v7(&FixedClock(1_900_000_000_000), &ONES).unwrap_or_default();
        let b = uuid_v7(&FixedClock(1_900_000_000_001), &ONES).unwrap_or_default();
        assert!(looks_like_uuid(&a));
        assert_eq!(a.as_bytes()[14], b'7');
        assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert!(a < b);
        assert_eq!(&a[..13], "01ba60d3-3800");
    }

    #[test]
    fn ids_of_one_millisecond_still_increase() {
        let clock = FixedClock(1_800_000_000_000);
        let ids: Vec<String> = (0..5000).map(|_| uuid_v7(&clock, &ONES).unwrap_or_default()).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
        }
    }
}
