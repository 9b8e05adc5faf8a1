//! Whole numbers on the wire: JSON Schema calls `1.0` an integer, so integer fields accept a number with a zero
//! fractional part (`"k": 5.0` is `"k": 5`) and still refuse `5.5`, out-of-range values and non-numbers.
//!
//! Use with `#[serde(deserialize_with = "whole::int")]`, or `#[serde(default, deserialize_with = "whole::opt")]`
//! on an `Option` (the `default` keeps an absent field meaning `None`).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};

/// Reads an integer of type `T`, taking a whole-valued float as that integer.
pub fn int<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    deserializer.deserialize_any(WholeVisitor(PhantomData))
}

/// Reads an optional integer of type `T` (`null` is `None`), taking a whole-valued float as that integer.
pub fn opt<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    deserializer.deserialize_option(OptVisitor(PhantomData))
}

struct WholeVisitor<T>(PhantomData<T>);

impl<T: TryFrom<i128>> WholeVisitor<T> {
    fn fit<E: de::Error>(n: i128) -> Result<T, E> {
        T::try_from(n).map_err(|_| E::custom(format!("{n} is out of range for {}", std::any::type_name::<T>())))
    }
}

impl<'de, T: TryFrom<i128>> Visitor<'de> for WholeVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Self::fit(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Self::fit(v.into())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        // Beyond 2^64 every float is whole, but no integer field of the API goes that far.
        if v.fract() == 0.0 && v.abs() < 1.8e19 {
            Self::fit(v as i128)
        } else {
            Err(E::invalid_type(de::Unexpected::Float(v), &self))
        }
    }
}

struct OptVisitor<T>(PhantomData<T>);

impl<'de, T: TryFrom<i128>> Visitor<'de> for OptVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        int(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Probe {
        #[serde(deserialize_with = "super::int")]
        n: u8,
        #[serde(default, deserialize_with = "super::opt")]
        m: Option<usize>,
    }

    fn read(v: serde_json::Value) -> Result<Probe, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn whole_floats_are_integers_and_fractions_are_refused() {
        assert_eq!(read(json!({"n": 5.0, "m": 12.0})).unwrap(), Probe { n: 5, m: Some(12) });
        assert_eq!(read(json!({"n": 5})).unwrap(), Probe { n: 5, m: None });
        assert_eq!(read(json!({"n": 5, "m": null})).unwrap().m, None);
        assert!(read(json!({"n": 5.5})).is_err());
        assert!(read(json!({"n": 256.0})).is_err());
        assert!(read(json!({"n": -1})).is_err());
        assert!(read(json!({"n": "5"})).is_err());
        assert!(read(json!({"n": 1e300})).is_err());
        // From text too (the extractor reads bytes, not values).
        let p: Probe = serde_json::from_str(r#"{"n": 7.0, "m": 3.0}"#).unwrap();
        assert_eq!(p, Probe { n: 7, m: Some(3) });
    }
}
