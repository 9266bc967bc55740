//! `GET /api/authenticate/baseauth`: an email (or username) and password in HTTP Basic
//! authentication → the user's API key, as BioBlend's `GalaxyInstance(url, email=…,
//! password=…)` asks for it.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use percent_encoding::percent_decode_str;
use serde_json::json;

use super::users::random_hex;
use crate::db::queries::users;
use crate::web::passwords::{self, Verdict};
use crate::web::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/authenticate/baseauth", web::get().to(baseauth));
}

/// Standard base64, padded or not.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What the `Authorization` header says.
struct Credentials {
    /// An email or a username.
    identity: String,
    /// The password as sent, then (when it differs) percent-decoded as Galaxy decodes it.
    passwords: Vec<String>,
}

/// Reads the header as Galaxy does: `Basic <base64>` or the bare base64 (which BioBlend
/// sends), of `identity:password`, the identity percent-decoded. The password is tried as sent
/// and, if percent-decoding changes it, decoded as well.
fn credentials(req: &HttpRequest) -> Result<Credentials, ApiError> {
    let invalid = || ApiError::BadRequest("Invalid authorization line".into());
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::BadRequest("Authentication is missing".into()));
    };
    let value = value.to_str().map_err(|_| invalid())?;
    let words: Vec<&str> = value.split_whitespace().collect();
    let encoded = match words.as_slice() {
        [encoded] => *encoded,
        [scheme, encoded] if scheme.eq_ignore_ascii_case("basic") => *encoded,
        [_, _] => return Err(invalid()),
        _ => {
            return Err(ApiError::BadRequest(
                "Invalid authorization line - more than two entries".into(),
            ));
        }
    };
    let decoded = BASE64.decode(encoded).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (identity, password) = decoded.split_once(':').ok_or_else(invalid)?;
    let identity = percent_decode_str(identity)
        .decode_utf8_lossy()
        .into_owned();
    let mut candidates = vec![password.to_string()];
    let unquoted = percent_decode_str(password).decode_utf8_lossy();
    if unquoted != password {
        candidates.push(unquoted.into_owned());
    }
    Ok(Credentials {
        identity,
        passwords: candidates,
    })
}

/// Answers `{"api_key": …}`: the user's live key, made if they have none. A wrong password, an
/// unknown user and a deleted one get the same 401 after the same work (one PBKDF2 computation
/// per password tried); a hash in an older form is replaced by a PBKDF2 one.
async fn baseauth(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let Credentials {
        identity,
        passwords: candidates,
    } = credentials(&req)?;
    let user = state
        .db(move |c| Ok(users::user_by_identity(c, &identity)?))
        .await?;
    let stored = user.as_ref().map(|u| u.password.clone());
    let (verdict, rehash) = web::block(move || {
        for password in &candidates {
            let verdict = passwords::verify_or_pretend(password, stored.as_deref());
            if verdict.is_right() {
                let rehash = (verdict == Verdict::Outdated).then(|| passwords::hash(password));
                return (verdict, rehash);
            }
        }
        (Verdict::Wrong, None)
    })
    .await?;
    let Some(user) = user.filter(|_| verdict.is_right()) else {
        return Err(ApiError::AuthenticationFailed);
    };
    let new_key = random_hex(16);
    let key = state
        .db(move |c| {
            if let Some(hash) = rehash {
                users::replace_password(c, user.id, &user.password, &hash)?;
            }
            Ok(users::live_api_key_or_insert(c, user.id, &new_key)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "api_key": key })))
}
