//! Value encoding: one version byte, then JSON (the version lets a later schema read old values); and vectors
//! as int8, the precision every backend keeps.

use serde::{de::DeserializeOwned, Serialize};

use super::StoreError;
use crate::domain::vector::{dequantize, quantize};

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

/// The version byte of an int8 vector.
const INT8: u8 = 2;

/// A vector as stored: the version byte 2 then one signed byte per component (see `domain::vector`). A dimension
/// of 3 modulo 4 would make that length a multiple of four, which is how the first release's little-endian f32
/// vectors are told apart, so such vectors are still written as f32s.
pub fn vector_bytes(v: &[f32]) -> Vec<u8> {
    if v.len() % 4 == 3 {
        return v.iter().flat_map(|x| x.to_le_bytes()).collect();
    }
    let mut out = Vec::with_capacity(v.len() + 1);
    out.push(INT8);
    out.extend(quantize(v).into_iter().map(|x| x as u8));
    out
}

/// Reads a stored vector as a unit vector: int8 (version 2) or the first release's f32s.
pub fn vector_from(bytes: &[u8]) -> Result<Vec<f32>, StoreError> {
    match bytes.split_first() {
        Some((&INT8, body)) if !bytes.len().is_multiple_of(4) => {
            Ok(dequantize(&body.iter().map(|b| *b as i8).collect::<Vec<_>>()))
        }
        _ if bytes.len().is_multiple_of(4) => Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()),
        _ => Err(StoreError::Corrupt {
            table: "vectors",
            reason: format!("a vector of {} bytes is neither int8 nor f32", bytes.len()),
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

    #[test]
    fn vectors_are_stored_as_int8_and_the_first_release_f32_vectors_still_read() {
        let mut v: Vec<f32> = (0..384).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
        crate::domain::normalise_unit(&mut v);
        let bytes = vector_bytes(&v);
        assert_eq!(bytes.len(), 385);
        let back = vector_from(&bytes).unwrap();
        assert!(crate::domain::dot(&v, &back) > 0.999);
        let v1: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(vector_from(&v1).unwrap(), v);
        assert!(vector_from(&[1, 2, 3, 4, 5, 6]).is_err());
    }
}
