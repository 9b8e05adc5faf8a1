//! Value encoding: one version byte, then JSON. The version lets a later schema read old values.

use serde::{de::DeserializeOwned, Serialize};

use super::StoreError;

const VERSION: u8 = 1;

/// Encodes a value for storage.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![VERSION];
    serde_json::to_writer(&mut out, value).expect("stored types serialise to JSON");
    out
}

/// Decodes a stored value of `table`.
pub fn decode<T: DeserializeOwned>(table: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&VERSION, body)) => serde_json::from_slice(body).map_err(|e| StoreError::Corrupt {
            table,
            reason: e.to_string(),
        }),
        Some((v, _)) => Err(StoreError::Corrupt {
            table,
            reason: format!("unknown value version {v}"),
        }),
        None => Err(StoreError::Corrupt {
            table,
            reason: "empty value".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_unknown_versions_are_refused() {
        let bytes = encode(&vec!["a", "b"]);
        assert_eq!(bytes[0], VERSION);
        assert_eq!(decode::<Vec<String>>("t", &bytes).unwrap(), vec!["a", "b"]);
        assert!(decode::<Vec<String>>("t", &[9, b'1']).is_err());
        assert!(decode::<Vec<String>>("t", &[]).is_err());
    }
}
