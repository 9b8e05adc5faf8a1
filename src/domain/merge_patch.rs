//! JSON Merge Patch (RFC 7396).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::InvalidInput;

/// Applies `patch` to `target` as RFC 7396 describes: objects merge key by key, `null` removes a key, anything
/// else replaces the target value.
pub fn apply(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let Value::Object(target_map) = target else {
        unreachable!("target was made an object above")
    };
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            apply(target_map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// `value` with a merge patch applied, read back as its type. The patch must be an object; a result that is not
/// a valid `T` (wrong type, unknown field) is `invalid_body`.
pub fn patched<T: Serialize + DeserializeOwned>(value: &T, patch: &Value) -> Result<T, InvalidInput> {
    if !patch.is_object() {
        return Err(InvalidInput::new(
            "invalid_body",
            "",
            "a merge patch must be a JSON object",
        ));
    }
    #[allow(clippy::expect_used, reason = "Rappel's own types always serialise")]
    let mut doc = serde_json::to_value(value).expect("patchable types serialise to JSON");
    apply(&mut doc, patch);
    serde_json::from_value(doc).map_err(|e| InvalidInput::new("invalid_body", "", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_the_rfc_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
        ];
        for (mut target, patch, expected) in cases {
            apply(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }
}
