//! Cursor pagination shared by every list: the page type and the one cursor codec.
//!
//! A cursor is opaque to clients: a short tag naming its list, a dot, then the list's position (printable ASCII)
//! in lowercase hex. Every string the pattern of its list accepts decodes to a position, and nothing else does,
//! so the OpenAPI document can state exactly which cursors a list takes.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use serde::Serialize;
use utoipa::ToSchema;

/// One page of a list. Pass `next_cursor` back as `cursor` to get the next page; it is absent on the last page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page, in list order.
    pub items: Vec<T>,
    /// Opaque cursor for the next page, absent when this is the last one.
    #[schema(
        example = "c.6375735f30316d386d6d64677472363379337a3938687479",
        pattern = "^[a-z]\\.([2-7][0-9a-f]){1,128}$",
        max_length = 258
    )]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` items read in order: the extra item only proves there is more.
    /// `position_of` gives an item's position in `list`, which the next cursor encodes.
    pub fn from_overfetch(
        mut items: Vec<T>,
        limit: usize,
        list: CursorList,
        position_of: impl Fn(&T) -> String,
    ) -> Self {
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|item| list.encode(&position_of(item)))
        } else {
            None
        };
        Self { items, next_cursor }
    }
}

/// Most bytes of a position inside a cursor (ids and time-stamped keys are well below).
pub const MAX_POSITION_BYTES: usize = 128;

/// The lists that page with a cursor. A cursor of one list is refused by the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorList {
    /// Customers, by id.
    Customers,
    /// A customer's interactions, by opening time and id.
    Interactions,
    /// A customer's memories, by observation time and id.
    Memories,
    /// A customer's preference changes, by sequence number (digits only).
    Preferences,
    /// Outreach items, by id.
    Outreach,
    /// A workspace's audit log, by entry id.
    Audit,
}

/// A cursor that no list of this kind returned (garbage, truncated, another list's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cursor is not one this list returned: pass back `next_cursor` unchanged")]
pub struct InvalidCursor;

impl CursorList {
    fn tag(self) -> char {
        match self {
            Self::Customers => 'c',
            Self::Interactions => 'i',
            Self::Memories => 'm',
            Self::Preferences => 'p',
            Self::Outreach => 'o',
            Self::Audit => 'a',
        }
    }

    /// The position as the list's cursor. Positions are printable ASCII of at most [`MAX_POSITION_BYTES`] bytes
    /// (the lists' own ids and keys).
    pub fn encode(self, position: &str) -> String {
        debug_assert!(position.len() <= MAX_POSITION_BYTES && position.bytes().all(|b| (0x20..0x80).contains(&b)));
        let mut out = String::with_capacity(2 + 2 * position.len());
        out.push(self.tag());
        out.push('.');
        for b in position.bytes() {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// The position a cursor of this list encodes; exactly the strings matching [`Self::pattern`] decode.
    pub fn decode(self, cursor: &str) -> Result<String, InvalidCursor> {
        let hex = cursor
            .strip_prefix(self.tag())
            .and_then(|rest| rest.strip_prefix('.'))
            .ok_or(InvalidCursor)?;
        let bytes = hex.as_bytes();
        if bytes.is_empty() || bytes.len() % 2 != 0 || bytes.len() > 2 * MAX_POSITION_BYTES {
            return Err(InvalidCursor);
        }
        let digits_only = self == Self::Preferences;
        let mut position = String::with_capacity(bytes.len() / 2);
        for pair in bytes.chunks(2) {
            let &[hi, lo] = pair else {
                return Err(InvalidCursor);
            };
            let ok_hi = if digits_only {
                hi == b'3'
            } else {
                (b'2'..=b'7').contains(&hi)
            };
            let ok_lo = if digits_only {
                lo.is_ascii_digit()
            } else {
                lo.is_ascii_digit() || (b'a'..=b'f').contains(&lo)
            };
            if !ok_hi || !ok_lo {
                return Err(InvalidCursor);
            }
            let value = (hi - b'0') << 4 | if lo.is_ascii_digit() { lo - b'0' } else { lo - b'a' + 10 };
            position.push(char::from(value));
        }
        if digits_only && position.len() > 19 {
            return Err(InvalidCursor);
        }
        Ok(position)
    }

    /// Decodes an optional cursor.
    pub fn decode_opt(self, cursor: Option<&str>) -> Result<Option<String>, InvalidCursor> {
        cursor.map(|c| self.decode(c)).transpose()
    }

    /// The regular expression (ECMA-262 and Python alike) of this list's cursors, as the OpenAPI document states it.
    pub fn pattern(self) -> String {
        if self == Self::Preferences {
            format!("^{}\\.(3[0-9]){{1,19}}$", self.tag())
        } else {
            format!("^{}\\.([2-7][0-9a-f]){{1,{MAX_POSITION_BYTES}}}$", self.tag())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [CursorList; 6] = [
        CursorList::Customers,
        CursorList::Interactions,
        CursorList::Memories,
        CursorList::Preferences,
        CursorList::Outreach,
        CursorList::Audit,
    ];

    #[test]
    fn a_cursor_decodes_to_the_position_it_encodes() {
        for list in ALL {
            let position = if list == CursorList::Preferences {
                "1234"
            } else {
                "2026-01-02T03:04:05+00:00|int_01abc"
            };
            assert_eq!(list.decode(&list.encode(position)).unwrap(), position);
        }
    }

    #[test]
    fn garbage_and_other_lists_cursors_are_refused() {
        let long = "A".repeat(5000);
        let too_long = format!("c.{}", "61".repeat(MAX_POSITION_BYTES + 1));
        for bad in [
            "",
            "garbage",
            "\0",
            "%00",
            long.as_str(),
            "c.",
            "c.6",
            "c.0a",
            "c.GG",
            "c.6A",
            too_long.as_str(),
        ] {
            assert_eq!(
                CursorList::Customers.decode(bad),
                Err(InvalidCursor),
                "{bad:?} accepted"
            );
        }
        let customers = CursorList::Customers.encode("cus_1");
        assert_eq!(CursorList::Outreach.decode(&customers), Err(InvalidCursor));
        assert_eq!(CursorList::Preferences.decode("p.61"), Err(InvalidCursor));
        assert_eq!(
            CursorList::Preferences.decode(&format!("p.{}", "39".repeat(20))),
            Err(InvalidCursor)
        );
        assert_eq!(
            CursorList::Preferences
                .decode(&format!("p.{}", "39".repeat(19)))
                .unwrap(),
            "9".repeat(19)
        );
    }

    #[test]
    fn the_pattern_names_the_tag_and_the_bound() {
        assert_eq!(CursorList::Customers.pattern(), "^c\\.([2-7][0-9a-f]){1,128}$");
        assert_eq!(CursorList::Preferences.pattern(), "^p\\.(3[0-9]){1,19}$");
    }
}
