//! JSON Merge Patch (RFC 7396).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::PartialSchema;

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
pub fn patched<T: Serialize + DeserializeOwned + PartialSchema>(value: &T, patch: &Value) -> Result<T, InvalidInput> {
    patched_whole(value, patch, &[])
}

/// Like [`patched`], except that where the patch gives an object at one of the `whole` paths (dotted field names,
/// `*` for any key: `consent.*`), that object replaces the value instead of merging into it. For records that are
/// only valid complete (a consent, quiet hours, a detector), so a patch of one states all of it, as its schema says.
pub fn patched_whole<T: Serialize + DeserializeOwned + PartialSchema>(
    value: &T,
    patch: &Value,
    whole: &[&str],
) -> Result<T, InvalidInput> {
    if !patch.is_object() {
        return Err(InvalidInput::new(
            "invalid_body",
            "",
            "a merge patch must be a JSON object",
        ));
    }
    known_fields::<T>(patch)?;
    #[allow(clippy::expect_used, reason = "Rappel's own types always serialise")]
    let mut doc = serde_json::to_value(value).expect("patchable types serialise to JSON");
    for path in whole {
        let segments: Vec<&str> = path.split('.').collect();
        clear_replaced(&mut doc, patch, &segments);
    }
    apply(&mut doc, patch);
    serde_json::from_value(doc).map_err(|e| InvalidInput::new("invalid_body", "", e.to_string()))
}

/// Refuses a top-level key that is not a field of `T`. A `null` under an unknown key would otherwise pass: it
/// removes nothing, and the result has no unknown field for serde to refuse.
fn known_fields<T: PartialSchema>(patch: &Value) -> Result<(), InvalidInput> {
    let RefOr::T(Schema::Object(schema)) = T::schema() else {
        return Ok(());
    };
    let Value::Object(patch) = patch else { return Ok(()) };
    if schema.properties.is_empty() {
        // A free-form object (a `Value`): any key goes.
        return Ok(());
    }
    match patch.keys().find(|key| !schema.properties.contains_key(key.as_str())) {
        Some(key) => Err(InvalidInput::new("invalid_body", "", format!("unknown field `{key}`"))),
        None => Ok(()),
    }
}

/// Removes from `doc` the values at `path` that `patch` replaces with an object.
fn clear_replaced(doc: &mut Value, patch: &Value, path: &[&str]) {
    let (Some((first, rest)), Value::Object(doc_map), Value::Object(patch_map)) = (path.split_first(), doc, patch)
    else {
        return;
    };
    let keys: Vec<String> = patch_map
        .keys()
        .filter(|k| *first == "*" || k.as_str() == *first)
        .cloned()
        .collect();
    for key in keys {
        let replacement = &patch_map[&key];
        if rest.is_empty() {
            if replacement.is_object() {
                doc_map.remove(&key);
            }
        } else if let Some(inner) = doc_map.get_mut(&key) {
            clear_replaced(inner, replacement, rest);
        }
    }
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

    #[test]
    fn objects_at_whole_paths_replace_instead_of_merging() {
        let target =
            json!({"q": {"start": "21:00", "end": "08:00"}, "c": {"email": {"granted": true, "source": "form"}}});
        let patch = json!({"q": {"start": "22:00", "end": "07:00"}, "c": {"email": {"granted": false}, "sms": null}});
        let replaced: Value = patched_whole(&target, &patch, &["q", "c.*"]).unwrap();
        assert_eq!(
            replaced,
            json!({"q": {"start": "22:00", "end": "07:00"}, "c": {"email": {"granted": false}}})
        );
        let merged: Value = patched(&target, &patch).unwrap();
        assert_eq!(merged["c"]["email"]["source"], "form");
    }
}
