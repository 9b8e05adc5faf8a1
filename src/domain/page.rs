//! Cursor pagination shared by every list.

use serde::Serialize;
use utoipa::ToSchema;

/// One page of a list. Pass `next_cursor` back as `cursor` to get the next page; it is absent on the last page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page, in list order.
    pub items: Vec<T>,
    /// Opaque cursor for the next page, absent when this is the last one.
    #[schema(example = "cus_01jh2k3m4n5p6q7r8s9t0v1w2x")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` items read in order: the extra item only proves there is more.
    pub fn from_overfetch(mut items: Vec<T>, limit: usize, cursor_of: impl Fn(&T) -> String) -> Self {
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(&cursor_of)
        } else {
            None
        };
        Self { items, next_cursor }
    }
}
