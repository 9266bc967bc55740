//! Encoded ids, as Galaxy makes them: the decimal id, left-padded with `!` to a multiple of 8
//! bytes, Blowfish-encrypted (ECB) with `id_secret`, hex-encoded.

use blowfish::Blowfish;
use blowfish::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

use super::errors::ApiError;

#[derive(Clone)]
pub struct IdEncoder {
    cipher: Blowfish,
}

impl IdEncoder {
    pub fn new(secret: &str) -> IdEncoder {
        // Blowfish takes 4 to 56 key bytes.
        let mut key: Vec<u8> = secret.as_bytes().iter().copied().take(56).collect();
        while key.len() < 4 {
            key.push(b'!');
        }
        // 4..=56 bytes are guaranteed above, which Blowfish always accepts.
        let cipher =
            Blowfish::new_from_slice(&key).unwrap_or_else(|_| unreachable!("blowfish key length"));
        IdEncoder { cipher }
    }

    pub fn encode(&self, id: i64) -> String {
        let s = id.to_string();
        let pad = 8 - s.len() % 8;
        let mut bytes = vec![b'!'; pad];
        bytes.extend_from_slice(s.as_bytes());
        for chunk in bytes.chunks_mut(8) {
            if let Ok(block) = <&mut Array<u8, _>>::try_from(chunk) {
                self.cipher.encrypt_block(block);
            }
        }
        hex::encode(bytes)
    }

    pub fn decode(&self, encoded: &str) -> Result<i64, ApiError> {
        let bad = || ApiError::MalformedId(encoded.chars().take(64).collect());
        let mut bytes = hex::decode(encoded).map_err(|_| bad())?;
        if bytes.is_empty() || bytes.len() % 8 != 0 {
            return Err(bad());
        }
        for chunk in bytes.chunks_mut(8) {
            if let Ok(block) = <&mut Array<u8, _>>::try_from(chunk) {
                self.cipher.decrypt_block(block);
            }
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
        text.trim_start_matches('!')
            .parse::<i64>()
            .map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let e = IdEncoder::new("secret");
        for id in [1, 7, 12345678, 123456789, i64::MAX] {
            let enc = e.encode(id);
            assert_eq!(e.decode(&enc).unwrap(), id, "{enc}");
        }
        assert_eq!(e.encode(1).len(), 16);
        assert!(e.decode("xyz").is_err());
        assert!(e.decode("0011").is_err());
        assert!(IdEncoder::new("other").decode(&e.encode(5)).is_err());
    }
}
