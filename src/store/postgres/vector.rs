//! pgvector's `vector` type in the binary protocol: a dimension (u16), an unused u16, then the components as
//! big-endian f32s (pgvector's `vector_send` and `vector_recv`).

use std::error::Error;

use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

/// A vector as a `vector` parameter or column value.
#[derive(Debug, Clone, PartialEq)]
pub struct PgVector(pub Vec<f32>);

/// The type's name; its oid differs between databases, so it is recognised by name.
fn is_vector(ty: &Type) -> bool {
    ty.name() == "vector"
}

impl ToSql for PgVector {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        let dim = u16::try_from(self.0.len()).map_err(|_| format!("a vector of {} dimensions", self.0.len()))?;
        out.reserve(4 + 4 * self.0.len());
        out.put_u16(dim);
        out.put_u16(0);
        for x in &self.0 {
            out.put_f32(*x);
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        is_vector(ty)
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for PgVector {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        let (head, body) = raw.split_at_checked(4).ok_or("a vector shorter than its header")?;
        let dim = usize::from(u16::from_be_bytes([head[0], head[1]]));
        if body.len() != 4 * dim {
            return Err(format!("a vector of {dim} dimensions in {} bytes", body.len()).into());
        }
        Ok(Self(
            body.chunks_exact(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ))
    }

    fn accepts(ty: &Type) -> bool {
        is_vector(ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_through_the_binary_format() {
        let v = PgVector(vec![0.5, -1.25, 3.0]);
        let mut out = BytesMut::new();
        let ty = Type::TEXT; // The type is only checked by `accepts`.
        assert!(matches!(v.to_sql(&ty, &mut out), Ok(IsNull::No)));
        assert_eq!(&out[..4], &[0, 3, 0, 0]);
        assert_eq!(PgVector::from_sql(&ty, &out).unwrap(), v);
        assert!(PgVector::from_sql(&ty, &out[..7]).is_err());
        assert!(PgVector::from_sql(&ty, &[0]).is_err());
    }
}
