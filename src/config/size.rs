//! Byte sizes in `galaxy.yml`: a whole number of bytes, or a number with a unit as Galaxy
//! writes them (`16M`, `1 GB`, `512 KiB`; units are binary, as in Galaxy's `size_to_bytes`).

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A size in bytes, at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub const KIB: u64 = 1024;
    pub const MIB: u64 = 1024 * 1024;
    pub const GIB: u64 = 1024 * 1024 * 1024;

    pub fn bytes(self) -> u64 {
        self.0
    }

    /// Parses `123`, `16M`, `1.5 GB`, `512KiB`, `2g` (case-insensitive).
    pub fn parse(text: &str) -> Result<ByteSize, String> {
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = (t[..split].trim(), t[split..].trim());
        let number: f64 = number
            .parse()
            .map_err(|_| format!("expected a size such as 16M or 1G, got `{text}`"))?;
        let factor: u64 = match unit.to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" | "kib" => Self::KIB,
            "m" | "mb" | "mib" => Self::MIB,
            "g" | "gb" | "gib" => Self::GIB,
            "t" | "tb" | "tib" => Self::GIB * 1024,
            _ => {
                return Err(format!(
                    "unknown unit `{unit}` in `{text}` (use B, K, M, G or T)"
                ));
            }
        };
        Self::checked(number * factor as f64, text)
    }

    fn checked(bytes: f64, text: &str) -> Result<ByteSize, String> {
        if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
            return Err(format!("expected a size of at least 1 byte, got `{text}`"));
        }
        Ok(ByteSize(bytes as u64))
    }
}

impl fmt::Display for ByteSize {
    /// `16 MiB (16777216 bytes)`; plain bytes below 1 KiB.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        let (unit, div) = if b >= Self::GIB {
            ("GiB", Self::GIB)
        } else if b >= Self::MIB {
            ("MiB", Self::MIB)
        } else if b >= Self::KIB {
            ("KiB", Self::KIB)
        } else {
            return write!(f, "{b} bytes");
        };
        let scaled = b as f64 / div as f64;
        if b.is_multiple_of(div) {
            write!(f, "{} {unit} ({b} bytes)", b / div)
        } else {
            write!(f, "{scaled:.1} {unit} ({b} bytes)")
        }
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ByteSize, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size in bytes, or with a unit such as 16M or 1G")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                ByteSize::checked(v as f64, &v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                ByteSize::checked(v as f64, &v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ByteSize, E> {
                ByteSize::checked(v, &v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::ByteSize;

    #[test]
    fn sizes_parse_as_galaxy_writes_them() {
        let cases = [
            ("123", 123),
            ("16M", 16 << 20),
            ("1 GB", 1 << 30),
            ("512KiB", 512 << 10),
            ("1.5g", 3 << 29),
            ("2t", 2 << 40),
        ];
        for (text, bytes) in cases {
            assert_eq!(ByteSize::parse(text), Ok(ByteSize(bytes)), "{text}");
        }
        for bad in ["", "M", "0", "-5M", "12 parsecs", "0.1"] {
            assert!(ByteSize::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn sizes_display_with_their_bytes() {
        assert_eq!(ByteSize(16 << 20).to_string(), "16 MiB (16777216 bytes)");
        assert_eq!(ByteSize(1536).to_string(), "1.5 KiB (1536 bytes)");
        assert_eq!(ByteSize(10).to_string(), "10 bytes");
    }
}
