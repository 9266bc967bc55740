//! The one place errors become Galaxy's error JSON: `{"err_msg": "...", "err_code": N}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::config::ByteSize;
use crate::db::DbError;
use crate::jobs::JobError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    MissingParameter(String),
    #[error("Invalid id ('{0}') specified, unable to decode.")]
    MalformedId(String),
    #[error(
        "You must be logged in to use this route (send an API key in the x-api-key header or ?key=)."
    )]
    AuthRequired,
    #[error("Provided API key is not valid.")]
    InvalidKey,
    /// A login with a wrong password, an unknown or deleted user: one answer for all three.
    #[error("Authentication failed, invalid credentials supplied.")]
    AuthenticationFailed,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The database cannot be reached: the detail goes to the log, the client is told to
    /// come back (503 with `Retry-After`).
    #[error("The database is not reachable right now; try again in a few seconds.")]
    Unavailable,
    /// A request body over a configured limit; `key` is the `galaxy.yml` key that sets it.
    #[error(
        "The request body is larger than {limit}, the limit set by `galaxy.{key}` in galaxy.yml \
         (or GALAXY_CONFIG_{env}); ask the administrator to raise it.",
        env = key.to_ascii_uppercase()
    )]
    PayloadTooLarge { limit: ByteSize, key: &'static str },
    #[error("internal error: {0}")]
    Internal(String),
}

/// Seconds a client is asked to wait before retrying while the database is unreachable.
pub const RETRY_AFTER_SECONDS: u32 = 5;

impl ApiError {
    /// Galaxy's numeric error code for this error.
    pub fn err_code(&self) -> u32 {
        match self {
            ApiError::BadRequest(_) => 400008,
            ApiError::MissingParameter(_) => 400003,
            ApiError::MalformedId(_) => 400009,
            ApiError::AuthRequired => 403001,
            ApiError::InvalidKey => 403001,
            ApiError::AuthenticationFailed => 401001,
            ApiError::Forbidden(_) => 403002,
            ApiError::NotFound(_) => 404001,
            ApiError::Conflict(_) => 409001,
            ApiError::PreconditionFailed(_) => 412001,
            ApiError::UnsupportedMediaType(_) => 415001,
            ApiError::Unavailable => 503001,
            ApiError::PayloadTooLarge { .. } => 413001,
            ApiError::Internal(_) => 500001,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::MissingParameter(_) | ApiError::MalformedId(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::AuthRequired | ApiError::InvalidKey | ApiError::Forbidden(_) => {
                StatusCode::FORBIDDEN
            }
            ApiError::AuthenticationFailed => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(msg) = self {
            log::error!("{msg}");
        }
        let mut response = HttpResponse::build(self.status_code());
        if let ApiError::Unavailable = self {
            response.insert_header(("Retry-After", RETRY_AFTER_SECONDS.to_string()));
        }
        response.json(serde_json::json!({"err_msg": self.to_string(), "err_code": self.err_code()}))
    }
}

impl From<DbError> for ApiError {
    /// An outage (or a pool with no free connection for 30 s) is a 503; the driver's words
    /// stay in the log (the outage itself is logged once by `db::health`).
    fn from(e: DbError) -> Self {
        match e {
            e if e.is_unavailable() => ApiError::Unavailable,
            DbError::Pool(e) => {
                log::warn!("no database connection free: {e}");
                ApiError::Unavailable
            }
            e => {
                log::error!("{e}");
                ApiError::Internal("a database step failed (the server log has the detail)".into())
            }
        }
    }
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Db(e) => e.into(),
            e => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<crate::tools::ToolInputError> for ApiError {
    fn from(e: crate::tools::ToolInputError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// Maps actix's own extractor errors (bad JSON, bad query, bad path) to Galaxy's shape.
pub fn json_error(
    err: actix_web::error::JsonPayloadError,
    req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    match err {
        J::Overflow { .. } | J::OverflowKnownLength { .. } => super::body::api_limit_error(req),
        err => ApiError::BadRequest(format!("Invalid JSON payload: {err}")),
    }
    .into()
}

impl From<super::body::BodyError> for ApiError {
    fn from(e: super::body::BodyError) -> Self {
        use super::body::BodyError as B;
        match e {
            B::TooLarge { limit, key } => ApiError::PayloadTooLarge { limit, key },
            B::Syntax { .. } | B::Payload(_) | B::Form(_) => ApiError::BadRequest(e.to_string()),
            B::Spool { .. } => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<super::tus::TusError> for ApiError {
    fn from(e: super::tus::TusError) -> Self {
        use super::tus::TusError as T;
        match e {
            T::Version(_) => ApiError::PreconditionFailed(e.to_string()),
            T::ContentType(_) => ApiError::UnsupportedMediaType(e.to_string()),
            T::BadHeader(_) | T::Incomplete { .. } | T::Payload(_) => {
                ApiError::BadRequest(e.to_string())
            }
            T::NotFound(_) => ApiError::NotFound(e.to_string()),
            T::OffsetMismatch { .. } | T::Busy(_) => ApiError::Conflict(e.to_string()),
            T::PastLength(_) => ApiError::BadRequest(e.to_string()),
            T::TooLarge { limit, .. } => ApiError::PayloadTooLarge {
                limit,
                key: "upload_body_limit",
            },
            T::Io { .. } => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<super::download::DownloadError> for ApiError {
    fn from(e: super::download::DownloadError) -> Self {
        use super::download::DownloadError as D;
        match e {
            D::Status { .. } | D::TooLarge { .. } | D::Transport { .. } => {
                ApiError::BadRequest(e.to_string())
            }
            D::NotAllowed { .. } => ApiError::Forbidden(e.to_string()),
            D::Spool { .. } => ApiError::Internal(e.to_string()),
        }
    }
}

/// Any other 413 (actix's own payload extractors answer in plain text) in Galaxy's shape.
pub fn payload_too_large<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::middleware::ErrorHandlerResponse;
    let is_json = res
        .response()
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let (req, _) = res.into_parts();
    let err = super::body::api_limit_error(&req);
    let res = actix_web::dev::ServiceResponse::new(req, err.error_response());
    Ok(ErrorHandlerResponse::Response(res.map_into_right_body()))
}

pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::BadRequest(format!("Invalid query parameters: {err}")).into()
}

pub fn path_error(
    err: actix_web::error::PathError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::BadRequest(format!("Invalid path: {err}")).into()
}
