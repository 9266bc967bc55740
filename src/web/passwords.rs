//! Passwords as Galaxy stores them in `galaxy_user.password`.
//!
//! New hashes are Galaxy's PBKDF2 form, `PBKDF2$sha256$100000$<salt>$<hash>`: the salt is 12
//! random bytes in base64, and its base64 *text* (not the decoded bytes) is what PBKDF2-HMAC-SHA256
//! salts with; the hash is the 24-byte derived key in base64. A user table carried over from
//! Galaxy therefore keeps working, and hashes made here work in Galaxy.
//!
//! Two older forms still verify, and are reported as [`Verdict::Outdated`] so that the caller
//! stores a new hash: Galaxy's oldest (unsalted SHA-1 in hex, any hash without the `PBKDF2`
//! prefix) and this server's earlier one (`sha256$<salt>$<hex of sha256(salt + password)>`).
//! A PBKDF2 hash with fewer iterations than [`ITERATIONS`] (older Galaxy releases used
//! 10,000) is outdated too.
//!
//! Comparisons are constant-time, and [`verify_or_pretend`] spends one PBKDF2 computation on
//! every attempt, whether the user exists or not, so that the answer's timing does not say
//! which.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::Rng;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// PBKDF2 iterations of new hashes (Galaxy's `COST_FACTOR`).
pub const ITERATIONS: u32 = 100_000;
/// Random bytes of a new salt (Galaxy's `SALT_LENGTH`).
const SALT_BYTES: usize = 12;
/// Bytes of the derived key (Galaxy's `KEY_LENGTH`, the same for every stored hash).
const KEY_BYTES: usize = 24;
/// The only PBKDF2 hash function Galaxy has written.
const HASH_FUNCTION: &str = "sha256";
/// The prefix of this server's earlier salted SHA-256 hashes.
const SALTED_SHA256: &str = "sha256$";

/// A valid hash of a password nobody knows, verified against when there is no user, so that an
/// unknown user costs the same work as a wrong password.
const DUMMY: &str = "PBKDF2$sha256$100000$i1nCbeKlpiWflAXh$SIxZmYezle8rM+/dpbOktBaaB0Ensl+V";

/// What a password check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Wrong password (or no such user, or a hash in no form this server knows).
    Wrong,
    /// Right password, stored in the current form.
    Current,
    /// Right password, stored in an older form: store [`hash`] of it in its place.
    Outdated,
}

impl Verdict {
    pub fn is_right(self) -> bool {
        self != Verdict::Wrong
    }
}

/// A new PBKDF2 hash of `password` with a random salt, in Galaxy's form.
pub fn hash(password: &str) -> String {
    let mut salt = [0u8; SALT_BYTES];
    rand::rng().fill(&mut salt[..]);
    let salt = BASE64.encode(salt);
    let key = derive(password, &salt, ITERATIONS);
    format!(
        "PBKDF2${HASH_FUNCTION}${ITERATIONS}${salt}${}",
        BASE64.encode(key)
    )
}

/// Checks `password` against a stored hash in any form this server knows.
pub fn verify(password: &str, stored: &str) -> Verdict {
    match Stored::parse(stored) {
        Stored::Pbkdf2 {
            iterations,
            salt,
            encoded,
        } => {
            let key = derive(password, salt, iterations);
            if !ct_eq(BASE64.encode(key).as_bytes(), encoded.as_bytes()) {
                Verdict::Wrong
            } else if iterations < ITERATIONS {
                Verdict::Outdated
            } else {
                Verdict::Current
            }
        }
        Stored::SaltedSha256 { salt, hex } => {
            let mut digest = Sha256::new();
            digest.update(salt.as_bytes());
            digest.update(password.as_bytes());
            right_if(ct_eq(
                hex::encode(digest.finalize()).as_bytes(),
                hex.as_bytes(),
            ))
        }
        Stored::Sha1(hex) => right_if(ct_eq(
            hex::encode(Sha1::digest(password.as_bytes())).as_bytes(),
            hex.as_bytes(),
        )),
        Stored::Unusable => Verdict::Wrong,
    }
}

/// Checks `password` against the stored hash of a user, or, with no user, against a hash
/// nobody's password matches. Every call spends at least one full PBKDF2 computation: a
/// stored hash in a cheaper form is checked after a PBKDF2 computation whose result is thrown
/// away.
pub fn verify_or_pretend(password: &str, stored: Option<&str>) -> Verdict {
    match stored {
        Some(stored) if matches!(Stored::parse(stored), Stored::Pbkdf2 { iterations, .. } if iterations >= ITERATIONS) => {
            verify(password, stored)
        }
        Some(stored) => {
            let _ = verify(password, DUMMY);
            verify(password, stored)
        }
        None => {
            let _ = verify(password, DUMMY);
            Verdict::Wrong
        }
    }
}

/// A stored hash, taken apart.
enum Stored<'a> {
    Pbkdf2 {
        iterations: u32,
        salt: &'a str,
        encoded: &'a str,
    },
    SaltedSha256 {
        salt: &'a str,
        hex: &'a str,
    },
    Sha1(&'a str),
    /// A `PBKDF2` hash that is malformed or names a hash function other than SHA-256.
    Unusable,
}

impl<'a> Stored<'a> {
    fn parse(stored: &'a str) -> Stored<'a> {
        if stored.starts_with("PBKDF2") {
            let parts: Vec<&str> = stored.split('$').collect();
            return match parts.as_slice() {
                ["PBKDF2", HASH_FUNCTION, iterations, salt, encoded] => {
                    match iterations.parse::<u32>() {
                        Ok(iterations) if iterations > 0 => Stored::Pbkdf2 {
                            iterations,
                            salt,
                            encoded,
                        },
                        _ => Stored::Unusable,
                    }
                }
                _ => Stored::Unusable,
            };
        }
        if let Some(rest) = stored.strip_prefix(SALTED_SHA256)
            && let Some((salt, hex)) = rest.split_once('$')
        {
            return Stored::SaltedSha256 { salt, hex };
        }
        Stored::Sha1(stored)
    }
}

fn derive(password: &str, salt: &str, iterations: u32) -> [u8; KEY_BYTES] {
    let mut key = [0u8; KEY_BYTES];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut key);
    key
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

fn right_if(matched: bool) -> Verdict {
    if matched {
        Verdict::Outdated
    } else {
        Verdict::Wrong
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by Galaxy's `hash_password_PBKDF2` algorithm (`lib/galaxy/security/passwords.py`):
    /// `salt = b64encode(urandom(12))`, `hashlib.pbkdf2_hmac("sha256", password.encode(), salt,
    /// 100000, 24)`, base64.
    const GALAXY_HASH: &str =
        "PBKDF2$sha256$100000$oF6XJdeDGF/tKEb0$heki98io7HtEsh9dtsM3TBGCEj1CwOdL";
    const GALAXY_PASSWORD: &str = "galaxy-test-passwörd";

    #[test]
    fn a_hash_made_by_galaxy_verifies() {
        assert_eq!(verify(GALAXY_PASSWORD, GALAXY_HASH), Verdict::Current);
        assert_eq!(verify("galaxy-test-password", GALAXY_HASH), Verdict::Wrong);
        assert_eq!(verify("", GALAXY_HASH), Verdict::Wrong);
    }

    #[test]
    fn new_hashes_have_galaxys_form_and_verify() {
        let h = hash("s3cret pass");
        let parts: Vec<&str> = h.split('$').collect();
        assert_eq!(parts.len(), 5, "{h}");
        assert_eq!(&parts[..3], ["PBKDF2", "sha256", "100000"]);
        assert_eq!(
            BASE64.decode(parts[3]).map(|s| s.len()).ok(),
            Some(SALT_BYTES)
        );
        assert_eq!(
            BASE64.decode(parts[4]).map(|k| k.len()).ok(),
            Some(KEY_BYTES)
        );
        assert_eq!(verify("s3cret pass", &h), Verdict::Current);
        assert_eq!(verify("s3cret pas", &h), Verdict::Wrong);
        assert_ne!(hash("s3cret pass"), h, "every hash gets its own salt");
    }

    #[test]
    fn fewer_iterations_verify_as_outdated() {
        // Galaxy's algorithm with the 10,000 iterations of older releases.
        let older = "PBKDF2$sha256$10000$tlye2c9ooolqDBer$rRyMGtznnaqnOkVbJ9KjcoQkjIp7QZD7";
        assert_eq!(verify("older-galaxy", older), Verdict::Outdated);
        assert_eq!(verify("older-galaxyy", older), Verdict::Wrong);
    }

    #[test]
    fn galaxys_oldest_unsalted_sha1_verifies_as_outdated() {
        let oldest = "53e97c3d017d71dc553fc760cac8e6494249c186";
        assert_eq!(verify("oldest-galaxy", oldest), Verdict::Outdated);
        assert_eq!(verify("oldest-galaxy ", oldest), Verdict::Wrong);
    }

    #[test]
    fn earlier_salted_sha256_verifies_as_outdated() {
        let earlier = "sha256$0123456789abcdef$593ddcd21a389d484591dec2fe591a3c14825f3fe803ca0180e9f9a808248d28";
        assert_eq!(verify("today-secret", earlier), Verdict::Outdated);
        assert_eq!(verify("today-secreT", earlier), Verdict::Wrong);
        assert_eq!(
            verify_or_pretend("today-secret", Some(earlier)),
            Verdict::Outdated
        );
    }

    #[test]
    fn malformed_or_foreign_hashes_never_match() {
        for stored in [
            "",
            "PBKDF2",
            "PBKDF2$sha256$0$oF6XJdeDGF/tKEb0$heki98io7HtEsh9dtsM3TBGCEj1CwOdL",
            "PBKDF2$sha256$lots$oF6XJdeDGF/tKEb0$heki98io7HtEsh9dtsM3TBGCEj1CwOdL",
            "PBKDF2$sha512$100000$oF6XJdeDGF/tKEb0$heki98io7HtEsh9dtsM3TBGCEj1CwOdL",
            "PBKDF2$sha256$100000$oF6XJdeDGF/tKEb0$heki98io7HtEsh9dtsM3TBGCEj1CwOdL$x",
            "sha256$nohash",
        ] {
            assert_eq!(verify(GALAXY_PASSWORD, stored), Verdict::Wrong, "{stored}");
            assert_eq!(verify("", stored), Verdict::Wrong, "{stored}");
        }
    }

    #[test]
    fn no_user_is_a_wrong_password() {
        assert_eq!(verify_or_pretend(GALAXY_PASSWORD, None), Verdict::Wrong);
        assert_eq!(verify_or_pretend("", None), Verdict::Wrong);
        assert_eq!(
            verify_or_pretend(GALAXY_PASSWORD, Some(GALAXY_HASH)),
            Verdict::Current
        );
        // The dummy is a well-formed hash, so it costs a full computation.
        assert!(matches!(
            Stored::parse(DUMMY),
            Stored::Pbkdf2 {
                iterations: ITERATIONS,
                ..
            }
        ));
    }
}
