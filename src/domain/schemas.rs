//! Documentation-only schemas: the rules of a few wire values that a Rust type cannot show utoipa (a time zone
//! is one of the IANA names, a tag is short non-blank text, template keys follow a pattern). Fields name them with
//! `#[schema(value_type = ...)]`; the validators in this module's siblings enforce the same rules.

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::CustomerFields;

/// Text that is not blank and holds no control characters (what [`super::validate::text`] accepts).
pub const NON_BLANK_PATTERN: &str =
    "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$";

/// A template key: a lowercase language code of 2 or 3 letters, optionally with a tone.
pub const TEMPLATE_KEY_PATTERN: &str = "^[a-z]{2,3}(\\.(formal|casual))?$";

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::new(Type::String))
}

fn non_blank(max_chars: usize) -> ObjectBuilder {
    string()
        .min_length(Some(1))
        .max_length(Some(max_chars))
        .pattern(Some(NON_BLANK_PATTERN))
}

/// An IANA time zone name (`Europe/Paris`), one of the zones the server knows.
pub struct TimeZoneName;

impl PartialSchema for TimeZoneName {
    fn schema() -> RefOr<Schema> {
        string()
            .description(Some("An IANA time zone name"))
            .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())))
            .examples(["Europe/Paris"])
            .into()
    }
}

impl ToSchema for TimeZoneName {}

/// A tag: 1 to 64 characters of non-blank text.
pub struct Tag;

impl PartialSchema for Tag {
    fn schema() -> RefOr<Schema> {
        non_blank(64)
            .description(Some("A tag: non-blank text of at most 64 characters"))
            .into()
    }
}

impl ToSchema for Tag {}

/// Free-form preferences: at most 100 keys of non-blank text (1-64 characters) with values of at most 1,000
/// characters.
pub struct CustomPreferences;

impl PartialSchema for CustomPreferences {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .description(Some(
                "Free-form key/value preferences: at most 100 keys of 1-64 characters, values of at most 1000",
            ))
            .property_names(Some(non_blank(64)))
            .additional_properties(Some(string().max_length(Some(1000))))
            .max_properties(Some(100))
            .examples([serde_json::json!({"pronouns": "she/her"})])
            .into()
    }
}

impl ToSchema for CustomPreferences {}

/// Message templates by language and optional tone (`fr`, `fr.formal`); `en` is required.
pub struct Templates;

impl PartialSchema for Templates {
    fn schema() -> RefOr<Schema> {
        // Texts are checked for length and blankness only (line breaks are fine in a template).
        let text = || {
            string()
                .min_length(Some(1))
                .max_length(Some(5000))
                .pattern(Some("\\S"))
                .description(Some(
                    "Template text (fields: {first_name} {name} {company} {plan} {topic})",
                ))
        };
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .description(Some(
                "Templates by language, optionally by tone (`fr.formal`, `fr.casual`); `en` is required (the \
                 fallback for every customer)",
            ))
            .property("en", text())
            .required("en")
            .property_names(Some(string().pattern(Some(TEMPLATE_KEY_PATTERN))))
            .additional_properties(Some(text()))
            .examples([serde_json::json!({"en": "Hi {first_name}, ...", "fr": "Bonjour {first_name}, ..."})])
            .into()
    }
}

impl ToSchema for Templates {}

/// The body of the customer upsert: the profile of [`CustomerFields`], whose `external_id` may be omitted or
/// empty there (the path gives it; when given, it must equal the path's).
pub struct CustomerUpsert;

impl PartialSchema for CustomerUpsert {
    fn schema() -> RefOr<Schema> {
        let mut schema = <CustomerFields as PartialSchema>::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.required.retain(|field| field != "external_id");
            object.description = Some(
                "The full profile of a customer addressed by external id: the fields of `CustomerFields`, whose \
                 `external_id` may be omitted or empty (the path gives it)."
                    .into(),
            );
            let external_id = string()
                .description(Some(
                    "The client's id; omitted or empty: the path's. When given it must equal the path's \
                     (422 `external_id_mismatch` otherwise).",
                ))
                .pattern(Some("^[^/\\s\\x00-\\x1f\\x7f-\\x9f]*$"))
                .max_length(Some(200))
                .examples(["cus-1001"]);
            object.properties.insert("external_id".into(), external_id.into());
        }
        schema
    }
}

impl ToSchema for CustomerUpsert {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <CustomerFields as ToSchema>::schemas(schemas);
    }
}

/// A detector: its `kind` and that kind's parameters (all optional), from [`super::detect::params::KINDS`].
pub struct DetectorSchema;

impl PartialSchema for DetectorSchema {
    fn schema() -> RefOr<Schema> {
        use super::detect::params::{ParamType, KINDS};
        let kinds: Vec<serde_json::Value> = KINDS
            .iter()
            .map(|(kind, params)| {
                let mut properties = serde_json::Map::new();
                properties.insert("kind".into(), serde_json::json!({"type": "string", "enum": [kind]}));
                for (name, ty, lo, hi) in *params {
                    let ty = match ty {
                        ParamType::Integer => "integer",
                        ParamType::Number => "number",
                    };
                    properties.insert(
                        (*name).into(),
                        serde_json::json!({"type": ty, "minimum": lo, "maximum": hi}),
                    );
                }
                serde_json::json!({
                    "type": "object",
                    "title": kind,
                    "properties": properties,
                    "required": ["kind"],
                    "additionalProperties": false,
                })
            })
            .collect();
        let schema = serde_json::json!({
            "description": "The detector (`kind`) and its parameters; see jobs/README.md for what each kind does and \
                its defaults.",
            "oneOf": kinds,
            "example": {"kind": "sentiment_decline", "threshold": -0.5},
        });
        serde_json::from_value(schema).expect("a detector schema is a schema")
    }
}

impl ToSchema for DetectorSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "Detector".into()
    }
}

/// A team topic: 1 to 500 characters of non-blank text.
pub struct TopicText;

impl PartialSchema for TopicText {
    fn schema() -> RefOr<Schema> {
        non_blank(super::team::MAX_TOPIC_CHARS)
            .description(Some(
                "What a team handles, in plain words: non-blank text of at most 500 characters",
            ))
            .into()
    }
}

impl ToSchema for TopicText {}

/// A short label (a product or plan name): 1 to 200 characters of non-blank text.
pub struct Label;

impl PartialSchema for Label {
    fn schema() -> RefOr<Schema> {
        non_blank(super::validate::MAX_TEXT_CHARS)
            .description(Some("A product or plan name: non-blank text of at most 200 characters"))
            .into()
    }
}

impl ToSchema for Label {}

/// A BCP 47 language tag (`fr`, `en-GB`).
pub struct LanguageTag;

impl PartialSchema for LanguageTag {
    fn schema() -> RefOr<Schema> {
        string()
            .description(Some("A BCP 47 language tag such as \"fr\" or \"en-GB\""))
            .pattern(Some("^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"))
            .into()
    }
}

impl ToSchema for LanguageTag {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_time_zone_of_the_schema_is_accepted_by_the_validator() {
        for tz in chrono_tz::TZ_VARIANTS {
            assert_eq!(super::super::validate::timezone("t", tz.name()).unwrap(), tz.name());
        }
    }

    #[test]
    fn template_keys_match_the_pattern_exactly_when_the_validator_takes_them() {
        let pattern = regex::Regex::new(TEMPLATE_KEY_PATTERN).unwrap();
        for key in [
            "en",
            "fr",
            "deu",
            "fr.formal",
            "en.casual",
            "",
            "e",
            "english",
            "EN",
            "fr.",
            "fr.rude",
            "fr-x",
        ] {
            let templates = [("en".to_owned(), "Hi".to_owned()), (key.to_owned(), "Hi".to_owned())].into();
            let valid = super::super::outreach::check_templates("t", &templates).is_ok();
            assert_eq!(pattern.is_match(key), valid, "{key:?}");
        }
    }

    #[test]
    fn non_blank_text_matches_the_pattern_exactly_when_the_validator_takes_it() {
        let pattern = regex::Regex::new(NON_BLANK_PATTERN).unwrap();
        for text in ["a", " a ", "vip", "", " ", "\t", "a\u{0}", "a\u{85}b"] {
            let valid = super::super::validate::text("t", text, 64).is_ok();
            assert_eq!(pattern.is_match(text), valid, "{text:?}");
        }
    }
}
